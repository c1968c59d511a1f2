"""Logs: search every app's log lines, newest first, and follow new ones live.

The search lives in the URL (``?q=…&level=…&since=…``), so a link, a saved search and an
alert's message all open the same lines. The page draws lines from JSON with text nodes
only; a log line can never become markup. New lines arrive by server-sent events: the
stream checks once a second whether lines matching the search came in, and the page then
fetches them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Response as FlaskResponse
from flask import flash, jsonify, redirect, render_template, request, stream_with_context, url_for
from werkzeug.wrappers import Response

from heron.dashboard.formatting import format_time
from heron.dashboard.params import MAX_INT, int_arg
from heron.dashboard.registry import route
from heron.dashboard.security import admin_required, current_user, login_required
from heron.dashboard.state import state
from heron.dashboard.tabs import DashboardTab, dashboard_tabs
from heron.logs.query import QueryError, level_name
from heron.logs.search import PARAMS, from_params
from heron.store.queries import alerts as store_alerts
from heron.store.queries import logs as queries

STREAM_SECONDS = 30.0
STREAM_TICK = 1.0
SINCE_CHOICES = (("", "any time"), ("15m", "last 15 minutes"), ("1h", "last hour"),
                 ("24h", "last 24 hours"), ("7d", "last 7 days"), ("30d", "last 30 days"))
LEVEL_CHOICES = (("", "any level"), ("debug", "debug and above"), ("info", "info and above"),
                 ("warning", "warning and above"), ("error", "error and above"),
                 ("critical", "critical"))


def _search_args() -> dict[str, str]:
    args = {k: request.args.get(k, "") for k in PARAMS}
    if not args["since"] and request.args.get("window"):  # the top bar's time window
        args["since"] = request.args["window"]
    return args


@route("/logs")
@login_required
def dashboard_logs() -> str:
    args = _search_args()
    error = None
    notes: tuple[str, ...] = ()
    try:
        notes = from_params(args).query.notes
    except QueryError as exc:
        error = str(exc)
    return render_template(
        "heron/logs.html", title="Logs", args=args, error=error, notes=notes,
        since_choices=SINCE_CHOICES, level_choices=LEVEL_CHOICES,
        saved=store_alerts.saved_searches(state().store),
        search_query=_query_string(args))


def _query_string(args: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode({k: v for k, v in args.items() if v})


def _rows(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    tz = state().config.TIMEZONE
    out = []
    for r in rows:
        out.append({
            "seq": r["seq"], "ts": r["ts"], "time": format_time(r["ts"], tz),
            "level": r["level"], "level_name": level_name(r["level"]), "app": r["app"],
            "logger": r["logger"], "message": r["message"], "exc_text": r["exc_text"],
            "pathname": r["pathname"], "lineno": r["lineno"], "thread": r["thread"],
            "run_id": r["run_id"], "session_id": r["session_id"],
            "request_id": r["request_id"], "extra": r["extra"] or {}})
    return out


@route("/api/logs")
@login_required
def api_logs() -> tuple[Response, int]:
    """A page of matching lines: newest first, or (``after``) the new ones oldest first."""
    try:
        search = from_params(_search_args())
        before = int_arg(request.args, "before")
        after = int_arg(request.args, "after")
        limit = min(queries.MAX_PAGE, max(1, int_arg(request.args, "limit", queries.PAGE,
                                                      low=-MAX_INT)))
        rows = queries.search(state().store, search.query, search.where, before=before,
                              after=after, limit=limit, oldest_first=after is not None)
    except QueryError as exc:
        return jsonify(error=str(exc)), 400
    newest = queries.newest_seq(state().store)
    return jsonify(lines=_rows(rows), notes=list(search.query.notes), newest=newest,
                   more=len(rows) == limit and after is None), 200


@route("/api/logs/stream")
@login_required
def api_logs_stream() -> FlaskResponse:
    """Server-sent events: ``change`` when lines matching the search arrived after the
    ``after`` seq the page has."""
    try:
        search = from_params(_search_args())
    except QueryError as exc:
        return FlaskResponse(f"{exc}\n", status=400, mimetype="text/plain")
    heron_state = state()
    store, closing = heron_state.store, heron_state.closing
    seen = int_arg(request.args, "after")

    def events() -> Iterator[str]:
        checked = seen if seen is not None else queries.newest_seq(store)
        yield "retry: 2000\n\n"
        deadline = time.monotonic() + STREAM_SECONDS
        while time.monotonic() < deadline and not closing.is_set():
            newest = queries.newest_seq(store)
            found = False
            if newest > checked:
                found = bool(queries.search(store, search.query, search.where, after=checked,
                                            before=newest + 1, limit=1, oldest_first=True))
                checked = newest
            if found:
                yield f"event: change\ndata: {json.dumps({'newest': newest})}\n\n"
            else:
                yield ": still here\n\n"
            if closing.wait(STREAM_TICK):
                return

    return FlaskResponse(stream_with_context(events()), mimetype="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@route("/logs/span/<path:key>")
@login_required
def span_link(key: str) -> Response:
    """Where a line written inside an OpenTelemetry span leads (:mod:`heron.otlp.logs`):
    the span's run if it is one, else its request (which also lists every line of it)."""
    from heron.store.queries.runs import run_tree

    if run_tree(state().store, key) is not None:
        return redirect(url_for("dashboard.run_page", run_id=key))
    return redirect(url_for("dashboard.request_page", request_id=key))


@route("/logs/save", methods=["POST"])
@admin_required
def logs_save() -> Response:
    """Save the search in the form under a name (a name used before is replaced)."""
    form = request.form
    params = {k: form.get(k, "").strip() for k in PARAMS if form.get(k, "").strip()}
    try:
        from_params(params)
        store_alerts.save_search(state().store, form.get("name", ""), params,
                                 getattr(current_user(), "username", None))
        flash(f"Saved the search {form.get('name', '').strip()!r}.", "success")
    except (QueryError, store_alerts.AlertStoreError) as exc:
        flash(f"Could not save the search: {exc}", "danger")
    return redirect(url_for("dashboard.dashboard_logs", **params))


@route("/logs/saved/<int:seq>/delete", methods=["POST"])
@admin_required
def logs_saved_delete(seq: int) -> Response:
    try:
        store_alerts.delete_saved_search(state().store, seq)
        flash("Deleted the saved search.", "success")
    except store_alerts.AlertStoreError as exc:
        flash(f"Could not delete the saved search: {exc}", "danger")
    return redirect(url_for("dashboard.dashboard_alerts"))


@route("/logs/saved/<int:seq>")
@login_required
def logs_saved_open(seq: int) -> Response:
    saved = store_alerts.saved_search(state().store, seq)
    if saved is None:
        flash("That saved search no longer exists.", "warning")
        return redirect(url_for("dashboard.dashboard_logs"))
    return redirect(url_for("dashboard.dashboard_logs", q=saved["query"] or None,
                            **{k: v for k, v in (saved["filters"] or {}).items() if v}))


dashboard_tabs.insert_tab_after_route(DashboardTab("Logs", "dashboard.dashboard_logs"),
                                      "sessions")
