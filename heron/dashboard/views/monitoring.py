"""Monitoring: the experiment's panels and its live network graph (vis-network)."""

from __future__ import annotations

from flask import jsonify, render_template, request
from werkzeug.wrappers import Response

from heron.dashboard.routes import route
from heron.dashboard.security import login_required
from heron.dashboard.tabs import DashboardTab, dashboard_tabs
from heron.dashboard.views.database import _experiment
from heron.store.queries.experiment import OBJECT_TYPES


@route("/monitoring")
@login_required
def dashboard_monitoring() -> str:
    experiment = _experiment()
    if experiment is None:
        return render_template("heron/monitoring.html", title="Monitoring", panels=None,
                               roles=[], experiment_app=None, options={})
    kwargs = request.args.to_dict(flat=False)  # lists, as Dallinger passes them
    panels = experiment.monitoring_panels(**kwargs)
    structure = experiment.network_structure(collapsed=True)
    roles = sorted({n["role"] for n in structure["networks"]})
    return render_template("heron/monitoring.html", title="Monitoring", panels=panels,
                           roles=roles, experiment_app=experiment.app,
                           options=experiment.node_visualization_options())


@route("/api/network_structure")
@login_required
def api_network_structure() -> Response:
    experiment = _experiment()
    if experiment is None:
        return jsonify(error="no experiment app yet"), 404  # type: ignore[return-value]
    args = request.args
    data = experiment.network_structure(
        network_roles=args.getlist("network_roles") or None,
        network_ids=args.getlist("network_ids") or None,
        collapsed=args.get("collapsed") in ("1", "true"),
        include_failed=args.get("failed", "1") in ("1", "true"))
    return jsonify(data)


@route("/node_details/<object_type>/<obj_id>")
@login_required
def node_details(object_type: str, obj_id: str) -> tuple[str, int]:
    experiment = _experiment()
    if experiment is None or object_type not in OBJECT_TYPES:
        return "<p>Unknown object.</p>", 404
    return str(experiment.node_visualization_html(object_type, obj_id)), 200


dashboard_tabs.insert_tab_after_route(
    DashboardTab("Monitoring", "dashboard.dashboard_monitoring"), "runs")
