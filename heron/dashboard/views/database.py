"""Database: an experiment's records, paged on the server, exported whole, acted upon.

Actions: ``POST /dashboard/database/action/<name>`` (admin, CSRF).

The body is JSON ``{"data": [{"id": ..., "object_type": "Participant"}, ...]}``. A name the
Experiment does not list answers 403; a listed name without a method, 404; otherwise the
method's result with ``"status": "success"``.
"""

from __future__ import annotations

import csv
import io
import json

from flask import Response as FlaskResponse
from flask import current_app, jsonify, render_template, request, stream_with_context, url_for
from werkzeug.wrappers import Response

from heron.dashboard.formatting import TIME_COLUMNS, format_time
from heron.dashboard.params import int_arg
from heron.dashboard.registry import route
from heron.dashboard.security import admin_required, current_user, login_required
from heron.dashboard.state import state
from heron.dashboard.tabs import DashboardTab, dashboard_tabs
from heron.downloads import content_disposition, csv_cell
from heron.experiment.scrub import scrub_rows, wants_raw
from heron.store.queries.experiment import TABLES


@route("/database/action/<name>", methods=["POST"])
@admin_required
def database_action(name: str) -> tuple[Response, int]:
    body = request.get_json(silent=True)
    experiment = _experiment(body.get("app") if isinstance(body, dict) else None)
    if experiment is None:
        return jsonify(status="error", message="no experiment app: pass \"app\""), 400
    listed = {a["name"] for a in experiment.dashboard_database_actions()}
    if name not in listed:
        return jsonify(status="error", message=f"{name} is not an action of this "
                                               "experiment"), 403
    method = getattr(experiment, name, None)
    if not callable(method):
        return jsonify(status="error", message=f"the experiment has no method {name}"), 404
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return jsonify(status="error", message='send JSON {"data": [{"id": ..., '
                                               '"object_type": ...}, ...]}'), 400
    try:
        result = method(data)
    except ValueError as exc:
        return jsonify(status="error", message=str(exc)), 400
    return jsonify({"status": "success", **(result or {})}), 200


# --------------------------------------------------------------------------- the page

EXPORT_CHUNK = 5_000
FIRST_DATA_COLUMN = 2


def _experiment(requested: str | None = None):  # type: ignore[no-untyped-def]
    """The registered Experiment; without an app of its own, over the app asked for (the
    top bar's selector), else the first app that has participants."""
    from heron.store.queries.participants import all_summaries

    experiment = state().extras["experiment"]
    if experiment.app is not None:
        return experiment
    app = requested or request.args.get("app")
    if not app:
        with_participants = [s.app for s in all_summaries(state().store) if s.total]
        app = with_participants[0] if with_participants else None
    return experiment.for_app(app) if app else None


def _table_arg() -> str:
    table = request.args.get("table", "participant")
    return table if table in TABLES else "participant"


def _filters() -> dict[str, str]:
    return {k[4:]: v for k, v in request.args.items() if k.startswith("col.") and v != ""}


@route("/database")
@login_required
def dashboard_database() -> str:
    experiment = _experiment()
    if experiment is None:
        return render_template("heron/database.html", title="Database", table=None,
                               counts={}, columns=[], actions=[], experiment_app=None)
    counts = {t: experiment.table_data(t, length=0)["total_count"] for t in TABLES}
    table = _table_arg()
    columns = [c["data"] for c in experiment.table_data(table, length=0)["columns"]]
    user = current_user()
    actions = experiment.dashboard_database_actions() if user and user.is_admin else []
    return render_template("heron/database.html", title="Database", table=table,
                           counts=counts, columns=columns, actions=actions,
                           experiment_app=experiment.app)


@route("/api/database")
@login_required
def api_database() -> tuple[Response, int]:
    args = request.args
    table = _table_arg()
    experiment = _experiment()
    if experiment is None:
        return jsonify(error="no experiment app yet"), 404
    names = [c["data"] for c in experiment.table_data(table, length=0)["columns"]]
    filters = {}
    # column 0 is the selection box, column 1 the links; the table's columns follow
    for index, name in enumerate(names):
        value = args.get(f"columns[{index + FIRST_DATA_COLUMN}][search][value]", "")
        if value:
            filters[name] = value
    order_index = int_arg(args, "order[0][column]")
    position = (order_index - FIRST_DATA_COLUMN) if order_index is not None else -1
    order = names[position] if 0 <= position < len(names) else None
    try:
        page = experiment.table_data(
            table, start=int_arg(args, "start", 0),
            length=min(int_arg(args, "length", 25, low=-1) or 0, 1000),
            search_value=args.get("search[value]", ""), order_column=order,
            order_dir="desc" if args.get("order[0][dir]") == "desc" else "asc",
            column_filters=filters)
    except ValueError as exc:
        return jsonify(error=str(exc)), 400
    tz = state().config.TIMEZONE
    logs = "dashboard.dashboard_logs" in current_app.view_functions
    user = current_user()
    if user is None or not user.is_admin:  # guests never see who the participants are
        page["data"] = scrub_rows(state().store, table, page["data"], experiment.app)
    for row in page["data"]:
        # what the grid shows beside the raw values: times in TIMEZONE, links to the record
        row["_time"] = {c: format_time(row[c], tz) for c in TIME_COLUMNS
                        if row.get(c) is not None}
        object_type, ident = row.get("object_type", table.capitalize()), row.get(f"{table}_id")
        links = {"graph": url_for("dashboard.monitoring_locate", object_type=object_type,
                                  obj_id=str(ident), app=experiment.app)}
        if logs:
            links["logs"] = url_for("dashboard.dashboard_logs", app=experiment.app,
                                    q=str(ident))
        row["_links"] = links
    return jsonify(draw=int_arg(args, "draw", 0), recordsTotal=page["total_count"],
                   recordsFiltered=page["filtered_count"], data=page["data"]), 200


@route("/api/database/export")
@login_required
def api_database_export() -> FlaskResponse:
    """The whole filtered result (not just the page on screen), as CSV or JSON lines."""
    table = _table_arg()
    fmt = "json" if request.args.get("format") == "json" else "csv"
    experiment = _experiment()
    if experiment is None:
        return FlaskResponse("no experiment app yet\n", status=404, mimetype="text/plain")
    search, filters = request.args.get("search", ""), _filters()
    user = current_user()
    # scrubbed unless an admin asks for the ids (scrub=false); guests always get it scrubbed
    scrub = not (user is not None and user.is_admin and wants_raw(request.args.get("scrub")))
    store = state().store

    def rows():  # type: ignore[no-untyped-def]
        start = 0
        while True:
            page = experiment.table_data(table, start=start, length=EXPORT_CHUNK,
                                         search_value=search, column_filters=filters)
            yield from (scrub_rows(store, table, page["data"], experiment.app) if scrub
                        else page["data"])
            if len(page["data"]) < EXPORT_CHUNK:
                return
            start += EXPORT_CHUNK

    def generate():  # type: ignore[no-untyped-def]
        header = None
        for row in rows():
            row.pop("object_type", None)
            if fmt == "json":
                yield json.dumps(row, default=str) + "\n"
                continue
            buffer = io.StringIO()
            writer = csv.writer(buffer)
            if header is None:
                header = list(row)
                writer.writerow(header)
            writer.writerow(csv_cell(row[k]) for k in header)
            yield buffer.getvalue()

    name = f"{experiment.app}-{table}.{'jsonl' if fmt == 'json' else 'csv'}"
    return FlaskResponse(stream_with_context(generate()),
                         mimetype="application/x-ndjson" if fmt == "json" else "text/csv",
                         headers={"Content-Disposition": content_disposition(name)})


dashboard_tabs.insert_tab_after_route(DashboardTab("Database", "dashboard.dashboard_database"),
                                      "runs")
