"""Sessions: experiment sessions on the rigs, and one session's record — metadata, the
stage timeline with its pipeline modules, CPU and memory, and the log (live while it runs).
"""

from __future__ import annotations

import time
from typing import Any

from flask import abort, jsonify, render_template, request
from werkzeug.wrappers import Response

from heron.dashboard.formatting import format_ago, format_duration_ms, format_time
from heron.dashboard.params import int_arg
from heron.dashboard.registry import route
from heron.dashboard.security import login_required
from heron.dashboard.state import state
from heron.dashboard.tabs import DashboardTab, dashboard_tabs
from heron.dashboard.views.frame import WINDOWS, selected_app, selected_window
from heron.store.queries import sessions as queries

OUTCOME_STATUS = {"ok": "ok", "failed": "failure", "terminated": "warning", None: "none"}


@route("/sessions")
@login_required
def dashboard_sessions() -> str:
    now = time.time()
    since = now - WINDOWS[selected_window()][1]
    args = request.args
    filters = {k: args.get(k) or None for k in ("subject", "user", "outcome")}
    rows = queries.sessions(state().store, app=selected_app(), since=since, **filters)
    tz = state().config.TIMEZONE
    for row in rows:
        row["started"] = format_time(row["ts"], tz)
        row["started_ago"] = format_ago(row["ts"], now)
        end = row["end_ts"]
        row["duration"] = format_duration_ms(((end or now) - row["ts"]) * 1000) \
            if row["ts"] else "—"
        row["state"] = row["outcome"] if end else "running"
        row["status"] = OUTCOME_STATUS.get(row["outcome"] if end else None, "none")
    return render_template("heron/sessions.html", title="Sessions", rows=rows,
                           filters=filters)


@route("/sessions/<session_id>")
@login_required
def session_page(session_id: str) -> str:
    s = state()
    row = queries.session(s.store, session_id)
    if row is None:
        abort(404, description=f"No session {session_id} is stored.")
    tz = s.config.TIMEZONE
    now = time.time()
    row["started"] = format_time(row["ts"], tz)
    row["ended"] = format_time(row["end_ts"], tz) if row["end_ts"] else "still running"
    row["duration"] = format_duration_ms(((row["end_ts"] or now) - (row["ts"] or now)) * 1000)
    row["status"] = OUTCOME_STATUS.get(row["outcome"] if row["end_ts"] else None, "none")
    steps = queries.steps(s.store, session_id)
    for step in steps:
        step["started"] = format_time(step["start_ts"], tz) if step["start_ts"] else "—"
        step["duration"] = format_duration_ms((step["end_ts"] - step["start_ts"]) * 1000) \
            if step["start_ts"] and step["end_ts"] else "—"
        step["status"] = "ok" if step["outcome"] == "ok" else "failure"
    marks = queries.marks(s.store, session_id)
    return render_template("heron/session.html", title=f"Session {row['name'] or ''}",
                           s=row, steps=steps, notes=marks["note"],
                           crash_reports=marks["crash_report"])


@route("/api/sessions/<session_id>")
@login_required
def api_session(session_id: str) -> Response:
    """Resources and the log lines after ``after`` (a seq), for the page's live view."""
    s = state()
    row = queries.session(s.store, session_id)
    if row is None:
        return jsonify(error="no such session"), 404  # type: ignore[return-value]
    after = int_arg(request.args, "after", 0)
    lines: list[dict[str, Any]] = queries.log_lines(s.store, session_id, after=after)
    tz = s.config.TIMEZONE
    for line in lines:
        line["time"] = format_time(line["ts"], tz)
    return jsonify(running=row["end_ts"] is None, outcome=row["outcome"],
                   resources=queries.resources(s.store, session_id), log=lines,
                   timezone=tz)


dashboard_tabs.insert_tab_after_route(DashboardTab("Sessions", "dashboard.dashboard_sessions"),
                                      "runs")
