"""OTLP spans per second into ``heron serve``, against heron's own ingest of the same
requests, in the same run and on each store (issue 22: at least half of heron's rate).

One client posts batches of 1,000 over one kept-alive connection. It sends the same
requests twice. First they go as heron's own ``request`` events (JSON, ``POST
/api/v1/events``); then as OTLP server spans (protobuf, ``POST /v1/traces``) with
``http.route``, method and status attributes, of another app so that nothing is a
duplicate. Bodies are encoded before the clock starts, since a client's SDK encodes its
own. The server answers each batch once it is stored, so the rate is requests stored per
second. PostgreSQL: ``HERON_BENCH_POSTGRES_URL`` or the local test server.
"""

from __future__ import annotations

import http.client
import json
import os
import secrets
import tempfile
import time

from heron_server import heron_serve
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

REQUESTS = int(os.environ.get("HERON_BENCH_REQUESTS", "50000"))
BATCH = 1_000
TOKEN = "bench-token"
POSTGRES = os.environ.get("HERON_BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ROUTES = ["/items/{id}", "/basket", "/checkout", "/search", "/users/{id}"]


def own_batches(app: str, start: float) -> list[bytes]:
    """The requests as heron's own events, in JSON batches."""
    out = []
    for first in range(0, REQUESTS, BATCH):
        out.append(json.dumps([
            {"kind": "request", "id": f"{app}-{i}", "app": app, "ts": start + i * 1e-3,
             "endpoint": ROUTES[i % len(ROUTES)], "method": "GET", "status": 200,
             "duration_ms": 1.5 + i % 40, "version": "1.0"}
            for i in range(first, min(REQUESTS, first + BATCH))]).encode())
    return out


def otlp_batches(app: str, start: float) -> list[bytes]:
    """The same requests as OTLP server spans, in protobuf batches."""
    def attr(key: str, **value: object) -> common_pb2.KeyValue:
        return common_pb2.KeyValue(key=key, value=common_pb2.AnyValue(**value))

    trace = secrets.token_bytes(16)
    out = []
    for first in range(0, REQUESTS, BATCH):
        message = trace_service_pb2.ExportTraceServiceRequest()
        resource_spans = message.resource_spans.add()
        resource_spans.resource.attributes.extend([
            attr("service.name", string_value=app), attr("service.version", string_value="1.0")])
        spans = resource_spans.scope_spans.add().spans
        for i in range(first, min(REQUESTS, first + BATCH)):
            begin = int((start + i * 1e-3) * 1e9)
            spans.append(trace_pb2.Span(
                trace_id=trace, span_id=i.to_bytes(8, "big"), name="GET",
                kind=trace_pb2.Span.SPAN_KIND_SERVER, start_time_unix_nano=begin,
                end_time_unix_nano=begin + int((1.5 + i % 40) * 1e6),
                attributes=[attr("http.request.method", string_value="GET"),
                            attr("http.route", string_value=ROUTES[i % len(ROUTES)]),
                            attr("http.response.status_code", int_value=200),
                            attr("url.path", string_value=f"/items/{i}")]))
        out.append(message.SerializeToString())
    return out


def send(port: int, path: str, content_type: str, bodies: list[bytes]) -> float:
    """Post every body on one connection; requests stored per second."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=300)
    headers = {"Authorization": f"Bearer {TOKEN}", "Content-Type": content_type}
    started = time.perf_counter()
    for body in bodies:
        conn.request("POST", path, body=body, headers=headers)
        response = conn.getresponse()
        answer = response.read()
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}: {answer[:300]!r}")
    elapsed = time.perf_counter() - started
    conn.close()
    return REQUESTS / elapsed


def run_one(database: str, prefix: str) -> tuple[float, float]:
    with heron_serve(database, prefix, TOKEN) as port:
        start = time.time() - 3600
        own = own_batches("bench-own", start)
        spans = otlp_batches("bench-otlp", start)
        send(port, "/api/v1/events", "application/json", own[:2])  # warm both paths up
        send(port, "/v1/traces", "application/x-protobuf", spans[:2])
        own_rate = send(port, "/api/v1/events", "application/json", own[2:])
        otlp_rate = send(port, "/v1/traces", "application/x-protobuf", spans[2:])
        return own_rate, otlp_rate


def main() -> None:
    print(f"{REQUESTS:,} requests in batches of {BATCH:,}, one client, `heron serve` "
          "with its default workers")
    print(f"{'store':12} {'heron events/s':>16} {'OTLP spans/s':>14} {'ratio':>7}")
    with tempfile.TemporaryDirectory() as folder:
        for label, database, prefix in (
                ("SQLite", f"sqlite:///{folder}/otlp.db", "heron_"),
                ("PostgreSQL", POSTGRES, f"otlp_{secrets.token_hex(3)}_")):
            own, otlp = run_one(database, prefix)
            print(f"{label:12} {own:16,.0f} {otlp:14,.0f} {otlp / own:7.2f}", flush=True)
            if label == "PostgreSQL":
                _drop(database, prefix)
    print("goal: OTLP at least half of heron's own rate (ratio ≥ 0.50)")


def _drop(database: str, prefix: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(database)
    with engine.begin() as conn:
        names = [r[0] for r in conn.execute(text(
            "SELECT tablename FROM pg_tables WHERE tablename LIKE :p"), {"p": prefix + "%"})]
        for name in names:
            conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
    engine.dispose()


if __name__ == "__main__":
    main()
