"""``/api/v1``: the ingest and export APIs of a heron server (JSON in, JSON out)."""

from __future__ import annotations

from flask import Blueprint, jsonify
from werkzeug.exceptions import HTTPException


def create_blueprint() -> Blueprint:
    from heron.api_v1 import endpoints, export, ingest, logs, summary

    bp = Blueprint("api_v1", __name__, url_prefix="/api/v1")
    bp.add_url_rule("/events", "events", ingest.post_events, methods=["POST"])
    bp.add_url_rule("/export/<kind>", "export", export.get_export, methods=["GET"])
    bp.add_url_rule("/summary", "summary", summary.get_summary, methods=["GET"])
    bp.add_url_rule("/apps", "apps", summary.get_apps, methods=["GET"])
    bp.add_url_rule("/logs", "logs", logs.get_logs, methods=["GET"])
    bp.add_url_rule("/endpoints", "endpoints", endpoints.get_endpoints, methods=["GET"])
    bp.register_error_handler(HTTPException, json_error)
    return bp


def export_blueprint(prefix: str) -> Blueprint:
    """The token export (``/dashboard/api/v1/export/<kind>``, where Flask-MonitoringDashboard
    serves it) and Prometheus' ``/dashboard/metrics`` under the dashboard's prefix: a bound
    app has no ``/api/v1`` or ``/metrics`` of heron's (its own paths stay its own), so its
    dashboard answers there."""
    from heron.api_v1 import export, metrics

    bp = Blueprint("dashboard_export_api", __name__, url_prefix=prefix)
    bp.add_url_rule("/api/v1/export/<kind>", "export", export.get_export, methods=["GET"])
    bp.add_url_rule("/metrics", "metrics", metrics.get_metrics, methods=["GET"])
    bp.register_error_handler(HTTPException, json_error)
    return bp


def json_error(error: HTTPException):  # type: ignore[no-untyped-def]
    """Every API answers its errors as JSON (``{"error": ...}``), OTLP's too."""
    return jsonify(error=error.description or error.name), error.code or 500
