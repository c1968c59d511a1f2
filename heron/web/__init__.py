"""Web service monitoring: ``heron.bind(app)`` for Flask, ``WSGIMiddleware`` for any WSGI
app, ``ASGIMiddleware`` for any ASGI app (FastAPI, Starlette). See ``docs/web.md``."""

from __future__ import annotations

from heron.web.asgi import ASGIMiddleware
from heron.web.flask import bind
from heron.web.wsgi import WSGIMiddleware

__all__ = ["ASGIMiddleware", "WSGIMiddleware", "bind"]
