"""The dashboard's login cookie.

The dashboard always runs in a Flask app of heron's own (``heron serve``'s, or the one a
bound app forwards its dashboard prefix to), so its session is heron's alone: a cookie
named ``heron_session`` on the dashboard's path, signed with heron's key, ``Secure``
whenever the request came over HTTPS. A host app's session cookie, secret key and CSRF
machinery never see it.

Flask builds a new signing serializer for every request; this interface builds one per key.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

COOKIE_NAME = "heron_session"


class CachedSessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._cache: tuple[Any, Any] | None = None

    def get_cookie_secure(self, app: Flask) -> bool:
        """``Secure`` whenever the dashboard is reached over HTTPS, directly or per
        ``X-Forwarded-Proto`` from a TRUSTED_PROXIES address; always with COOKIE_SECURE
        (SESSION_COOKIE_SECURE)."""
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        from heron.dashboard.state import state

        return bool(state().extras["proxies"].is_https(request.environ))

    def get_signing_serializer(self, app: Flask) -> Any:
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._cache
        if cached is not None and cached[0] == key:
            return cached[1]
        serializer = super().get_signing_serializer(app)
        self._cache = (key, serializer)
        return serializer


def install(app: Flask) -> None:
    app.session_interface = CachedSessionInterface()
