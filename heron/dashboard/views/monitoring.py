"""Monitoring: the experiment's panels and its live network graph (vis-network).

The page learns of changes from a server-sent event stream (``/api/network_structure/
stream``): one cheap read of ingest's counters a second on the server, and a reload of the
graph only when something changed. Each stream ends after ``STREAM_SECONDS`` and the browser
reconnects, so a closed tab never holds a server thread for long.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

from flask import Response as FlaskResponse
from flask import jsonify, redirect, render_template, request, stream_with_context, url_for
from markupsafe import Markup, escape
from werkzeug.wrappers import Response

from heron.dashboard.params import MAX_INT, int_arg
from heron.dashboard.registry import route
from heron.dashboard.security import login_required
from heron.dashboard.state import state
from heron.dashboard.tabs import DashboardTab, dashboard_tabs
from heron.dashboard.views.database import _experiment
from heron.store.queries.experiment import OBJECT_TYPES, SORTS, change_mark, locate_network

STREAM_SECONDS = 30.0
STREAM_TICK = 1.0


@route("/monitoring")
@login_required
def dashboard_monitoring() -> str:
    experiment = _experiment()
    if experiment is None:
        return render_template("heron/monitoring.html", title="Monitoring", panels=None,
                               roles=[], experiment_app=None, options={})
    kwargs = request.args.to_dict(flat=False)  # lists, as Dallinger passes them
    panels = _as_html(experiment.monitoring_panels(**kwargs))
    structure = experiment.network_structure(collapsed=True)
    roles = sorted({n["role"] for n in structure["networks"]})
    start = {name: request.args.get(name, "") for name in ("search", "participant", "focus",
                                                           "expand")}
    return render_template("heron/monitoring.html", title="Monitoring", panels=panels,
                           roles=roles, experiment_app=experiment.app, start=start,
                           options=experiment.node_visualization_options())


@route("/api/network_structure")
@login_required
def api_network_structure() -> Response:
    experiment = _experiment()
    if experiment is None:
        return jsonify(error="no experiment app yet"), 404  # type: ignore[return-value]
    args = request.args
    sort = args.get("sort", "id")
    top = int_arg(args, "top", low=-MAX_INT)
    if sort not in SORTS:
        return jsonify(error=f"sort must be one of {', '.join(SORTS)}"), 400  # type: ignore[return-value]
    if top is not None and top < 1:
        return jsonify(error="top must be a positive number"), 400  # type: ignore[return-value]
    data = experiment.network_structure(
        network_roles=args.getlist("network_roles") or None,
        network_ids=args.getlist("network_ids") or None,
        collapsed=args.get("collapsed") in ("1", "true"),
        include_failed=args.get("failed", "1") in ("1", "true"),
        search=args.get("search") or None, sort=sort, top=top,
        expand=args.getlist("expand") or None,
        participant_id=args.get("participant") or None)
    return jsonify(data)


@route("/api/network_structure/stream")
@login_required
def api_network_stream() -> FlaskResponse:
    """Server-sent events: ``change`` whenever the experiment's records change."""
    experiment = _experiment()
    if experiment is None:
        return FlaskResponse("no experiment app yet\n", status=404, mimetype="text/plain")
    heron_state = state()
    store, app, closing = heron_state.store, str(experiment.app), heron_state.closing

    def events() -> Iterator[str]:
        yield "retry: 2000\n\n"
        last = None
        deadline = time.monotonic() + STREAM_SECONDS
        while time.monotonic() < deadline and not closing.is_set():
            mark = change_mark(store, app)
            if mark != last:
                last = mark
                yield f"event: change\ndata: {json.dumps({'events': mark[0]})}\n\n"
            else:
                yield ": still here\n\n"  # lets the server notice a closed tab
            if closing.wait(STREAM_TICK):
                return

    return FlaskResponse(stream_with_context(events()), mimetype="text/event-stream",
                         headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@route("/monitoring/locate/<object_type>/<obj_id>")
@login_required
def monitoring_locate(object_type: str, obj_id: str) -> Response:
    """Open the graph at one record: its network opened and found, the record selected."""
    experiment = _experiment()
    if experiment is None or object_type not in OBJECT_TYPES:
        return FlaskResponse("Unknown object.\n", status=404, mimetype="text/plain")
    params: dict[str, str] = {"app": str(experiment.app), "focus": f"{object_type}:{obj_id}"}
    if object_type == "Participant":
        params["participant"] = obj_id
    else:
        network_id = locate_network(state().store, str(experiment.app), object_type, obj_id)
        if network_id is not None:
            params.update(search=network_id, expand=network_id)
    return redirect(url_for("dashboard.dashboard_monitoring", **params))


@route("/node_details/<object_type>/<obj_id>")
@login_required
def node_details(object_type: str, obj_id: str) -> tuple[str, int]:
    experiment = _experiment()
    if experiment is None or object_type not in OBJECT_TYPES:
        return "<p>Unknown object.</p>", 404
    return str(experiment.node_visualization_html(object_type, obj_id)), 200


dashboard_tabs.insert_tab_after_route(
    DashboardTab("Monitoring", "dashboard.dashboard_monitoring"), "runs")


def _as_html(panels: Any) -> dict[str, Markup]:
    """Panel title → HTML. A string from the experiment's ``monitoring_panels`` is HTML,
    as Dallinger documents it ("a valid HTML string"): the experiment's code is trusted
    server code, as its views are. Titles, and anything that is not a string, are text."""
    out: dict[str, Markup] = {}
    for title, html in (panels or {}).items():
        out[str(title)] = html if isinstance(html, Markup) else \
            Markup(html) if isinstance(html, str) else escape(str(html))
    return out
