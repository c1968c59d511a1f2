"""Web service monitoring: ``heron.bind(app)`` for Flask, ``WSGIMiddleware`` for any WSGI
app, ``ASGIMiddleware`` for any ASGI app (FastAPI, Starlette). See ``docs/web.md``."""

from __future__ import annotations

import typing as _typing

from heron._internal import lazy_names as _lazy_names

if _typing.TYPE_CHECKING:
    from heron.web.asgi import ASGIMiddleware
    from heron.web.flask import bind
    from heron.web.wsgi import WSGIMiddleware

#: Imported when first used: ``heron.web.sql`` (the request being served, read by log
#: capture) must not bring Flask into a process that only sends.
_LAZY = {"ASGIMiddleware": "heron.web.asgi", "bind": "heron.web.flask",
         "WSGIMiddleware": "heron.web.wsgi"}

__getattr__, __dir__ = _lazy_names(globals(), _LAZY)

__all__ = ["ASGIMiddleware", "WSGIMiddleware", "bind"]
