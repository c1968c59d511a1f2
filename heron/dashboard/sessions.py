"""The dashboard's login cookie.

The dashboard always runs in a Flask app of heron's own (``heron serve``'s, or the one a
bound app forwards its dashboard prefix to), so its session is heron's alone: a cookie
named ``heron_session`` on the dashboard's path, signed with heron's key, ``Secure``
whenever the request came over HTTPS. A host app's session cookie, secret key and CSRF
machinery never see it.

Flask builds a new signing serializer for every request from the app's ``secret_key``; this
interface builds one, once, from heron's own key (SECRET_KEY, or the key kept in the store),
which no app's config carries.
"""

from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from itsdangerous import URLSafeTimedSerializer

COOKIE_NAME = "heron_session"


class CachedSessionInterface(SecureCookieSessionInterface):
    """Signs heron's cookie with heron's own key, held here rather than as the app's
    ``secret_key``: no app, heron's or a host's, carries heron's secret in its config."""

    def __init__(self, key: str) -> None:
        self._key = key
        self._serializer: URLSafeTimedSerializer | None = None

    def get_cookie_secure(self, app: Flask) -> bool:
        """``Secure`` whenever the dashboard is reached over HTTPS, directly or per
        ``X-Forwarded-Proto`` from a TRUSTED_PROXIES address; always with COOKIE_SECURE
        (SESSION_COOKIE_SECURE)."""
        if app.config.get("SESSION_COOKIE_SECURE"):
            return True
        from heron.dashboard.state import state

        return bool(state().extras["proxies"].is_https(request.environ))

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer:
        """One serializer for the interface's key (Flask builds one per request)."""
        if self._serializer is None:
            self._serializer = URLSafeTimedSerializer(
                self._key, salt=self.salt, serializer=self.serializer,
                signer_kwargs={"key_derivation": self.key_derivation,
                               "digest_method": self.digest_method})
        return self._serializer


def install(app: Flask, key: str) -> None:
    """heron's session on ``app`` (one of heron's own), signed with ``key``."""
    app.session_interface = CachedSessionInterface(key)
