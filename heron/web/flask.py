"""``heron.bind(app)``: monitor a Flask app's requests and mount the dashboard in it.

heron replaces the app's ``full_dispatch_request`` (on the instance) with a wrapper that
times it: Flask has routed the request by then, so the endpoint is the rule's, and the
response it returns carries the status the client receives (``(body, headers)`` tuples,
``abort()``, error handlers and ``after_request`` included). One wrapper is the whole
cost: no WSGI layer, no wrapped views, no Flask signals or request hooks (each of those
costs more than heron's recording). A response streamed from a generator is timed to the
end of its body (``call_on_close``); any other is complete when dispatch returns it. An
exception escaping dispatch is recorded, and Flask answers it with a 500. Dashboard and
heron API requests are not recorded.
"""

from __future__ import annotations

import sys
from time import perf_counter_ns
from types import GeneratorType
from typing import Any

from flask import Flask, request

from heron import api
from heron import config as heron_config
from heron._internal import capture_internal_exceptions, logger
from heron.web.monitor import Active, WebMonitor

_SKIPPED_BLUEPRINTS = frozenset({"dashboard", "api_v1"})


def _monitored(endpoint: str | None, blueprint: str | None) -> bool:
    return endpoint not in (None, "static") and blueprint not in _SKIPPED_BLUEPRINTS


def bind(app: Flask, *, experiment: Any = None, capture_logs: bool | int | str = False,
         **config: Any) -> Flask:
    """Monitor ``app``: record its requests and serve the dashboard at ``/<CUSTOM_LINK>``.

    Call it after configuring heron (``heron.config.init_from(...)``, ``HERON_*``
    variables or keyword arguments here, e.g. ``bind(app, database=...)``). The app id is
    config APP, else the Flask app's name.

    :param experiment: a :class:`heron.Experiment` customising the experiment pages.
    :param capture_logs: also ship the process's log records (the app's, werkzeug's,
        sessions' and runs'): True for INFO and above, or a level such as ``"DEBUG"``.
    :returns: the same app.
    """
    from heron.auth.users import ensure_default_users
    from heron.dashboard import init_app

    if "heron" in app.extensions or hasattr(app.full_dispatch_request, "heron_monitor"):
        return app  # bound already
    cfg = heron_config.configure(**config) if config else heron_config.get()
    app_id = cfg.APP or app.name
    if api.recorder() is None:
        api.init(app=app_id)
    if capture_logs is not False:
        from heron.logs.handler import capture

        capture(capture_logs, app=app_id)
    monitor = WebMonitor(app_id, cfg)
    store = getattr(getattr(api.recorder(), "sink", None), "store", None)
    if store is not None:
        if ensure_default_users(store, cfg):
            # A library must not print, and a password must not reach a log: say how.
            logger.warning("heron: the dashboard at /%s has a new admin user %r with a "
                           "random password; set PASSWORD, or run `heron user passwd %s`",
                           cfg.CUSTOM_LINK, cfg.USERNAME, cfg.USERNAME)
        init_app(app, store, cfg, experiment, host_app=True)
        app.extensions["heron"].extras["monitor"] = monitor
    else:
        logger.info("heron: recording %r to %s; its dashboard is served there", app_id,
                    cfg.URL)
    _instrument(app, monitor)
    return app


def _instrument(app: Flask, monitor: WebMonitor) -> None:
    """Time ``app.full_dispatch_request``: the request is routed, the response made."""
    dispatch = app.full_dispatch_request  # the class's, bound to this app
    levels = monitor.levels
    cells: dict[str, list[int] | None] = {}  # endpoint -> its level cell; None: not monitored
    current_context = _request_context()
    finish = monitor.finish
    with capture_internal_exceptions("registering endpoints"):
        levels.register(sorted(e for e in app.view_functions if _monitored_endpoint(e)))

    def cell_of(endpoint: str) -> list[int] | None:
        cell = cells[endpoint] = levels.cell(endpoint) if _monitored_endpoint(endpoint) \
            else None
        return cell

    def full_dispatch_request() -> Any:
        request_now = current_context().request
        rule = request_now.url_rule
        if rule is None:  # not routed (404, 405): not an endpoint's request
            return dispatch()
        endpoint = rule.endpoint
        cell = cells.get(endpoint, _UNSEEN)
        if cell is _UNSEEN:
            cell = cell_of(endpoint)
        if cell is None or cell[0] < 1:
            return dispatch()
        active = Active(perf_counter_ns(), request_now.environ)
        active.endpoint = endpoint
        level = active.level = cell[0]
        if level >= 2:
            monitor.arm(active, level, sys._getframe())
        try:
            response = dispatch()
        except BaseException as exc:
            active.error = exc
            if monitor.wants_values(active):
                _keep_values(monitor, active)
            finish(active, 500)
            raise
        if level >= 2 and monitor.wants_values(active):
            _keep_values(monitor, active)
        if isinstance(response.response, GeneratorType):
            response.call_on_close(lambda: finish(active))  # timed to its last chunk
            active.status = response.status_code
        else:
            finish(active, response.status_code)
        return response

    full_dispatch_request.heron_monitor = monitor  # type: ignore[attr-defined]
    app.full_dispatch_request = full_dispatch_request  # type: ignore[method-assign]


_UNSEEN: Any = object()


def _monitored_endpoint(endpoint: str) -> bool:
    return _monitored(endpoint, endpoint.rsplit(".", 1)[0] if "." in endpoint else None)


def _request_context() -> Any:
    """A function returning the current request context (``.request`` is the request):
    Flask's context variable's ``get`` when it has one (a C call), else its proxy's."""
    from flask import globals as flask_globals

    var = getattr(flask_globals, "_cv_request", None)
    if var is not None and hasattr(var, "get"):
        return var.get
    return flask_globals.request_ctx._get_current_object  # type: ignore[attr-defined]


def _keep_values(monitor: WebMonitor, active: Any) -> None:
    with capture_internal_exceptions("keeping an outlier's values"):
        monitor.keep_values(active, request.args.to_dict(flat=False),
                            request.form.to_dict(flat=False),
                            request.get_json(silent=True) if request.is_json else None)
