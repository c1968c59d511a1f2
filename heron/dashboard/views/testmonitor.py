"""Test Monitor: a service's tests per build (from heron's pytest plugin): builds over time,
two builds compared (tests that got slower first), each test's outcomes, the endpoints the
tests cover and those live traffic uses that none does; one test across builds."""

from __future__ import annotations

import time
from typing import Any

from flask import abort, render_template, request

from heron.dashboard.formatting import format_ago, format_duration_ms, format_time
from heron.dashboard.registry import route
from heron.dashboard.security import login_required
from heron.dashboard.state import state
from heron.dashboard.tabs import DashboardTab, dashboard_tabs
from heron.dashboard.views.frame import WINDOWS, selected_app, selected_window
from heron.store.queries import testmonitor as queries
from heron.store.queries.web import window_sums

#: Outcome -> the status colour the dashboard shows it in.
STATUS = {"passed": "ok", "xfailed": "ok", "failed": "failure", "error": "failure",
          "xpassed": "warning", "skipped": "none"}
HISTORY = 20  # builds of outcome history per test on the tab


def _app(test_apps: list[str]) -> str | None:
    """The app chosen in the frame, else the one tested most recently."""
    return selected_app() or (test_apps[0] if test_apps else None)


def _ms(value: float | None) -> str:
    return "—" if value is None else format_duration_ms(value)


def _result_cell(r: dict[str, Any] | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {"median": _ms(r["duration_ms"]), "spread": _ms(queries.spread(r)),
            "runs": len(r["durations_ms"]), "outcome": r["outcome"],
            "status": STATUS.get(r["outcome"], "none")}


@route("/tests")
@login_required
def dashboard_testmonitor() -> str:
    s = state()
    test_apps = queries.test_apps(s.store)
    app = _app(test_apps)
    builds = queries.results(s.store, app) if app else []
    tz = s.config.TIMEZONE
    now = time.time()
    if not builds:
        return render_template("heron/testmonitor.html", title="Test Monitor", app_id=app,
                               builds=[], test_apps=test_apps)
    summaries = [b for b, _ in builds]
    by_id = {b["build"]: tests for b, tests in builds}
    ids = [b["build"] for b in summaries]
    b_id = request.args.get("b") if request.args.get("b") in by_id else ids[-1]
    default_a = ids[ids.index(b_id) - 1] if ids.index(b_id) > 0 else b_id
    a_id = request.args.get("a") if request.args.get("a") in by_id else default_a
    compared = queries.compare(by_id[a_id], by_id[b_id])
    for row in compared:
        row["a_cell"], row["b_cell"] = _result_cell(row["a"]), _result_cell(row["b"])
        row["change_text"] = "—" if row["change"] is None else f"{row['change'] * 100:+.1f}%"
    latest = by_id[ids[-1]]
    recent = builds[-HISTORY:]
    tests = []
    for name, r in sorted(latest.items()):
        tests.append({
            "test_name": name, "suite": r["suite"], "cell": _result_cell(r),
            "history": [{"build": b["build"],
                         "outcome": (t.get(name) or {}).get("outcome", "not run"),
                         "status": STATUS.get((t.get(name) or {}).get("outcome", ""), "none")}
                        for b, t in recent],
            "endpoints": r["endpoints"]})
    since = now - WINDOWS[selected_window()][1]
    live = {key[0]: int(v[0]) for key, v in window_sums(s.store, app, since, now).items()}
    tested, untested = queries.coverage(latest, live)
    for row in summaries:
        row["started_text"] = format_time(row["started"], tz)
        row["started_ago"] = format_ago(row["started"], now)
        row["total_text"] = _ms(row["total_ms"])
        row["pass_text"] = "—" if row["pass_rate"] is None else f"{row['pass_rate'] * 100:.0f}%"
    chart = {"builds": ids, "tests": [b["tests"] for b in summaries],
             "pass_rate": [None if b["pass_rate"] is None else round(b["pass_rate"] * 100, 1)
                           for b in summaries],
             "total_s": [round(b["total_ms"] / 1000, 3) for b in summaries]}
    return render_template(
        "heron/testmonitor.html", title="Test Monitor", app_id=app,
        test_apps=test_apps, builds=list(reversed(summaries)), chart=chart,
        build_ids=ids, a_id=a_id, b_id=b_id, compared=compared,
        slower=sum(r["slower"] for r in compared), tests=tests, tested=tested,
        untested=untested, window_label=WINDOWS[selected_window()][0])


@route("/tests/test")
@login_required
def testmonitor_test() -> str:
    s = state()
    app = _app(queries.test_apps(s.store))
    name = request.args.get("name", "")
    rows = queries.history(s.store, app, name) if app and name else []
    if not rows:
        abort(404, description=f"No results of test {name!r} are stored for app {app!r}.")
    tz = s.config.TIMEZONE
    for row in rows:
        row["started_text"] = format_time(row["started"], tz)
        row["status"] = STATUS.get(row["outcome"], "none")
        row["median_text"], row["spread_text"] = _ms(row["median_ms"]), \
            _ms(row["max_ms"] - row["min_ms"])
    chart = {"builds": [r["build"] for r in rows],
             "median": [round(r["median_ms"], 3) for r in rows],
             "min": [round(r["min_ms"], 3) for r in rows],
             "max": [round(r["max_ms"], 3) for r in rows],
             "outcomes": [r["outcome"] for r in rows]}
    return render_template("heron/testmonitor_test.html", title=f"Test {name}", app_id=app,
                           test_name=name, rows=list(reversed(rows)), chart=chart)


dashboard_tabs.insert_tab_after_route(
    DashboardTab("Test Monitor", "dashboard.dashboard_testmonitor"), "endpoints")
