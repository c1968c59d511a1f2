"""``heron.bind(app)``: record a Flask app's requests and mount the dashboard in it.

Recording stays off the request path: the request thread measures with
``perf_counter_ns`` and hands one event to the recorder; the recorder's single background
thread writes batches. The status recorded is the one the client received (read from
``start_response``), whatever the view returned. Dashboard requests are not recorded.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, request

from heron import api
from heron import config as heron_config
from heron._internal import capture_internal_exceptions, logger
from heron.events import Request

ENDPOINT_KEY = "heron.endpoint"
_SKIPPED_BLUEPRINTS = frozenset({"dashboard", "api_v1"})


class RequestRecorder:
    """WSGI middleware timing each request of ``app`` and emitting a ``request`` event."""

    def __init__(self, wsgi_app: Callable[..., Iterable[bytes]], app_id: str, version: str):
        self.wsgi_app = wsgi_app
        self.app_id = app_id
        self.version = version

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]
                 ) -> Iterable[bytes]:
        started = time.perf_counter_ns()
        status: list[str] = []

        def recording_start_response(code: str, headers: Any, exc_info: Any = None) -> Any:
            status[:] = [code]
            return start_response(code, headers, exc_info) if exc_info else \
                start_response(code, headers)

        try:
            return self.wsgi_app(environ, recording_start_response)
        finally:
            elapsed_ms = (time.perf_counter_ns() - started) / 1e6
            endpoint = environ.get(ENDPOINT_KEY)
            if endpoint is not None:
                with capture_internal_exceptions("recording a request"):
                    code = int(status[0].split(" ", 1)[0]) if status else 500
                    api.emit(Request(
                        app=self.app_id, endpoint=endpoint,
                        method=environ.get("REQUEST_METHOD", "GET"), status=code,
                        duration_ms=elapsed_ms, version=self.version,
                        ip=environ.get("REMOTE_ADDR")))


def _note_endpoint() -> None:
    if request.blueprint in _SKIPPED_BLUEPRINTS or request.endpoint in (None, "static"):
        return
    request.environ[ENDPOINT_KEY] = request.endpoint


def bind(app: Flask, *, experiment: Any = None, **config: Any) -> Flask:
    """Monitor ``app``: record its requests and serve the dashboard at ``/<CUSTOM_LINK>``.

    Call it after configuring heron (``heron.config.init_from(...)``, ``HERON_*``
    variables or keyword arguments here, e.g. ``bind(app, database=...)``).

    :param experiment: a :class:`heron.Experiment` customising the experiment pages.
    :returns: the same app.
    """
    from heron.auth.users import ensure_default_users
    from heron.dashboard import init_app

    if "heron" in app.extensions:
        return app  # bound already
    cfg = heron_config.configure(**config) if config else heron_config.get()
    app_id = cfg.APP or app.name
    recorder = api.recorder()
    if recorder is None:
        api.init(app=app_id)
    store = api.local_store()
    if ensure_default_users(store, cfg):
        # A library must not print, and a password must not reach a log: say how to set one.
        logger.warning("heron: the dashboard at /%s has a new admin user %r with a random "
                       "password; set PASSWORD, or run `heron user passwd %s`",
                       cfg.CUSTOM_LINK, cfg.USERNAME, cfg.USERNAME)
    init_app(app, store, cfg, experiment)
    app.before_request(_note_endpoint)
    app.wsgi_app = RequestRecorder(app.wsgi_app, app_id, cfg.APP_VERSION)  # type: ignore[method-assign]
    return app
