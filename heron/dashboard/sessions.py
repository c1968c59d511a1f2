"""Cookie sessions for the dashboard without a cost on the host app's own requests.

Flask opens the session cookie on every request of an app that has a secret key, building a
new signing serializer each time. A bound app that had no secret key of its own gets one
from heron for the dashboard's login; its own requests should not start paying for
sessions it never used. So:

* the app had no secret key: sessions are opened only under the dashboard's URL prefix;
  elsewhere the app keeps Flask's null session, exactly as before ``bind``;
* the app has its own key: its sessions work as before, with the serializer built once per
  key instead of per request.

Installed only over Flask's default session interface; a custom one is left alone.
"""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.sessions import SecureCookieSessionInterface


class CachedSessionInterface(SecureCookieSessionInterface):
    def __init__(self, only_under: str | None = None) -> None:
        self._cache: tuple[Any, Any] | None = None
        self._prefix = only_under

    def get_signing_serializer(self, app: Flask) -> Any:
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        cached = self._cache
        if cached is not None and cached[0] == key:
            return cached[1]
        serializer = super().get_signing_serializer(app)
        self._cache = (key, serializer)
        return serializer

    def open_session(self, app: Flask, request: Any) -> Any:
        if self._prefix is not None and not request.path.startswith(self._prefix):
            return None  # Flask then uses its null session, as with no secret key
        return super().open_session(app, request)


def install(app: Flask, prefix: str, only_under_prefix: bool) -> None:
    """``only_under_prefix``: a bound app whose secret key is heron's."""
    if type(app.session_interface) is SecureCookieSessionInterface:
        app.session_interface = CachedSessionInterface(prefix if only_under_prefix else None)
