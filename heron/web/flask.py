"""``heron.bind(app)``: monitor a Flask app's requests and mount the dashboard in it.

heron replaces the app's ``full_dispatch_request`` (on the instance) with a wrapper that
times it: Flask has routed the request by then, so the endpoint is the rule's, and the
response it returns carries the status the client receives (``(body, headers)`` tuples,
``abort()``, error handlers and ``after_request`` included). One wrapper is the whole
cost: no WSGI layer, no wrapped views, no Flask signals or request hooks (each of those
costs more than heron's recording). A response streamed from a generator is timed to the
end of its body (:class:`heron.web.monitor.TimedBody`); any other is complete when
dispatch returns it. An exception escaping dispatch is recorded, and Flask answers it
with a 500. Requests no rule matched (404, 405, Werkzeug's redirect to a rule's canonical
URL) are recorded under one endpoint, ``<unmatched>``. Dashboard requests never reach the
app (:mod:`heron.web.mount`).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from time import perf_counter_ns
from types import GeneratorType
from typing import Any

from flask import Flask, request

from heron import api
from heron import config as heron_config
from heron._internal import capture_internal_exceptions, logger
from heron.web import mount
from heron.web.monitor import UNMATCHED, Active, TimedBody, WebMonitor


@dataclass
class Binding:
    """What ``bind`` keeps in ``app.extensions["heron"]``: the monitor and, recording
    into a local store, the dashboard app that answers under the prefix."""

    monitor: WebMonitor
    dashboard: Flask | None


def bind(app: Flask, *, experiment: Any = None, capture_logs: bool | int | str = False,
         **config: Any) -> Flask:
    """Monitor ``app``: record its requests and serve the dashboard at ``/<CUSTOM_LINK>``.

    Call it after configuring heron (``heron.config.init_from(...)``, ``HERON_*``
    variables or keyword arguments here, e.g. ``bind(app, database=...)``). The app id is
    config APP, else the Flask app's name.

    The app is changed in two places only: its ``full_dispatch_request`` is timed, and its
    ``wsgi_app`` sends paths under the dashboard's prefix to heron's own dashboard app
    (:mod:`heron.web.mount`). Its config, templates, session, secret key, blueprints and
    hooks stay as they were.

    :param experiment: a :class:`heron.Experiment` customising the experiment pages.
    :param capture_logs: also ship the process's log records (the app's, werkzeug's,
        sessions' and runs'): True for INFO and above, or a level such as ``"DEBUG"``.
    :returns: the same app.
    """
    if "heron" in app.extensions or hasattr(app.full_dispatch_request, "heron_monitor"):
        return app  # bound already
    if config:
        heron_config.configure(**config)
    if api.recorder() is None:
        # not init(app=...): that would make this app's name the APP of every app bound
        # after it in the process; each monitor carries its own app id
        api.init_for_web()
    cfg = heron_config.get()  # as init left it: every bind of the process reads the same
    app_id = cfg.APP or app.name
    if capture_logs is not False:
        from heron.logs.handler import capture

        capture(capture_logs, app=app_id)
    monitor = WebMonitor(app_id, cfg)
    store = getattr(getattr(api.recorder(), "sink", None), "store", None)
    dashboard = None
    if store is not None:
        dashboard = mount.dashboard_app(store, cfg, experiment)
        app.wsgi_app = mount.mount(app.wsgi_app, dashboard.wsgi_app,  # type: ignore[method-assign]
                                   f"/{cfg.CUSTOM_LINK}")
    else:
        logger.info("heron: recording %r to %s; its dashboard is served there", app_id,
                    cfg.URL)
    app.extensions["heron"] = Binding(monitor, dashboard)
    _instrument(app, monitor)
    return app


def _instrument(app: Flask, monitor: WebMonitor) -> None:
    """Time ``app.full_dispatch_request``: the request is routed, the response made."""
    dispatch = app.full_dispatch_request  # the class's, bound to this app
    levels = monitor.levels
    cells: dict[str, list[int]] = {}  # endpoint -> its level cell
    current_context = _request_context()
    finish = monitor.finish
    with capture_internal_exceptions("registering endpoints"):
        levels.register(sorted(app.view_functions))

    def full_dispatch_request() -> Any:
        request_now = current_context().request
        rule = request_now.url_rule
        # not routed (404, 405, the 308 to a rule's canonical URL): one endpoint per app
        endpoint = UNMATCHED if rule is None else rule.endpoint
        cell = cells.get(endpoint)
        if cell is None:
            # an endpoint's first request: routes defined since bind (bound first, as
            # Flask-MonitoringDashboard's docs do it) are listed on the Rules page from now
            with capture_internal_exceptions("registering endpoints"):
                levels.register(sorted(app.view_functions))
            cell = cells[endpoint] = levels.cell(endpoint)
        if cell[0] < 1:
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
            active.status = response.status_code
            response.response = TimedBody(response.response, lambda: finish(active), active)
        else:
            finish(active, response.status_code)
        return response

    full_dispatch_request.heron_monitor = monitor  # type: ignore[attr-defined]
    app.full_dispatch_request = full_dispatch_request  # type: ignore[method-assign]


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
