"""Experiment database actions: ``POST /dashboard/database/action/<name>`` (admin, CSRF).

The body is JSON ``{"data": [{"id": ..., "object_type": "Participant"}, ...]}``. A name the
Experiment does not list answers 403; a listed name without a method, 404; otherwise the
method's result with ``"status": "success"``.
"""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.wrappers import Response

from heron.dashboard.routes import route
from heron.dashboard.security import admin_required
from heron.dashboard.state import state


@route("/database/action/<name>", methods=["POST"])
@admin_required
def database_action(name: str) -> tuple[Response, int]:
    experiment = state().extras["experiment"]
    listed = {a["name"] for a in experiment.dashboard_database_actions()}
    if name not in listed:
        return jsonify(status="error", message=f"{name} is not an action of this "
                                               "experiment"), 403
    method = getattr(experiment, name, None)
    if not callable(method):
        return jsonify(status="error", message=f"the experiment has no method {name}"), 404
    body = request.get_json(silent=True)
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return jsonify(status="error", message='send JSON {"data": [{"id": ..., '
                                               '"object_type": ...}, ...]}'), 400
    try:
        result = method(data)
    except ValueError as exc:
        return jsonify(status="error", message=str(exc)), 400
    return jsonify({"status": "success", **(result or {})}), 200
