"""``heron.web.WSGIMiddleware``: record the requests of any WSGI application.

The endpoint is the framework's route, not the raw URL, so ``/user/1`` and ``/user/2`` are
one endpoint: a Flask app's endpoint name (matched through its URL map), else what
``endpoint_of(environ)`` returns (give one for other frameworks), else the path.
The status is the one the client received (read from ``start_response``). A body that is
a list or tuple is complete when the app returns it; any other iterable is timed to its
end, and the request recorded when it has been sent or closed. (``heron.bind`` does not use
this layer for Flask apps: it times Flask's dispatch, see :mod:`heron.web.flask`.)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from time import perf_counter_ns
from typing import Any

from heron import api
from heron import config as heron_config
from heron.web.monitor import UNMATCHED, Active, TimedBody, WebMonitor


class WSGIMiddleware:
    """Wrap a WSGI app: ``app.wsgi_app = WSGIMiddleware(app.wsgi_app)`` or
    ``application = WSGIMiddleware(application, app_id="shop")``."""

    def __init__(self, app: Callable[..., Iterable[bytes]], app_id: str | None = None, *,
                 endpoint_of: Callable[[dict[str, Any]], str | None] | None = None,
                 monitor: WebMonitor | None = None,
                 **config: Any):
        cfg = heron_config.configure(**config) if config else heron_config.get()
        self.app = app
        app_id = app_id or cfg.APP or "default"
        if api.recorder() is None:
            api.init_for_web()  # not app=app_id: it would be every later app's APP
        self.monitor = monitor or WebMonitor(app_id, cfg)
        self.endpoint_of = endpoint_of or _flask_endpoint_of(app) or _path

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        monitor = self.monitor
        active = Active(perf_counter_ns(), environ)

        def recording_start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            active.status = status  # parsed on the recorder's thread
            return start_response(status, headers, exc_info) if exc_info else \
                start_response(status, headers)

        endpoint = self.endpoint_of(environ)
        if endpoint is not None:
            monitor.route(active, endpoint)
        try:
            body = self.app(environ, recording_start_response)
        except BaseException as exc:
            active.error = exc
            monitor.finish(active, 500)
            raise
        if not isinstance(body, list | tuple):
            return TimedBody(body, lambda: monitor.finish(active), active)
        # the whole body exists: the request is done (a test client may never close it)
        monitor.finish(active)
        return body


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
        except HTTPException:  # 404, 405, the redirect to a rule's canonical URL
            return UNMATCHED
        return str(endpoint)

    return endpoint_of
