"""Web service monitoring: ``heron.bind(app)`` for Flask, ``WSGIMiddleware`` for any WSGI
app, ``ASGIMiddleware`` for any ASGI app (FastAPI, Starlette). See ``docs/web.md``."""

from __future__ import annotations

import typing as _typing

if _typing.TYPE_CHECKING:
    from heron.web.asgi import ASGIMiddleware
    from heron.web.flask import bind
    from heron.web.wsgi import WSGIMiddleware

#: Imported when first used: ``heron.web.sql`` (the request being served, read by log
#: capture) must not bring Flask into a process that only sends.
_LAZY = {"ASGIMiddleware": "heron.web.asgi", "bind": "heron.web.flask",
         "WSGIMiddleware": "heron.web.wsgi"}


def __getattr__(name: str) -> _typing.Any:
    if name in _LAZY:
        import importlib

        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'heron.web' has no attribute {name!r}")

__all__ = ["ASGIMiddleware", "WSGIMiddleware", "bind"]


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
