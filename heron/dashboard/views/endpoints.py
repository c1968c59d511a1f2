"""Web monitoring pages: the endpoints overview, monitor-level rules, one endpoint's
charts, outliers, profiles, exceptions, reporting and retention.

Pages render the frame and tables on the server; charts load JSON from ``/api/web/...``
and are drawn by ``endpoints.js`` with ECharts. Every chart follows the top bar's window.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from heron.dashboard.formatting import format_ago, format_duration_ms, format_time
from heron.dashboard.registry import route
from heron.dashboard.security import admin_required, current_user, login_required
from heron.dashboard.state import state
from heron.dashboard.tabs import DashboardTab, dashboard_tabs
from heron.dashboard.views.frame import WINDOWS, selected_app, selected_window
from heron.store.queries import web
from heron.store.retention import prune
from heron.web.stats import mann_whitney_sketch

SIGNIFICANCE = 0.05
MIN_CHANGE = 0.10  # a significant change smaller than 10% is not worth a line


def _window() -> tuple[float, float]:
    now = time.time()
    return now - WINDOWS[selected_window()][1], now


def _app() -> str | None:
    """The app in the top bar, else the first app with monitored endpoints."""
    apps = web.web_apps(state().store)
    chosen = selected_app()
    if chosen in apps:
        return chosen
    return apps[0] if apps else None


def _today_start(now: float) -> float:
    tz = ZoneInfo(state().config.TIMEZONE)
    local = datetime.fromtimestamp(now, UTC).astimezone(tz)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).timestamp()


def _empty(title: str) -> str:
    return render_template("heron/endpoints_empty.html", title=title)


# ----------------------------------------------------------------------------- overview
@route("/endpoints")
@login_required
def dashboard_endpoints() -> str:
    app = _app()
    if app is None:
        return _empty("Endpoints")
    since, now = _window()
    tz = state().config.TIMEZONE
    rows = web.overview(state().store, app, since=since, today_start=_today_start(now),
                        now=now)
    for row in rows:
        row["last"] = format_time(row["last_ts"], tz) if row["last_ts"] else "never"
        row["last_ago"] = format_ago(row["last_ts"], now) if row["last_ts"] else "never"
        row["median"] = format_duration_ms(row["median_ms"])
        row["p95"] = format_duration_ms(row["p95_ms"])
        rate = row["error_rate"]
        row["errors"] = "—" if rate is None else f"{rate * 100:.1f}%"
        row["health"] = ("none" if rate is None else "ok" if rate < 0.01 else
                         "warning" if rate < 0.05 else "failure")
    return render_template("heron/endpoints.html", title="Endpoints", app_id=app, rows=rows,
                           colors=state().config.COLORS)


@route("/api/web/overview")
@login_required
def api_web_overview() -> Response:
    app = _app()
    if app is None:
        return jsonify(error="no monitored endpoints yet"), 404  # type: ignore[return-value]
    since, now = _window()
    s = state()
    return jsonify(
        timezone=s.config.TIMEZONE,
        heatmap=web.heatmap(s.store, app, since, now, _offset_s()),
        daily=web.series(s.store, app, None, since, now, 86400 if since < now - 2 * 86400
                         else 3600, by="endpoint"),
        by_endpoint_version=_hits_by_endpoint_version(app, since, now),
        boxes=web.percentiles(s.store, app, None, since, now + 3600))


def _offset_s() -> float:
    """TIMEZONE's offset from UTC now, in seconds (hours of the day are read in it)."""
    offset = datetime.now(ZoneInfo(state().config.TIMEZONE)).utcoffset()
    return offset.total_seconds() if offset else 0.0


def _hits_by_endpoint_version(app: str, since: float, now: float) -> dict[str, dict[str, int]]:
    return web.hits_by_endpoint_version(state().store, app, since, now)


# -------------------------------------------------------------------------------- rules
@route("/endpoints/rules", methods=["GET", "POST"])
@login_required
def dashboard_rules() -> Any:
    app = _app()
    if app is None:
        return _empty("Rules")
    s = state()
    if request.method == "POST":
        user = current_user()
        if user is None or not user.is_admin:
            abort(403, description="Only admins can change monitor levels.")
        endpoint = request.form.get("endpoint", "")
        try:
            level = int(request.form.get("level", ""))
            changed = web.set_level(s.store, app, endpoint, level)
        except ValueError as exc:
            flash(f"Not changed: {exc}", "danger")
        else:
            if changed:
                flash(f"{endpoint} now records at level {level}; running apps pick it up "
                      "within 5 seconds.", "success")
            else:
                flash(f"No endpoint {endpoint!r} in app {app}.", "danger")
        return redirect(url_for("dashboard.dashboard_rules", app=app))
    rows = web.endpoints(s.store, app)
    tz = s.config.TIMEZONE
    for row in rows:
        row["last"] = format_time(row["last_ts"], tz) if row["last_ts"] else "never"
    return render_template("heron/rules.html", title="Rules", app_id=app, rows=rows,
                           default_level=s.config.MONITOR_LEVEL,
                           retention_days=s.config.RETENTION_DAYS)


@route("/endpoints/prune", methods=["POST"])
@admin_required
def dashboard_prune() -> Response:
    days = request.form.get("days", type=float)
    if days is None or days < 0:
        flash("Give the age in days (0 or more) of the data to delete.", "danger")
    else:
        removed = prune(state().store, older_than=time.time() - days * 86400)
        flash("Deleted " + ", ".join(f"{n:,} {kind}" for kind, n in removed.items())
              + f" older than {days:g} days.", "success")
    return redirect(url_for("dashboard.dashboard_rules", app=request.form.get("app")))


# ----------------------------------------------------------------------------- endpoint
@route("/endpoints/e/<app_id>//<path:name>", merge_slashes=False)
@login_required
def endpoint_page_rooted(app_id: str, name: str) -> str:
    """An endpoint named by its path (``/items/{id}``: FastAPI's routes, OpenTelemetry's
    ``http.route``): ``url_for`` writes it after a second slash, which Werkzeug's path
    converter cannot take as its first character."""
    return endpoint_page(app_id, "/" + name)


@route("/endpoints/e/<app_id>/<path:name>", merge_slashes=False)
@login_required
def endpoint_page(app_id: str, name: str) -> str:
    endpoint = name  # (url_for's first argument is called endpoint)
    s = state()
    known = {e["endpoint"]: e for e in web.endpoints(s.store, app_id)}
    if endpoint not in known:
        abort(404, description=f"No endpoint {endpoint} in app {app_id}.")
    since, now = _window()
    tz = s.config.TIMEZONE
    outliers = web.outliers(s.store, app_id, endpoint, since, now)
    for row in outliers:
        row["time"] = format_time(row["ts"], tz)
        row["duration"] = format_duration_ms(row["duration_ms"])
    profiles = web.profiles(s.store, app_id, endpoint, since, now)
    for row in profiles:
        row["time"] = format_time(row["ts"], tz)
        row["duration"] = format_duration_ms(row["duration_ms"])
    errors = web.exception_groups(s.store, app_id, since, now, endpoint=endpoint)
    for row in errors:
        row["last"] = format_ago(row["last_ts"], now)
    sql = web.sql_summary(s.store, app_id, endpoint, since, now)
    return render_template("heron/endpoint.html", title=f"Endpoint {endpoint}",
                           colors=s.config.COLORS,
                           app_id=app_id, endpoint=endpoint, info=known[endpoint],
                           outliers=outliers, profiles=profiles, errors=errors, sql=sql,
                           sql_ms=format_duration_ms(sql["mean_sql_ms"]))


@route("/api/web/endpoint")
@login_required
def api_web_endpoint() -> Response:
    app, endpoint = request.args.get("app_id"), request.args.get("endpoint")
    if not app or not endpoint:
        return jsonify(error="app_id and endpoint are required"), 400  # type: ignore[return-value]
    since, now = _window()
    step = 3600 if now - since > 6 * 3600 else 300 if now - since > 3600 else 60
    s = state()
    return jsonify(
        timezone=s.config.TIMEZONE, step=step,
        load=web.series(s.store, app, endpoint, since, now, step, by="version"),
        statuses=web.status_series(s.store, app, endpoint, since, now, step),
        versions=web.percentiles(s.store, app, endpoint, since, now + 3600, group="version"),
        users=web.raw_groups(s.store, app, endpoint, since, now, "group_by"),
        user_boxes=web.user_percentiles(s.store, app, endpoint, since, now),
        hours=web.hour_of_day(s.store, app, endpoint, since, now, _offset_s()),
        ips=web.raw_groups(s.store, app, endpoint, since, now, "ip"),
        grouped=web.grouped_profile(s.store, app, endpoint, since, now))


@route("/endpoints/outlier/<app_id>/<outlier_id>")
@login_required
def outlier_page(app_id: str, outlier_id: str) -> str:
    row = web.record(state().store, "outlier", app_id, outlier_id)
    if row is None:
        abort(404, description="No such outlier (it may have been pruned).")
    row["time"] = format_time(row["ts"], state().config.TIMEZONE)
    row["duration"] = format_duration_ms(row["duration_ms"])
    return render_template("heron/outlier.html", title="Outlier", app_id=app_id, o=row)


@route("/endpoints/request/<request_id>")
@login_required
def request_page(request_id: str) -> str:
    """One request: what was recorded, its outlier, profile and exception, its log lines."""
    from heron.logs.query import level_name, parse
    from heron.store.queries.logs import LogFilter, search

    s = state()
    row = web.request_detail(s.store, request_id)
    lines = search(s.store, parse(""), LogFilter(request_id=request_id), limit=500,
                   oldest_first=True, after=0)
    if row is None and not lines:
        abort(404, description="No request with this id is stored (it may have been "
                               "pruned, or not be written yet).")
    tz = s.config.TIMEZONE
    for line in lines:
        line["time"] = format_time(line["ts"], tz)
        line["level_name"] = level_name(line["level"])
    if row is not None:
        row["time"] = format_time(row["ts"], tz)
        row["duration"] = format_duration_ms(row["duration_ms"])
        row["sql"] = format_duration_ms(row["sql_ms"])
    return render_template("heron/request.html", title="Request", r=row,
                           request_id=request_id, lines=lines)


@route("/endpoints/profile/<app_id>/<profile_id>")
@login_required
def profile_page(app_id: str, profile_id: str) -> str:
    row = web.record(state().store, "profile", app_id, profile_id)
    if row is None:
        abort(404, description="No such profile (it may have been pruned).")
    row["time"] = format_time(row["ts"], state().config.TIMEZONE)
    row["duration"] = format_duration_ms(row["duration_ms"])
    tree = row["tree"]
    lines = tree.get("lines", [])
    period = float(tree.get("period_ms", 0))

    def flatten(node: list[Any], depth: int, out: list[dict[str, Any]]) -> None:
        for child in sorted(node[2], key=lambda c: -c[1]):
            line = lines[child[0]]
            out.append({"depth": depth, "function": line["function"], "file": line["file"],
                        "line": line["line"], "code": line["code"],
                        "ms": format_duration_ms(child[1] * period),
                        "share": child[1] / max(1, tree.get("samples", 1))})
            flatten(child, depth + 1, out)

    rows: list[dict[str, Any]] = []
    flatten(tree["root"], 0, rows)
    return render_template("heron/profile.html", title="Profile", app_id=app_id, p=row,
                           rows=rows)


# --------------------------------------------------------------------------- exceptions
@route("/endpoints/exceptions")
@login_required
def dashboard_exceptions() -> str:
    app = _app()
    if app is None:
        return _empty("Exceptions")
    since, now = _window()
    groups = web.exception_groups(state().store, app, since, now)
    tz = state().config.TIMEZONE
    for g in groups:
        g["first"] = format_time(g["first_ts"], tz)
        g["last"] = format_time(g["last_ts"], tz)
        g["last_ago"] = format_ago(g["last_ts"], now)
    return render_template("heron/exceptions.html", title="Exceptions", app_id=app,
                           groups=groups)


# ---------------------------------------------------------------------------- reporting
@route("/endpoints/reporting")
@login_required
def dashboard_reporting() -> str:
    app = _app()
    if app is None:
        return _empty("Reporting")
    s = state()
    versions = [v for v in web.versions(s.store, app) if v]
    mode = request.args.get("mode", "versions")
    now = time.time()
    since, _ = _window()
    span = now - since
    a_label = b_label = ""
    results = []
    error = None
    if mode == "versions":
        a = request.args.get("a") or (versions[-2] if len(versions) > 1 else "")
        b = request.args.get("b") or (versions[-1] if versions else "")
        a_label, b_label = f"version {a}", f"version {b}"
        ranges = ((a, 0.0, now + 1), (b, 0.0, now + 1))
    else:
        a = b = ""
        a_label, b_label = "the window before", "the window above"
        ranges = ((None, since - span, since), (None, since, now + 1))
    if mode == "versions" and (not a or not b or a == b):
        error = "Choose two different versions to compare."
    else:
        sides = [web.latency_sketches(s.store, app, start, until, version=version)
                 for version, start, until in ranges]
        for e in web.endpoints(s.store, app):
            try:
                c = mann_whitney_sketch(sides[0].get(e["endpoint"], []),
                                        sides[1].get(e["endpoint"], []))
            except ValueError:  # fewer than 2 requests on a side
                continue
            results.append({"endpoint": e["endpoint"], "n_a": c.n_a, "n_b": c.n_b,
                            "median_a": format_duration_ms(c.median_a),
                            "median_b": format_duration_ms(c.median_b),
                            "change": c.change, "p": c.p_value,
                            "significant": c.p_value < SIGNIFICANCE
                            and abs(c.change) >= MIN_CHANGE})
        results.sort(key=lambda r: (not r["significant"], -abs(r["change"])))
    return render_template("heron/reporting.html", title="Reporting", app_id=app,
                           versions=versions, mode=mode, a=a, b=b, a_label=a_label,
                           b_label=b_label, results=results, error=error,
                           significance=SIGNIFICANCE, min_change=MIN_CHANGE)


def _children() -> list[DashboardTab]:
    # the group's own page is listed first as "Overview" by the navigation
    return [DashboardTab("Rules", "dashboard.dashboard_rules"),
            DashboardTab("Reporting", "dashboard.dashboard_reporting"),
            DashboardTab("Exceptions", "dashboard.dashboard_exceptions")]


dashboard_tabs.insert_tab_after_route(
    DashboardTab("Endpoints", "dashboard.dashboard_endpoints", _children), "runs")
