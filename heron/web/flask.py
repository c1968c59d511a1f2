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
from time import perf_counter_ns, time
from types import GeneratorType
from typing import Any

from flask import Flask, request
from flask.globals import _cv_request

from heron import api, emitting
from heron import config as heron_config
from heron._internal import capture_internal_exceptions, internal_error, logger
from heron.web import mount, observe, sql
from heron.web.monitor import (
    REQUEST,
    UNMATCHED,
    Active,
    Served,
    ServedActive,
    TimedBody,
    WebMonitor,
    served_active,
)


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


#: The requests being served, by Flask's request context: how heron's SQL timing and log
#: capture find the request (:func:`heron.web.sql.request_now`), with no context variable
#: of heron's set per request (issue 16).
_serving: dict[Any, Active | list[Any]] = {}


def _serving_now() -> Active | Served | None:
    context = _cv_request.get(None)
    found = None if context is None else _serving.get(context)
    return Served(found) if found.__class__ is list else found


def _instrument(app: Flask, monitor: WebMonitor) -> None:
    """Time ``app.full_dispatch_request``: the request is routed, the response made."""
    dispatch = app.full_dispatch_request  # the class's, bound to this app
    levels = monitor.levels
    cells: dict[str, list[int]] = {}  # endpoint -> its level cell
    current_context = _cv_request.get
    serving = _serving
    if _serving_now not in sql.finders:
        sql.finders.append(_serving_now)
    finish, record = monitor.finish, monitor.record
    app_id, behind_proxies = monitor.app_id, monitor.behind_proxies
    with capture_internal_exceptions("registering endpoints"):
        levels.register(sorted(app.view_functions))

    def full_dispatch_request() -> Any:
        context = current_context()
        request_now = context.request
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
        level = cell[0]
        if level < 1:
            return dispatch()
        if level == 1:  # the usual case, on its own path: no Active unless it is needed
            served = [time(), None, None]  # ts, SQL totals, id (heron.web.monitor.Served)
            started = perf_counter_ns()
            serving[context] = served
            try:
                response = dispatch()
            except BaseException as exc:
                active = served_active(served, started, request_now.environ, endpoint)
                active.error = exc
                finish(active, 500)
                raise
            finally:
                del serving[context]
            if response.response.__class__ is GeneratorType:
                active = served_active(served, started, request_now.environ, endpoint)
                active.status = response.status_code
                response.response = TimedBody(response.response, lambda: finish(active),
                                              active)
                return response
            duration_ns = perf_counter_ns() - started
            recorder = emitting.recorder
            if (recorder is None or observe.observer is not None or behind_proxies
                    or heron_config.group_by is not None):
                record(endpoint, request_now.environ, response.status_code, duration_ns,
                       *served)
                return response
            try:  # WebMonitor.record's put, inline: the request path's one call less
                environ = request_now.environ
                recorder.put((REQUEST, app_id, monitor.version, endpoint,
                              environ.get("REQUEST_METHOD", "GET"), response.status_code,
                              duration_ns, served[0], environ.get("REMOTE_ADDR"), served[1],
                              served[2], None))
            except Exception as exc:  # noqa: BLE001 - never break the request
                internal_error("recording a request", exc)
            return response
        active = ServedActive(perf_counter_ns(), request_now.environ)
        active.endpoint = endpoint
        active.level = level
        if level >= 2:
            monitor.arm(active, level, sys._getframe())
        serving[context] = active
        try:
            response = dispatch()
        except BaseException as exc:
            active.error = exc
            if monitor.wants_values(active):
                _keep_values(monitor, active)
            finish(active, 500)
            raise
        finally:
            del serving[context]
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


def _keep_values(monitor: WebMonitor, active: Any) -> None:
    with capture_internal_exceptions("keeping an outlier's values"):
        monitor.keep_values(active, request.args.to_dict(flat=False),
                            request.form.to_dict(flat=False),
                            request.get_json(silent=True) if request.is_json else None)
