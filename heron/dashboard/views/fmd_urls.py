"""Flask-MonitoringDashboard's page addresses, sent on to heron's pages: a bookmark or a
link from FMD's documentation keeps working after the move. Each answers a redirect (302)
to the page that shows the same thing; the login is the target page's."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from sqlalchemy import select
from werkzeug.wrappers import Response

from heron.dashboard.registry import route
from heron.dashboard.security import login_required
from heron.dashboard.state import state

#: FMD's endpoint sub-pages → the part of heron's endpoint page that shows them.
ENDPOINT_PAGES = {"hourly_load": "", "version_user": "", "version_ip": "", "versions": "",
                  "users": "", "profiler": "#profiles-table",
                  "grouped-profiler": "#grouped-lines", "outliers": "#outliers-table"}


def _keep_query() -> dict[str, str]:
    return {k: v for k, v in request.args.items() if k in ("app", "window")}


@route("/rules")
def fmd_rules() -> Response:
    return redirect(url_for("dashboard.dashboard_rules", **_keep_query()))


@route("/configuration")
@route("/config")
def fmd_configuration() -> Response:
    return redirect(url_for("dashboard.dashboard_settings", **_keep_query()))


@route("/export-data")
@route("/export_data")
def fmd_export_data() -> Response:
    return redirect(url_for("dashboard.dashboard_settings", **_keep_query()) + "#export")


@route("/overview")
@route("/measurements/overview")
def fmd_overview() -> Response:
    return redirect(url_for("dashboard.dashboard_endpoints", **_keep_query()))


@route("/<path:name>/main/<page>")
@login_required
def fmd_endpoint(name: str, page: str) -> Response:
    """``/dashboard/<endpoint>/main/<page>``: the endpoint's page in the app that has it
    (the app of ``?app=`` when several do)."""
    if page not in ENDPOINT_PAGES:
        abort(404)
    store = state().store
    table = store.table("endpoint")
    with store.read() as conn:
        apps = [r[0] for r in conn.execute(
            select(table.c.app).where(table.c.endpoint == name).order_by(table.c.app))]
    wanted = request.args.get("app")
    app = wanted if wanted in apps else (apps[0] if apps else None)
    if app is None:
        abort(404, description=f"No endpoint {name} has been recorded.")
    return redirect(url_for("dashboard.endpoint_page", app_id=app, name=name,
                            **_keep_query()) + ENDPOINT_PAGES[page])
