"""Dashboard routes: one registry for heron's pages and an experiment's custom tabs.

Routes are collected here and added to a fresh blueprint when an app is set up
(:func:`init_app`), so a later registration under the same endpoint overrides an
earlier one, and every app (a test's, ``heron serve``'s, a user's bound app) gets the
same pages.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Blueprint, Flask, jsonify, render_template, request
from werkzeug.exceptions import HTTPException

from heron.config import Config
from heron.dashboard import reads
from heron.dashboard.formatting import format_number
from heron.dashboard.registry import registered_routes
from heron.dashboard.security import check_csrf, csrf_token, current_user
from heron.dashboard.state import attach
from heron.store import Store

HERE = Path(__file__).parent


def create_blueprint(config: Config) -> Blueprint:
    """A blueprint at ``/<CUSTOM_LINK>`` with every registered route."""
    from heron.dashboard import views

    views.register_all()

    bp = Blueprint("dashboard", __name__, url_prefix="/" + config.CUSTOM_LINK,
                   template_folder=str(HERE / "templates"),
                   static_folder=str(HERE / "static"), static_url_path="/static")
    bp.before_request(reads.choose)  # the replica, or the primary after a write
    bp.before_request(check_csrf)
    bp.after_request(reads.note_write)
    bp.teardown_request(reads.release)
    routes = registered_routes()
    for r in routes:
        for rule in r.rules:
            bp.add_url_rule(rule, r.endpoint, r.view, **r.options)
    bp.context_processor(_template_globals)  # the blueprint's pages only
    for code in (400, 401, 403, 404, 405, 429, 500):
        bp.register_error_handler(code, _error_page)
    return bp


def _error_page(error: HTTPException) -> tuple[Any, int]:
    from heron.dashboard.security import wants_json

    code = error.code or 500
    message = error.description or error.name
    if wants_json():
        return jsonify(error=message), code
    # a URL no rule matched has no blueprint, so its page gets the frame's values here
    extra = _template_globals() if request.blueprint is None else {}
    return render_template("heron/error.html", title=error.name, code=code, message=message,
                           **extra), code


def _install_unrouted_errors(app: Flask, prefix: str) -> None:
    """A URL under the dashboard's prefix that no page has (``/dashboard/nope``) gets
    heron's own 404 page, as a bad id on a page does, not Werkzeug's bare one."""

    def unrouted(error: HTTPException) -> Any:
        path = request.path
        if path == prefix or path.startswith(prefix + "/"):
            return _error_page(error)
        return error

    for code in (404, 405):
        app.register_error_handler(code, unrouted)


def _template_globals() -> dict[str, Any]:
    from heron.dashboard.views.frame import frame_context

    # functions, not filters: a filter would be registered on the whole Jinja environment
    return {"csrf_token": csrf_token, "current_user": current_user, "num": format_number,
            **frame_context()}


def init_app(app: Flask, store: Store, config: Config, experiment: Any = None, *,
             cookie_path: str = "/") -> None:
    """Mount the dashboard on ``app``, an app of heron's own: ``heron serve``'s, or the one a
    bound host app forwards its ``/<CUSTOM_LINK>`` requests to (:mod:`heron.web.mount`).
    Never a user's app: this sets the app's secret key, session cookie and request size.

    The login cookie is ``heron_session``, signed with SECRET_KEY or the key kept in the
    store.

    :param experiment: a :class:`heron.Experiment` customising the experiment pages.
    :param cookie_path: where the browser sends the cookie: ``/`` for ``heron serve``
        (its API accepts a logged-in session), the dashboard's prefix in a bound app (the
        host's own pages never receive it).
    """
    from heron.api_v1 import export_blueprint
    from heron.auth.tokens import ensure_secret_key
    from heron.dashboard import params, sessions
    from heron.experiment.hooks import Experiment
    from heron.web.proxies import TrustedProxies

    state = attach(app, store, config)
    experiment = experiment if experiment is not None else Experiment()
    experiment.attach(store, config.APP)
    state.extras["experiment"] = experiment
    state.extras["proxies"] = TrustedProxies(config.TRUSTED_PROXIES)
    sessions.install(app, ensure_secret_key(store, config))
    params.install(app)
    app.config.from_mapping(
        MAX_CONTENT_LENGTH=config.MAX_BODY_BYTES, SESSION_COOKIE_NAME=sessions.COOKIE_NAME,
        SESSION_COOKIE_PATH=cookie_path, SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SECURE=bool(config.COOKIE_SECURE),
        PERMANENT_SESSION_LIFETIME=timedelta(days=float(config.SESSION_MAX_DAYS)),
        SESSION_COOKIE_SAMESITE="Lax")
    app.register_blueprint(create_blueprint(config))
    # the token export beside the dashboard, where Flask-MonitoringDashboard serves it (a
    # bound app has no /api/v1 of heron's; the Settings page links here)
    app.register_blueprint(export_blueprint(f"/{config.CUSTOM_LINK}"))
    _install_unrouted_errors(app, "/" + config.CUSTOM_LINK)
