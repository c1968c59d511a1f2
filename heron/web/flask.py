"""``heron.bind(app)``: monitor a Flask app's requests and mount the dashboard in it.

Flask routes the request; heron reads the endpoint name Flask found (``request.endpoint``)
instead of matching the URL a second time. Dashboard and heron API requests are not
recorded. Unhandled exceptions are caught through Flask's ``got_request_exception`` signal
(Flask turns them into 500 responses before the WSGI layer would see them).
"""

from __future__ import annotations

import inspect
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


def bind(app: Flask, *, experiment: Any = None, **config: Any) -> Flask:
    """Monitor ``app``: record its requests and serve the dashboard at ``/<CUSTOM_LINK>``.

    Call it after configuring heron (``heron.config.init_from(...)``, ``HERON_*``
    variables or keyword arguments here, e.g. ``bind(app, database=...)``). The app id is
    config APP, else the Flask app's name.

    :param experiment: a :class:`heron.Experiment` customising the experiment pages.
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
    monitor = WebMonitor(app_id, cfg)
    store = getattr(getattr(api.recorder(), "sink", None), "store", None)
    if store is not None:
        if ensure_default_users(store, cfg):
            # A library must not print, and a password must not reach a log: say how.
            logger.warning("heron: the dashboard at /%s has a new admin user %r with a "
                           "random password; set PASSWORD, or run `heron user passwd %s`",
                           cfg.CUSTOM_LINK, cfg.USERNAME, cfg.USERNAME)
        init_app(app, store, cfg, experiment)
        app.extensions["heron"].extras["monitor"] = monitor
    else:
        logger.info("heron: recording %r to %s; its dashboard is served there", app_id,
                    cfg.URL)
    registered: list[bool] = []

    def note_endpoint() -> None:
        active = request.environ.get(ENVIRON_KEY)
        if active is None:
            return
        if not registered:  # every route appears on the Rules page before its first hit
            registered.append(True)
            with capture_internal_exceptions("registering endpoints"):
                monitor.levels.register(sorted(
                    {r.endpoint for r in app.url_map.iter_rules()
                     if _monitored(r.endpoint, r.endpoint.rsplit(".", 1)[0]
                                   if "." in r.endpoint else None)}))
        if _monitored(request.endpoint, request.blueprint):
            monitor.route(active, request.endpoint)  # type: ignore[arg-type]

    def note_response(response: Any) -> Any:
        active = request.environ.get(ENVIRON_KEY)
        if active is not None:
            # a view's generator (stream_with_context, Response(gen())) is timed to its end;
            # everything else, error pages included, is complete when returned
            active.streamed = inspect.isgenerator(response.response)
        return response

    def keep_values(_error: BaseException | None = None) -> None:
        active = request.environ.get(ENVIRON_KEY)
        if active is None or not monitor.wants_values(active):
            return
        with capture_internal_exceptions("keeping an outlier's values"):
            monitor.keep_values(active, request.args.to_dict(flat=False),
                                request.form.to_dict(flat=False),
                                request.get_json(silent=True) if request.is_json else None)

    def on_exception(sender: Flask, exception: BaseException, **_: Any) -> None:
        active = request.environ.get(ENVIRON_KEY)
        if active is not None:
            monitor.exception(active, exception)

    app.before_request(note_endpoint)
    app.after_request(note_response)
    app.teardown_request(keep_values)
    got_request_exception.connect(on_exception, app, weak=False)
    app.wsgi_app = WSGIMiddleware(app.wsgi_app, app_id, monitor=monitor,  # type: ignore[method-assign]
                                  route_later=True)
    return app
