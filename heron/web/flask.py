"""``heron.bind(app)``: monitor a Flask app's requests and mount the dashboard in it.

Flask routes the request; heron wraps each view function so the view names its endpoint
(no second URL match, and no Flask request hooks: those cost more than heron's whole
recording). Dashboard and heron API requests are not recorded. Unhandled exceptions are
caught through Flask's ``got_request_exception`` signal
(Flask turns them into 500 responses before the WSGI layer would see them).
"""

from __future__ import annotations

import functools
from types import GeneratorType
from typing import Any

from flask import Flask, got_request_exception, request

from heron import api
from heron import config as heron_config
from heron._internal import capture_internal_exceptions, logger
from heron.web.monitor import WebMonitor
from heron.web.wsgi import ENVIRON_KEY, WSGIMiddleware

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

    if "heron" in app.extensions:
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
    middleware = WSGIMiddleware(app.wsgi_app, app_id, monitor=monitor, route_later=True)
    wrapped: dict[str, Any] = {}

    def wrap_views() -> None:
        """Wrap each view (also those added after bind) so it names its endpoint: cheaper
        than Flask request hooks, which cost more than heron's whole recording."""
        if len(app.view_functions) == len(wrapped):
            return  # nothing added since the last request: one comparison per request
        new = [e for e, view in app.view_functions.items() if wrapped.get(e) is not view]
        with capture_internal_exceptions("registering endpoints"):
            for endpoint in new:
                view = app.view_functions[endpoint]
                blueprint = endpoint.rsplit(".", 1)[0] if "." in endpoint else None
                if _monitored(endpoint, blueprint):
                    view = _monitored_view(monitor, endpoint, view)
                    app.view_functions[endpoint] = view
                wrapped[endpoint] = view
            monitor.levels.register(sorted(e for e in wrapped if _monitored(
                e, e.rsplit(".", 1)[0] if "." in e else None)))

    def on_exception(sender: Flask, exception: BaseException, **_: Any) -> None:
        active = request.environ.get(ENVIRON_KEY)
        if active is not None:
            monitor.exception(active, exception)

    got_request_exception.connect(on_exception, app, weak=False)
    middleware.before = wrap_views
    app.wsgi_app = middleware  # type: ignore[method-assign]
    return app


def _monitored_view(monitor: WebMonitor, endpoint: str, view: Any) -> Any:
    @functools.wraps(view)
    def heron_view(*args: Any, **kwargs: Any) -> Any:
        active = monitor.current()  # a context variable: cheaper than flask.request
        if active is None:
            return view(*args, **kwargs)
        monitor.route(active, endpoint)
        active.streamed = False  # unless the view returns a generator, below
        try:
            result = view(*args, **kwargs)
        finally:
            if active.threshold_ms is not None and monitor.wants_values(active):
                _keep_values(monitor, active)
        # a generator (Response(gen()), stream_with_context) is timed to its last chunk;
        # anything else is complete when the app returns it
        body = getattr(result, "response", None)
        active.streamed = isinstance(result, GeneratorType) or isinstance(body, GeneratorType)
        return result

    heron_view.heron_wrapped = True  # type: ignore[attr-defined]
    return heron_view


def _keep_values(monitor: WebMonitor, active: Any) -> None:
    with capture_internal_exceptions("keeping an outlier's values"):
        monitor.keep_values(active, request.args.to_dict(flat=False),
                            request.form.to_dict(flat=False),
                            request.get_json(silent=True) if request.is_json else None)
