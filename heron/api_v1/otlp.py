"""``POST /v1/traces``, ``/v1/logs`` and ``/v1/metrics``: OTLP over HTTP into the store
(:mod:`heron.otlp`), for any OpenTelemetry SDK or Collector.

* Authorization: ``Bearer <INGEST_TOKEN>`` (an SDK sends it with
  ``OTEL_EXPORTER_OTLP_HEADERS="Authorization=Bearer <token>"``).
* Body: protobuf (``application/x-protobuf``) or OTLP/JSON (``application/json``),
  ``Content-Encoding: gzip`` accepted. The answer is the signal's ``Export…Response``
  in the same encoding.
* 200 when the request was read. Items that made no valid event are counted in the
  response's ``partial_success`` (``rejected_spans``, ``rejected_log_records``,
  ``rejected_data_points``), with the first reasons in its ``error_message``. Everything
  else is stored once: a retried export stores nothing twice.
* 400 for a body that is not the signal's OTLP request, 401 without the right token, 413
  over the body or batch limits, 415 for another content type or encoding, and 503 when
  the store cannot be written now. An SDK retries a 503 and drops on a 4xx.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from flask import Blueprint, jsonify, request
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from heron.api_v1 import json_error
from heron.api_v1.bearer import bearer_token
from heron.api_v1.ingest import (
    BatchNote,
    StoreUnavailable,
    read_body,
    store_all,
    unavailable,
)
from heron.auth.tokens import check_ingest_token
from heron.dashboard.state import state
from heron.events import parse_items
from heron.otlp.decode import OtlpError, UnsupportedType, decode, encode_response, media_type
from heron.otlp.logs import records_of_logs
from heron.otlp.metrics import events_of_metrics
from heron.otlp.traces import events_of_traces

#: Reasons quoted in a partial success's error_message, at most.
REASONS = 5

Pairs = list[tuple[int, dict[str, Any]]]


def create_blueprint() -> Blueprint:
    bp = Blueprint("otlp", __name__, url_prefix="/v1")
    bp.add_url_rule("/traces", "traces", post_traces, methods=["POST"])
    bp.add_url_rule("/logs", "logs", post_logs, methods=["POST"])
    bp.add_url_rule("/metrics", "metrics", post_metrics, methods=["POST"])
    bp.register_error_handler(HTTPException, json_error)
    return bp


def post_traces() -> tuple[Response, int]:
    return _export(trace_service_pb2.ExportTraceServiceRequest, events_of_traces,
                   trace_service_pb2.ExportTraceServiceResponse, "rejected_spans")


def post_metrics() -> tuple[Response, int]:
    return _export(metrics_service_pb2.ExportMetricsServiceRequest, events_of_metrics,
                   metrics_service_pb2.ExportMetricsServiceResponse, "rejected_data_points")


def post_logs() -> tuple[Response, int]:
    return _export(logs_service_pb2.ExportLogsServiceRequest, _linked_logs,
                   logs_service_pb2.ExportLogsServiceResponse, "rejected_log_records")


def _linked_logs(message: Any) -> tuple[Pairs, list[str]]:
    """Log lines, each written inside a span linked to it as request and run alike: a
    span is exported when it ends, after the lines written inside it, so which of the two
    it is cannot be known yet. The Logs page links such a line to ``/logs/span/<key>``,
    which finds it (:func:`heron.dashboard.views.logs.span_link`); the request's and the
    run's pages list the line either way."""
    records, problems = records_of_logs(message)
    pairs: Pairs = []
    for index, event, key in records:
        if key is not None:
            event["request_id"] = event["run_id"] = key
        pairs.append((index, event))
    return pairs, problems


def _export(request_type: type[Any], convert: Callable[[Any], tuple[Pairs, list[str]]],
            response_type: type[Any], rejected_field: str) -> tuple[Response, int]:
    s = state()
    if not check_ingest_token(s.store, s.config, bearer_token()):
        return jsonify(error="missing or wrong ingest token: send the header "
                             "'Authorization: Bearer <INGEST_TOKEN>'"), 401
    try:
        kind = media_type(request.content_type)
    except UnsupportedType as exc:
        return jsonify(error=str(exc)), 415
    started = time.perf_counter()
    body = read_body(s.config.MAX_BODY_BYTES)
    try:
        message = decode(body, kind, request_type)
    except OtlpError as exc:
        return jsonify(error=str(exc)), 400
    pairs, problems = convert(message)
    rejected = len(problems)
    events, positions, bad = parse_items([item for _, item in pairs])
    origins = [pairs[position][0] for position in positions]
    refused: set[int] = set()
    for position, reason in bad:
        index = pairs[position][0]
        if index not in refused:
            refused.add(index)
            problems.append(f"item {index}: {reason}")
    if len(events) > s.config.MAX_BATCH_EVENTS:
        return jsonify(error=f"the request makes {len(events)} events, over the limit of "
                             f"{s.config.MAX_BATCH_EVENTS}; export smaller batches"), 413
    # items refused: those that made no event, and those with an event refused (a
    # service's own run start, -1, is not one of the request's items)
    before = rejected + len(refused - {-1})
    note = BatchNote("otlp", started, before)
    try:
        kept = store_all(s.store, events, note)
    except StoreUnavailable as exc:
        return unavailable(exc.__cause__ or exc)
    for position, reason in kept.set_aside:
        index = origins[position]
        if index not in refused:
            refused.add(index)
            problems.append(f"item {index}: the store refused it: {reason}")
    rejected += len(refused - {-1})
    note.finish(rejected - before)
    response = response_type()
    if rejected:
        setattr(response.partial_success, rejected_field, rejected)
        response.partial_success.error_message = "; ".join(problems[:REASONS])[:2000]
    data, content_type = encode_response(response, kind)
    return Response(data, content_type=content_type), 200

