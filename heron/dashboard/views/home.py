"""Home: every monitored app with its event counts by kind and when it was last seen."""

from __future__ import annotations

import time
from dataclasses import asdict
from typing import Any

from flask import jsonify, render_template
from werkzeug.wrappers import Response

from heron.dashboard.formatting import format_ago, format_clock, format_time
from heron.dashboard.registry import route
from heron.dashboard.security import login_required
from heron.dashboard.state import state
from heron.dashboard.tabs import DashboardTab, dashboard_tabs
from heron.dashboard.views.frame import WINDOWS, selected_app, selected_window
from heron.store.queries.apps import app_summaries, events_per_bucket, recent_events

LIVE_SECONDS = 60
IDLE_SECONDS = 3600


def _health(last: float | None, now: float) -> str:
    if last is None:
        return "none"
    age = now - last
    return "live" if age < LIVE_SECONDS else "idle" if age < IDLE_SECONDS else "quiet"


def home_data() -> dict[str, Any]:
    s = state()
    now = time.time()
    tz = s.config.TIMEZONE
    app = selected_app()
    apps = []
    for summary in app_summaries(s.store, app):
        item = asdict(summary)
        item["health"] = _health(summary.last_received_at, now)
        item["last_seen"] = format_time(summary.last_received_at, tz)
        item["last_seen_ago"] = format_ago(summary.last_received_at, now)
        apps.append(item)
    recent = []
    for event in recent_events(s.store, app, limit=RECENT_ROWS):
        event["time"] = format_time(event["ts"], tz)
        event["clock"] = format_clock(event["ts"], tz)
        recent.append(event)
    window = selected_window()
    return {
        "now": now,
        "timezone": tz,
        "apps": apps,
        "recent": recent,
        "chart": events_per_bucket(s.store, WINDOWS[window][1], app, now),
        "window": window,
    }


#: Latest events on the home page: as many as fit beside the chart, none of them cut off.
RECENT_ROWS = 10


@route("/")
@route("/index")
@login_required
def dashboard_index() -> str:
    return render_template("heron/home.html", title="Apps", data=home_data())


@route("/api/home")
@login_required
def api_home() -> Response:
    return jsonify(home_data())


dashboard_tabs.insert_tab(DashboardTab("Apps", "dashboard.dashboard_index"), 0)
