"""OpenTelemetry into ``heron serve`` (issue 22), on both stores.

The real SDK runs in the test-only environment ``.venv-otel`` (``make test`` makes it;
the SDK, its OTLP/HTTP exporter and its Flask instrumentation are never heron
dependencies). It serves requests, runs spans, writes logs and records metrics, exporting
to a live heron server through a recording proxy on 127.0.0.1. The tests then read the
Endpoints, Runs and Logs pages and the export API, replay the recorded payloads (as sent,
and as OTLP/JSON) and find nothing doubled, and send malformed bodies.
"""

from __future__ import annotations

import base64
import gzip
import json
import subprocess
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

ROOT = Path(__file__).resolve().parents[2]
OTEL_PYTHON = ROOT / ".venv-otel" / "bin" / "python"
SERVICE = ROOT / "tests" / "data" / "otel_service.py"
TOKEN = "ingest-secret-1"  # the server_config fixture's
AUTH = {"Authorization": f"Bearer {TOKEN}"}
EXPORT = {"Authorization": "Bearer export-secret-1"}
REQUESTS = {"/v1/traces": trace_service_pb2.ExportTraceServiceRequest,
            "/v1/logs": logs_service_pb2.ExportLogsServiceRequest,
            "/v1/metrics": metrics_service_pb2.ExportMetricsServiceRequest}
COUNTED = ("request", "run", "log", "export", "exception")


class Recorder(ThreadingHTTPServer):
    """A real HTTP server on 127.0.0.1 that forwards each POST to heron and keeps it."""

    def __init__(self, target: str) -> None:
        self.target = target
        self.sent: list[tuple[str, dict[str, str], bytes, int]] = []
        super().__init__(("127.0.0.1", 0), _Forward)
        self.url = f"http://127.0.0.1:{self.server_port}"
        threading.Thread(target=self.serve_forever, daemon=True).start()


class _Forward(BaseHTTPRequestHandler):
    server: Recorder

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() in ("content-type", "content-encoding", "authorization")}
        status, answer = post(self.server.target + self.path, body, headers)
        self.server.sent.append((self.path, headers, body, status))
        self.send_response(status)
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: Any) -> None:
        pass


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def run_service(url: str) -> dict[str, Any]:
    assert OTEL_PYTHON.exists(), (
        f"{OTEL_PYTHON} is missing: `make test` makes the test-only environment with the "
        "OpenTelemetry SDK (or run `make .venv-otel/.installed`)")
    done = subprocess.run([str(OTEL_PYTHON), str(SERVICE), url, TOKEN], capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Failed to export" not in done.stderr, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


@pytest.fixture
def exported(live_server):  # type: ignore[no-untyped-def]
    """The SDK's service run once against the live server; the recorder holds what it
    sent."""
    recorder = Recorder(live_server.url)
    try:
        result = run_service(recorder.url)
        yield result, recorder, live_server
    finally:
        recorder.shutdown()
        recorder.server_close()


def counts(store: Any) -> dict[str, int]:
    with store.read() as conn:
        return {t: int(conn.exec_driver_sql(
            f"SELECT count(*) FROM {store.table(t).name}").scalar() or 0) for t in COUNTED}


def test_a_real_sdk_service_shows_on_the_endpoints_runs_and_logs_pages(  # type: ignore[no-untyped-def]
        exported, store, admin_client, client) -> None:
    result, recorder, _ = exported
    assert result["statuses"] == [200, 200, 200, 200, 404, 500]
    assert {path for path, *_ in recorder.sent} == set(REQUESTS)
    assert all(status == 200 for *_, status in recorder.sent)

    # Endpoints: one endpoint per route (not per URL), the unmatched URL under one name
    listed = client.get("/api/v1/endpoints?app=otel-shop", headers=EXPORT).get_json()
    assert {e["endpoint"] for e in listed["endpoints"]} == {
        "/items/<int:item_id>", "/fail", "<unmatched>"}
    page = admin_client.get("/dashboard/endpoints/e/otel-shop//items/%3Cint:item_id%3E")
    assert page.status_code == 200, page.get_data(as_text=True)[-500:]
    requests = client.get("/api/v1/export/request?app=otel-shop", headers=EXPORT).get_json()
    by_endpoint: dict[str, list[dict[str, Any]]] = {}
    for r in requests["items"]:
        by_endpoint.setdefault(r["endpoint"], []).append(r)
    assert {k: len(v) for k, v in by_endpoint.items()} == {
        "/items/<int:item_id>": 4, "<unmatched>": 1, "/fail": 1}
    assert {r["version"] for r in requests["items"]} == {"2.1.0"}
    assert [r["status"] for r in by_endpoint["/fail"]] == [500]
    assert all(r["duration_ms"] > 0 for r in requests["items"])
    failed = by_endpoint["/fail"][0]
    exceptions = client.get("/api/v1/export/exception?app=otel-shop",
                            headers=EXPORT).get_json()["items"]
    assert [(e["type"], e["message"], e["request_id"]) for e in exceptions] == [
        ("RuntimeError", "the basket broke", failed["id"])]
    assert "the basket broke" in admin_client.get(
        "/dashboard/endpoints/exceptions?app_id=otel-shop").get_data(as_text=True)

    # Runs: train with its epoch as a sub-run, numeric attributes and a span event as
    # exports; the metrics as exports of otel.metrics
    runs = client.get("/api/v1/export/run?app=otel-shop", headers=EXPORT).get_json()["items"]
    by_class = {r["run_class"]: r for r in runs}
    assert set(by_class) == {"train", "epoch", "otel.metrics"}
    train, epoch = by_class["train"], by_class["epoch"]
    assert epoch["parent_id"] == train["run_id"] and train["outcome"] == "ok"
    run_page = admin_client.get(f"/dashboard/runs/r/{train['run_id']}").get_data(as_text=True)
    assert "epoch" in run_page and "checkpoint" in run_page and "mnist" in run_page
    exports = client.get("/api/v1/export/export?app=otel-shop",
                         headers=EXPORT).get_json()["items"]
    metrics_of = [e["metrics"] for e in exports if e["run_id"] == train["run_id"]]
    assert metrics_of == [{"lr": 0.1}]
    assert {"loss": 0.25} in [e["metrics"] for e in exports if e["run_id"] == epoch["run_id"]]
    orders = [e for e in exports if "shop.orders" in e["metrics"]]
    assert {(e["dimensions"]["item"], e["metrics"]["shop.orders"]) for e in orders} == {
        ("1", 2.0), ("2", 1.0), ("3", 1.0)}
    assert any(e["metrics"].get("shop.basket_size.count") == 4.0 for e in exports)
    assert any(e["metrics"].get("shop.queue_depth") == 7.0 for e in exports)
    runs_page = admin_client.get("/dashboard/runs/otel-shop/otel.metrics")
    assert runs_page.status_code == 200 and "shop.orders" in runs_page.get_data(as_text=True)

    # Logs: each line links to its span, which leads to its request or run
    lines = client.get("/api/v1/logs?app=otel-shop&limit=100", headers=EXPORT).get_json()
    by_message = {line["message"]: line for line in lines["items"]}
    stock = by_message["item 2 is low on stock"]
    assert stock["level"] == 30 and stock["logger"] == "shop"
    item_2 = next(r for r in by_endpoint["/items/<int:item_id>"]
                  if r["id"] == stock["request_id"])
    assert stock["run_id"] == item_2["id"]
    to_request = admin_client.get(f"/dashboard/logs/span/{item_2['id']}")
    assert to_request.status_code == 302
    assert to_request.headers["Location"].endswith(f"/dashboard/endpoints/request/{item_2['id']}")
    request_page = admin_client.get(to_request.headers["Location"]).get_data(as_text=True)
    assert "item 2 is low on stock" in request_page
    started = by_message["training started"]
    to_run = admin_client.get(f"/dashboard/logs/span/{started['run_id']}")
    assert to_run.headers["Location"].endswith(f"/dashboard/runs/r/{train['run_id']}")
    assert started["run_id"] == train["run_id"]


def as_otlp_json(path: str, body: bytes, headers: dict[str, str]) -> bytes:
    """A recorded protobuf export as OTLP/JSON (hex trace and span ids)."""
    if headers.get("Content-Encoding", "").lower() == "gzip":
        body = gzip.decompress(body)
    message = REQUESTS[path]()
    message.ParseFromString(body)
    data = json_format.MessageToDict(message)

    def hexify(item: Any) -> None:
        if isinstance(item, dict):
            for key, value in item.items():
                if key in ("traceId", "spanId", "parentSpanId") and isinstance(value, str):
                    item[key] = base64.b64decode(value).hex()
                else:
                    hexify(value)
        elif isinstance(item, list):
            for value in item:
                hexify(value)

    hexify(data)
    return json.dumps(data).encode()


def test_replayed_otlp_exports_store_nothing_twice(exported, store) -> None:  # type: ignore[no-untyped-def]
    _, recorder, server = exported
    before = counts(store)
    assert before["request"] == 6 and before["log"] >= 6 and before["export"] > 3
    for path, headers, body, _ in list(recorder.sent):  # as the SDK sent them (gzip too)
        status, answer = post(server.url + path, body, headers)
        assert status == 200, answer
    assert counts(store) == before
    for path, headers, body, _ in list(recorder.sent):  # the same exports as OTLP/JSON
        status, answer = post(server.url + path, as_otlp_json(path, body, headers),
                              {"Content-Type": "application/json", **AUTH})
        assert status == 200, answer
        assert json.loads(answer) == {}  # no partial success: every item was taken
    assert counts(store) == before


def span(trace: bytes, span_id: bytes, **fields: Any) -> trace_pb2.Span:
    return trace_pb2.Span(**{"trace_id": trace, "span_id": span_id, "name": "job",
                             "start_time_unix_nano": 1_700_000_000_000_000_000,
                             "end_time_unix_nano": 1_700_000_001_000_000_000, **fields})


def traces_body(*spans: trace_pb2.Span) -> bytes:
    message = trace_service_pb2.ExportTraceServiceRequest()
    resource_spans = message.resource_spans.add()
    resource_spans.resource.attributes.append(common_pb2.KeyValue(
        key="service.name", value=common_pb2.AnyValue(string_value="batch")))
    resource_spans.scope_spans.add().spans.extend(spans)
    return message.SerializeToString()


PROTO = {"Content-Type": "application/x-protobuf", **AUTH}


def test_malformed_otlp_bodies_get_4xx_and_one_bad_span_spares_the_rest(client, store) -> None:  # type: ignore[no-untyped-def]
    good = traces_body(span(b"\x01" * 16, b"\x02" * 8))
    assert client.post("/v1/traces", data=good, headers={
        "Content-Type": "application/x-protobuf"}).status_code == 401
    assert client.post("/v1/traces", data=good, headers={
        **PROTO, "Authorization": "Bearer wrong"}).status_code == 401
    refused = {
        "not protobuf": (b"\xff\xff\xff\xff", PROTO, 400),
        "not JSON": (b"{nope", {**PROTO, "Content-Type": "application/json"}, 400),
        "a JSON list": (b"[]", {**PROTO, "Content-Type": "application/json"}, 400),
        "an id that is not hex": (json.dumps({"resourceSpans": [{"scopeSpans": [{"spans": [
            {"traceId": "zz", "spanId": "01"}]}]}]}).encode(),
            {**PROTO, "Content-Type": "application/json"}, 400),
        "deep JSON": (b"{\"a\":" * 400 + b"1" + b"}" * 400,
                      {**PROTO, "Content-Type": "application/json"}, 400),
        "another content type": (good, {**PROTO, "Content-Type": "text/plain"}, 415),
        "no content type": (good, AUTH, 415),
        "broken gzip": (b"not gzip", {**PROTO, "Content-Encoding": "gzip"}, 400),
        "an unknown encoding": (good, {**PROTO, "Content-Encoding": "br"}, 415),
    }
    for what, (body, headers, code) in refused.items():
        response = client.post("/v1/traces", data=body, headers=headers)
        assert response.status_code == code, (what, response.get_data(as_text=True))
        assert response.get_json()["error"], what
    assert counts(store)["run"] == 0

    # a span without ids and one with the invalid all-zero trace id: counted, the others
    # stored
    body = traces_body(span(b"\x01" * 16, b"\x02" * 8),
                       span(b"", b""),
                       span(b"\x00" * 16, b"\x03" * 8),
                       span(b"\x01" * 16, b"\x04" * 8, parent_span_id=b"\x02" * 8))
    response = client.post("/v1/traces", data=gzip.compress(body),
                           headers={**PROTO, "Content-Encoding": "gzip"})
    assert response.status_code == 200
    answer = trace_service_pb2.ExportTraceServiceResponse.FromString(response.data)
    assert answer.partial_success.rejected_spans == 2
    assert "no trace id" in answer.partial_success.error_message
    assert counts(store)["run"] == 2
    with store.read() as conn:
        parents = dict(conn.exec_driver_sql(
            f"SELECT run_id, parent_id FROM {store.table('run').name}").all())
    assert parents == {"01" * 16 + "." + "02" * 8: None,
                       "01" * 16 + "." + "04" * 8: "01" * 16 + "." + "02" * 8}


@pytest.mark.parametrize("with_sdk", [True, False])
def test_the_demos_otel_service_sends_requests_runs_and_logs(live_server, store,  # type: ignore[no-untyped-def]
                                                             with_sdk: bool) -> None:
    """``heron demo``'s fifth app: through the real SDK (the ``demo`` extra ``make test``
    installs) and through opentelemetry-proto alone (a plain ``pip install heron``)."""
    from heron.demo.otel import DemoOtel

    demo = DemoOtel(live_server.url, TOKEN, seed=3)
    if with_sdk:
        assert demo.sdk is not None, "the demo extra (opentelemetry-sdk) is not installed"
    else:
        demo.sdk = None
    try:
        for _ in range(12):  # enough rounds for a reindex job with this seed
            demo.round()
    finally:
        demo.stop()
    with store.read() as conn:
        requests = conn.exec_driver_sql(
            f"SELECT endpoint, status FROM {store.table('request').name} "
            "WHERE app = 'otel-service'").all()
        classes = {r[0] for r in conn.exec_driver_sql(
            f"SELECT run_class FROM {store.table('run').name} WHERE app = 'otel-service'")}
        lines = conn.exec_driver_sql(
            f"SELECT message, run_id FROM {store.table('log').name} "
            "WHERE app = 'otel-service'").all()
    assert len(requests) >= 36
    assert {e for e, _ in requests} <= {"/cart/{cart_id}", "/checkout", "/products",
                                        "/products/{sku}"}
    assert {"reindex", "shard"} <= classes
    if with_sdk:  # the SDK's log records, written inside the job's span
        assert any(m.startswith("reindexing") and run_id for m, run_id in lines)
