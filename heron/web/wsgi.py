"""``heron.web.WSGIMiddleware``: record the requests of any WSGI application.

The endpoint is the framework's route, not the raw URL, so ``/user/1`` and ``/user/2`` are
one endpoint: a Flask app's endpoint name (matched through its URL map), else what
``endpoint_of(environ)`` returns (give one for other frameworks), else the path.
The status is the one the client received (read from ``start_response``). A streamed body
(a generator, or a Flask response with ``is_streamed``) is timed to its end: the record is
written when it has been sent or closed; any other response is recorded when the app
returns it.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from heron import api
from heron import config as heron_config
from heron.web.monitor import Active, WebMonitor

ENVIRON_KEY = "heron.active"


class WSGIMiddleware:
    """Wrap a WSGI app: ``app.wsgi_app = WSGIMiddleware(app.wsgi_app)`` or
    ``application = WSGIMiddleware(application, app_id="shop")``."""

    def __init__(self, app: Callable[..., Iterable[bytes]], app_id: str | None = None, *,
                 endpoint_of: Callable[[dict[str, Any]], str | None] | None = None,
                 monitor: WebMonitor | None = None, route_later: bool = False,
                 **config: Any):
        cfg = heron_config.configure(**config) if config else heron_config.get()
        self.app = app
        app_id = app_id or cfg.APP or "default"
        if api.recorder() is None:
            api.init(app=app_id)
        self.monitor = monitor or WebMonitor(app_id, cfg)
        # route_later: the framework names the endpoint itself once it has routed (bind()
        # does this for Flask, so a request is routed once, not twice)
        self.endpoint_of = None if route_later else (
            endpoint_of or _flask_endpoint_of(app) or _path)
        #: called at the start of each request (bind() wraps views added since the last)
        self.before: Callable[[], None] | None = None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        monitor = self.monitor
        if self.before is not None:
            self.before()
        active = monitor.start(environ, environ.get("REQUEST_METHOD", "GET"))
        environ[ENVIRON_KEY] = active
        active.root_frame = sys._getframe()  # the profiler keeps what runs below this
        status: list[int] = []

        def recording_start_response(code: str, headers: Any, exc_info: Any = None) -> Any:
            try:
                status[:] = [int(code[:3])]
            except ValueError:
                status[:] = [500]
            return start_response(code, headers, exc_info) if exc_info else \
                start_response(code, headers)

        if self.endpoint_of is not None:
            endpoint = self.endpoint_of(environ)
            if endpoint is not None:
                monitor.route(active, endpoint)
        try:
            body = self.app(environ, recording_start_response)
        except BaseException as exc:
            monitor.exception(active, exc)
            monitor.finish(active, 500)
            raise
        if isinstance(body, list | tuple) or not active.streamed:
            # the whole body exists: the request is done (a test client may never close it)
            monitor.finish(active, status[0] if status else 500)
            return body
        return _Closing(body, lambda: monitor.finish(active, status[0] if status else 500),
                        active)


class _Closing:
    """The response body, recording when the server closes it (PEP 3333)."""

    def __init__(self, body: Iterable[bytes], on_close: Callable[[], None], active: Active):
        self._body = body
        self._iter: Iterator[bytes] | None = None
        self._on_close = on_close
        self._active = active
        self._closed = False

    def __iter__(self) -> Iterator[bytes]:
        try:
            yield from self._body
        except BaseException as exc:
            self._active.error = exc
            raise
        self._done()  # fully sent: record now, whether or not the server closes

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._done()

    def _done(self) -> None:
        if not self._closed:
            self._closed = True
            self._on_close()


def _path(environ: dict[str, Any]) -> str:
    return str(environ.get("PATH_INFO") or "/")


def _flask_endpoint_of(app: Any) -> Callable[[dict[str, Any]], str | None] | None:
    flask_app = getattr(app, "__self__", None)  # app.wsgi_app is a bound method
    url_map = getattr(flask_app, "url_map", None) or getattr(app, "url_map", None)
    if url_map is None:
        return None

    def endpoint_of(environ: dict[str, Any]) -> str | None:
        from werkzeug.exceptions import HTTPException

        try:
            endpoint, _ = url_map.bind_to_environ(environ).match()
        except HTTPException:
            return None
        return str(endpoint)

    return endpoint_of
