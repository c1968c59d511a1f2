"""``otel-service``: the demo's fifth app, a service in another stack that sends
OpenTelemetry over OTLP/HTTP to the demo's own ``heron serve`` (``/v1/traces``,
``/v1/logs``, ``/v1/metrics``; :mod:`heron.otlp`).

A thread plays a checkout service. Its server spans carry ``http.route``, method and
status, and become requests. A ``reindex`` job with a ``shard`` child span per shard
becomes a run with sub-runs, and its span events become exports. Log lines are written
inside the spans, and a counter and a histogram are exported as metrics.

With the real OpenTelemetry SDK installed (``make demo`` installs heron's ``demo``
extra: ``opentelemetry-sdk`` and ``opentelemetry-exporter-otlp-proto-http``), the SDK
sends. Without it, the same signals are built with ``opentelemetry-proto`` (a heron
dependency) and posted as protobuf, so ``heron demo`` from a plain ``pip install heron``
shows the app too.
"""

from __future__ import annotations

import logging
import random
import secrets
import threading
import time
import urllib.request
from typing import Any

from heron._internal import logger

APP = "otel-service"
VERSION = "3.2.0"
ROUTES = [("GET", "/cart/{cart_id}"), ("POST", "/checkout"), ("GET", "/products"),
          ("GET", "/products/{sku}")]


class DemoOtel:
    """Sends ``otel-service``'s spans, logs and metrics to ``base`` with ``token``."""

    def __init__(self, base: str, token: str, *, seed: int | None = None):
        self.base, self.token = base, token
        self.rng = random.Random(seed)
        self._stop = threading.Event()
        self.sdk = _Sdk(base, token) if _sdk_installed() else None

    def start(self, interval: float = 2.0) -> None:
        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.round()
                except Exception as exc:  # noqa: BLE001 - the demo goes on
                    logger.warning("heron demo: otel-service could not send: %s", exc)

        threading.Thread(target=loop, name="heron-demo-otel", daemon=True).start()

    def stop(self) -> None:
        self._stop.set()
        if self.sdk is not None:
            self.sdk.shutdown()

    def round(self) -> None:
        """A few requests, now and then a reindex job; then flush."""
        requests = []
        for _ in range(self.rng.randint(3, 8)):
            method, route = self.rng.choice(ROUTES)
            status = 500 if self.rng.random() < 0.03 else \
                404 if route.startswith("/products/") and self.rng.random() < 0.1 else 200
            requests.append((method, route, status, self.rng.lognormvariate(3.0, 0.5)))
        job = [self.rng.uniform(20, 90) for _ in range(3)] if self.rng.random() < 0.15 \
            else None
        if self.sdk is not None:
            self.sdk.send(requests, job, self.rng)
        else:
            _send_with_proto(self.base, self.token, requests, job)


def _sdk_installed() -> bool:
    try:
        import opentelemetry.exporter.otlp.proto.http  # noqa: F401
        import opentelemetry.sdk  # noqa: F401
    except ImportError:
        return False
    return True


class _Sdk:
    """The real SDK: own providers (not the process's global ones), exporting on flush."""

    def __init__(self, base: str, token: str):
        from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk._logs import LoggerProvider
        from opentelemetry.sdk._logs.export import BatchLogRecordProcessor
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        headers = {"Authorization": f"Bearer {token}"}
        resource = Resource.create({"service.name": APP, "service.version": VERSION})
        self.traces = TracerProvider(resource=resource)
        self.traces.add_span_processor(BatchSpanProcessor(
            OTLPSpanExporter(endpoint=f"{base}/v1/traces", headers=headers)))
        self.logs = LoggerProvider(resource=resource)
        self.logs.add_log_record_processor(BatchLogRecordProcessor(
            OTLPLogExporter(endpoint=f"{base}/v1/logs", headers=headers)))
        self.metrics = MeterProvider(resource=resource, metric_readers=[
            PeriodicExportingMetricReader(OTLPMetricExporter(
                endpoint=f"{base}/v1/metrics", headers=headers),
                export_interval_millis=10_000)])
        self.tracer = self.traces.get_tracer("checkout")
        meter = self.metrics.get_meter("checkout")
        self.orders = meter.create_counter("checkout.orders")
        self.basket = meter.create_histogram("checkout.basket_items")
        self.logger = self.logs.get_logger("checkout")

    def send(self, requests: list[tuple[str, str, int, float]], job: list[float] | None,
             rng: random.Random) -> None:
        from opentelemetry import trace
        from opentelemetry.trace import SpanKind, Status, StatusCode

        for method, route, status, ms in requests:
            start = time.time_ns() - int(ms * 1e6)
            span = self.tracer.start_span(f"{method} {route}", kind=SpanKind.SERVER,
                                          start_time=start, attributes={
                                              "http.request.method": method,
                                              "http.route": route,
                                              "http.response.status_code": status,
                                              "client.address": "10.1.0.7"})
            with trace.use_span(span, end_on_exit=False):
                if route == "/checkout":
                    self.orders.add(1, {"region": "eu"})
                    self.basket.record(rng.randint(1, 9))
                if status == 500:
                    self._log(logging.ERROR, "payment provider timed out")
                    span.record_exception(TimeoutError("payment provider timed out"))
                    span.set_status(Status(StatusCode.ERROR))
            span.end()
        if job is not None:
            with self.tracer.start_as_current_span("reindex", attributes={
                    "index": "products", "shards": len(job)}):
                self._log(logging.INFO, f"reindexing {len(job)} shards")
                for number, seconds in enumerate(job):
                    with self.tracer.start_as_current_span("shard", attributes={
                            "shard": number}) as shard:
                        shard.add_event("indexed", {"documents": int(seconds * 1000),
                                                    "seconds": seconds})
        self.traces.force_flush()
        self.logs.force_flush()

    def _log(self, level: int, message: str) -> None:
        """A log record in the current span, through the SDK's logs API (its logging
        handler is deprecated; the record carries the span's ids either way)."""
        from opentelemetry import trace
        from opentelemetry._logs import LogRecord, SeverityNumber

        span = trace.get_current_span().get_span_context()
        self.logger.emit(LogRecord(
            timestamp=time.time_ns(), trace_id=span.trace_id, span_id=span.span_id,
            trace_flags=span.trace_flags, body=message,
            severity_text=logging.getLevelName(level),
            severity_number=SeverityNumber.ERROR if level >= logging.ERROR
            else SeverityNumber.INFO))

    def shutdown(self) -> None:
        for provider in (self.traces, self.logs, self.metrics):
            provider.shutdown()


def _send_with_proto(base: str, token: str, requests: list[tuple[str, str, int, float]],
                     job: list[float] | None) -> None:
    """The same signals built with opentelemetry-proto, posted as protobuf."""
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
    from opentelemetry.proto.common.v1 import common_pb2
    from opentelemetry.proto.trace.v1 import trace_pb2

    def attrs(**values: Any) -> list[common_pb2.KeyValue]:
        out = []
        for key, value in values.items():
            any_value = common_pb2.AnyValue(int_value=value) if isinstance(value, int) \
                else common_pb2.AnyValue(double_value=value) if isinstance(value, float) \
                else common_pb2.AnyValue(string_value=str(value))
            out.append(common_pb2.KeyValue(key=key.replace("_", "."), value=any_value))
        return out

    message = trace_service_pb2.ExportTraceServiceRequest()
    resource_spans = message.resource_spans.add()
    resource_spans.resource.attributes.extend(
        attrs(service_name=APP, service_version=VERSION))
    spans = resource_spans.scope_spans.add().spans
    now = time.time_ns()
    for method, route, status, ms in requests:
        spans.append(trace_pb2.Span(
            trace_id=secrets.token_bytes(16), span_id=secrets.token_bytes(8),
            name=f"{method} {route}", kind=trace_pb2.Span.SPAN_KIND_SERVER,
            start_time_unix_nano=now - int(ms * 1e6), end_time_unix_nano=now,
            attributes=[*attrs(http_request_method=method, http_route=route),
                        common_pb2.KeyValue(key="http.response.status_code",
                                            value=common_pb2.AnyValue(int_value=status))]))
    if job is not None:
        trace_id, root = secrets.token_bytes(16), secrets.token_bytes(8)
        spans.append(trace_pb2.Span(
            trace_id=trace_id, span_id=root, name="reindex",
            start_time_unix_nano=now - int(sum(job) * 1e9), end_time_unix_nano=now,
            attributes=attrs(index="products", shards=len(job))))
        for number, seconds in enumerate(job):
            spans.append(trace_pb2.Span(
                trace_id=trace_id, span_id=secrets.token_bytes(8), parent_span_id=root,
                name="shard", start_time_unix_nano=now - int(seconds * 1e9),
                end_time_unix_nano=now, attributes=attrs(shard=number),
                events=[trace_pb2.Span.Event(time_unix_nano=now, name="indexed",
                                             attributes=attrs(documents=int(seconds * 1000),
                                                              seconds=seconds))]))
    request = urllib.request.Request(
        f"{base}/v1/traces", data=message.SerializeToString(), method="POST",
        headers={"Content-Type": "application/x-protobuf",
                 "Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        response.read()
