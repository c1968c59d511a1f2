"""Spans into heron's events: requests, runs, exports and exceptions.

* A **server span with an HTTP method** (``http.request.method``, or the older
  ``http.method``) is a request of the app ``service.name``. Its fields come from:
  - the endpoint: ``http.route``, else ``<unmatched>``;
  - the status: ``http.response.status_code`` or ``http.status_code``;
  - the client's address: ``client.address`` or ``net.peer.ip``;
  - the user: ``enduser.id``.

  Its id is ``<trace id>.<span id>``, the key logs link to.
* **Any other span** is a run. Its class is the span's name, its dimensions the span's
  attributes, and a span with a parent is a sub-run of the parent's run. The run id is
  ``<trace id>.<span id>`` too. Its numeric attributes are one export at its end, and each
  span event one export at the event's time. It ends ``error`` when the span's status is
  ERROR.
* **An ``exception`` event** on any span is an exception (of the request, for a server
  span), from the span event's ``exception.*`` attributes.

Items are dicts of events (``kind`` included), validated by the caller like the events of
``/api/v1/events``; each is paired with the index of the span it came from, so a span whose
events are refused is counted once.
"""

from __future__ import annotations

import hashlib
import math
import re
from typing import Any

from heron.events import UNMATCHED
from heron.otlp.decode import hex_id
from heron.otlp.values import (
    any_value,
    as_dimension,
    attributes,
    content_id,
    seconds,
    service_of,
)

SERVER = 2  # Span.SpanKind.SPAN_KIND_SERVER
STATUS_ERROR = 2  # Status.StatusCode.STATUS_CODE_ERROR
_DIGITS = re.compile(r"\d+")


def run_key(trace_id: bytes, span_id: bytes) -> str:
    """The request id or run id of a span (and of the log records written inside it):
    ``<trace id>.<span id>``. Every span of a trace shares the prefix, as heron's sub-runs
    share their root's (``root.sub``), so a run's page shows the spans under it."""
    return f"{trace_id.hex()}.{span_id.hex()}"


def events_of_traces(message: Any) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    """The events of an ``ExportTraceServiceRequest``: ``(span index, event)`` pairs, and
    what was wrong with the spans that made none."""
    out: list[tuple[int, dict[str, Any]]] = []
    problems: list[str] = []
    index = -1
    for resource_spans in message.resource_spans:
        app, version, _ = service_of(resource_spans.resource)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                index += 1
                if not any(span.trace_id) or not any(span.span_id):
                    problems.append(f"span {index} has no trace id or span id")
                    continue
                out.extend((index, event) for event in _span_events(span, app, version))
    return out, problems


#: What a request keeps of a server span's attributes. A request reads only these: most
#: spans of a service are its requests, and each attribute read costs 0.3 µs or more.
REQUEST_KEYS = frozenset({"http.request.method", "http.method", "http.route",
                          "http.response.status_code", "http.status_code", "client.address",
                          "net.peer.ip", "enduser.id"})


def _request_attributes(pairs: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kv in pairs:
        key = kv.key
        if key in REQUEST_KEYS:
            out[key] = any_value(kv.value)
    return out


def _span_events(span: Any, app: str, version: str | None) -> list[dict[str, Any]]:
    key = run_key(span.trace_id, span.span_id)
    attrs = _request_attributes(span.attributes) if span.kind == SERVER else {}
    method = attrs.get("http.request.method", attrs.get("http.method"))
    is_request = method is not None
    if not is_request:
        attrs = attributes(span.attributes)
    start, end = span.start_time_unix_nano / 1e9, span.end_time_unix_nano / 1e9
    end = max(end, start)
    events: list[dict[str, Any]] = []
    route = attrs.get("http.route")
    endpoint = str(route)[:500] if route not in (None, "") else UNMATCHED
    if is_request:
        events.append(_request(span, key, app, version, attrs, start, end, endpoint,
                               str(method)))
    else:
        events.extend(_run(span, key, app, attrs, start, end))
    for number, span_event in enumerate(span.events):
        event_attrs = attributes(span_event.attributes)
        at = seconds(span_event.time_unix_nano) or end
        if span_event.name == "exception":
            events.append(_exception(key, number, app, at, event_attrs,
                                     endpoint if is_request else None,
                                     key if is_request else None))
        elif not is_request:
            events.append({
                "kind": "export", "id": content_id("rv:", key, number, span_event.name,
                                                   span_event.time_unix_nano),
                "app": app, "ts": at, "run_id": key,
                "metrics": _numbers(event_attrs),
                "dimensions": {"event": span_event.name[:500], **{
                    k: as_dimension(v) for k, v in event_attrs.items()
                    if not _is_number(v)}}})
    if not is_request:
        errors = [e for e in span.events if e.name == "exception"]
        error_type = None
        if errors:
            error_type = attributes(errors[0].attributes).get("exception.type")
        failed = span.status.code == STATUS_ERROR
        events.append({
            "kind": "run_end", "id": content_id("re:", key), "app": app, "ts": end,
            "run_id": key, "outcome": "error" if failed else "ok",
            "error_type": None if not failed or error_type is None else str(error_type),
            "error_message": (span.status.message or None) if failed else None})
    return events


def _request(span: Any, key: str, app: str, version: str | None, attrs: dict[str, Any],
             start: float, end: float, endpoint: str, method: str) -> dict[str, Any]:
    status = attrs.get("http.response.status_code", attrs.get("http.status_code"))
    try:
        status = int(status)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        status = 500 if span.status.code == STATUS_ERROR else 200
    ip = attrs.get("client.address", attrs.get("net.peer.ip"))
    user = attrs.get("enduser.id")
    return {
        "kind": "request", "id": key, "app": app, "ts": start, "endpoint": endpoint,
        "method": method.upper()[:16], "status": status if 0 <= status <= 999 else 500,
        "duration_ms": (end - start) * 1000, "version": version,
        "ip": None if ip is None else str(ip)[:64],
        "group_by": None if user is None else str(user)[:500]}


def _run(span: Any, key: str, app: str, attrs: dict[str, Any], start: float,
         end: float) -> list[dict[str, Any]]:
    parent = run_key(span.trace_id, span.parent_span_id) if any(span.parent_span_id) \
        else None
    events: list[dict[str, Any]] = [{
        "kind": "run_start", "id": content_id("rs:", key), "app": app, "ts": start,
        "run_id": key, "run_class": span.name[:500] or "span", "parent_id": parent,
        "dimensions": {**attrs, "otel.trace_id": hex_id(span.trace_id)}}]
    numbers = _numbers(attrs)
    if numbers:
        events.append({"kind": "export", "id": content_id("ra:", key), "app": app,
                       "ts": end, "run_id": key, "metrics": numbers})
    return events


def _exception(key: str, number: int, app: str, at: float, attrs: dict[str, Any],
               endpoint: str | None, request_id: str | None) -> dict[str, Any]:
    kind = str(attrs.get("exception.type") or "Exception")[:500]
    stack = str(attrs.get("exception.stacktrace") or "")
    # the type and the stack without its numbers (line numbers, addresses): the same
    # error from the same place is one group, whatever moved around it
    shape = kind + "|" + _DIGITS.sub("", stack[-4000:])
    return {
        "kind": "exception", "id": content_id("rx:", key, number, at), "app": app,
        "ts": at, "endpoint": endpoint, "request_id": request_id, "type": kind,
        "message": str(attrs.get("exception.message") or "")[:10_000],
        "stack": stack[-200_000:],
        "fingerprint": hashlib.sha1(shape.encode("utf-8", "replace"),
                                    usedforsecurity=False).hexdigest()[:32]}


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _numbers(attrs: dict[str, Any]) -> dict[str, float]:
    return {k: float(v) for k, v in attrs.items()
            if _is_number(v) and math.isfinite(v) and abs(v) < 1e300}
