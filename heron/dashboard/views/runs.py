"""Runs: run classes, the runs of a class with metric charts, and one run's tree."""

from __future__ import annotations

import time
from typing import Any

from flask import abort, jsonify, render_template, request
from werkzeug.wrappers import Response

from heron.dashboard.formatting import format_ago, format_duration_ms, format_time
from heron.dashboard.registry import route
from heron.dashboard.security import login_required
from heron.dashboard.state import state
from heron.dashboard.tabs import DashboardTab, dashboard_tabs
from heron.dashboard.views.frame import WINDOWS, selected_app, selected_window
from heron.store.queries.runs import (
    export_keys,
    metric_series,
    run_classes,
    run_tree,
    runs_of_class,
)

DIMENSION_PREFIX = "dim."


def _window() -> tuple[float, float]:
    now = time.time()
    return now - WINDOWS[selected_window()][1], now


def _dimension_filters() -> dict[str, str]:
    return {k[len(DIMENSION_PREFIX):]: v for k, v in request.args.items()
            if k.startswith(DIMENSION_PREFIX) and v != ""}


def _duration(row: dict[str, Any]) -> str:
    if row.get("ts") is None or row.get("end_ts") is None:
        return "running"
    return format_duration_ms((row["end_ts"] - row["ts"]) * 1000)


@route("/runs")
@login_required
def dashboard_runs() -> str:
    since, now = _window()
    tz = state().config.TIMEZONE
    classes = []
    for c in run_classes(state().store, app=selected_app(), since=since):
        classes.append({
            "app": c.app, "run_class": c.run_class, "sub": c.sub, "runs": c.runs,
            "ok": c.ok, "errors": c.errors, "open": c.open,
            "success": None if c.success_rate is None else f"{c.success_rate * 100:.1f}%",
            "health": "none" if c.success_rate is None else
                      "ok" if c.success_rate >= 0.99 else
                      "warning" if c.success_rate >= 0.9 else "failure",
            "duration": format_duration_ms(c.mean_duration_s * 1000)
                        if c.mean_duration_s is not None else "—",
            "last": format_time(c.last_ts, tz), "last_ago": format_ago(c.last_ts, now),
        })
    return render_template("heron/runs.html", title="Runs", classes=classes)


@route("/runs/<app>/<path:run_class>")
@login_required
def run_class_page(app: str, run_class: str) -> str:
    since, now = _window()
    s = state()
    filters = _dimension_filters()
    rows = runs_of_class(s.store, app=app, run_class=run_class, since=since,
                         dimensions=filters)
    metrics, dimensions = export_keys(s.store, app=app, run_class=run_class, since=since)
    for row in rows:
        row["duration"] = _duration(row)
        row["time"] = format_time(row["ts"], s.config.TIMEZONE)
    metric = request.args.get("metric") or (metrics[0] if metrics else "")
    segment = request.args.get("segment") or ""
    return render_template(
        "heron/run_class.html", title=f"Runs: {run_class}", app_id=app, run_class=run_class,
        rows=rows, metrics=metrics, dimensions=dimensions, metric=metric, segment=segment,
        filters=filters, dimension_prefix=DIMENSION_PREFIX)


@route("/api/runs/series")
@login_required
def api_run_series() -> Response:
    args = request.args
    app, run_class, metric = args.get("app_id"), args.get("run_class"), args.get("metric")
    if not app or not run_class or not metric:
        return jsonify(error="app_id, run_class and metric are required"), 400  # type: ignore[return-value]
    since, now = _window()
    data = metric_series(state().store, app=app, run_class=run_class, metric=metric,
                         segment=args.get("segment") or None, since=since, until=now)
    data["timezone"] = state().config.TIMEZONE
    return jsonify(data)


@route("/runs/r/<path:run_id>")
@login_required
def run_page(run_id: str) -> str:
    s = state()
    tree = run_tree(s.store, run_id)
    if tree is None:
        abort(404, description=f"No run with id {run_id} is stored.")

    def decorate(node: dict[str, Any]) -> None:
        node["duration"] = _duration(node)
        node["time"] = format_time(node["ts"], s.config.TIMEZONE)
        for export in node["exports"]:
            export["time"] = format_time(export["ts"], s.config.TIMEZONE)
        for child in node["children"]:
            decorate(child)

    decorate(tree)
    return render_template("heron/run.html", title=f"Run {tree['run_class'] or ''}",
                           tree=tree, selected=run_id)


dashboard_tabs.insert_tab_after_route(DashboardTab("Runs", "dashboard.dashboard_runs"), "index")
