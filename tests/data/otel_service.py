"""A small service instrumented with the real OpenTelemetry SDK, exporting to heron.

Run in the test-only environment ``.venv-otel`` (opentelemetry-sdk,
opentelemetry-exporter-otlp-proto-http, opentelemetry-instrumentation-flask; never heron
dependencies): ``python otel_service.py BASE_URL TOKEN [protobuf|json]``.

It serves six requests to an instrumented Flask app (routes with parameters, a 404, one
that raises), runs a ``train`` span with an ``epoch`` child and a span event, writes log
lines inside a request and inside ``train``, records a counter, a histogram and a gauge,
then flushes every exporter and prints what it did as JSON.
"""

from __future__ import annotations

import json
import logging
import sys

from flask import Flask
from opentelemetry import metrics, trace
from opentelemetry._logs import set_logger_provider
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.instrumentation.flask import FlaskInstrumentor
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor


def main() -> None:
    base, token = sys.argv[1], sys.argv[2]
    headers = {"Authorization": f"Bearer {token}"}
    resource = Resource.create({"service.name": "otel-shop", "service.version": "2.1.0"})
    spans = OTLPSpanExporter(endpoint=f"{base}/v1/traces", headers=headers,
                             compression=Compression.Gzip)
    tracer_provider = TracerProvider(resource=resource)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    trace.set_tracer_provider(tracer_provider)
    logger_provider = LoggerProvider(resource=resource)
    logger_provider.add_log_record_processor(SimpleLogRecordProcessor(
        OTLPLogExporter(endpoint=f"{base}/v1/logs", headers=headers)))
    set_logger_provider(logger_provider)
    logging.getLogger().addHandler(LoggingHandler(logger_provider=logger_provider))
    logging.getLogger().setLevel(logging.INFO)
    reader = PeriodicExportingMetricReader(
        OTLPMetricExporter(endpoint=f"{base}/v1/metrics", headers=headers),
        export_interval_millis=3_600_000)
    meter_provider = MeterProvider(resource=resource, metric_readers=[reader])
    metrics.set_meter_provider(meter_provider)

    meter = metrics.get_meter("shop")
    orders = meter.create_counter("shop.orders")
    basket = meter.create_histogram("shop.basket_size")
    log = logging.getLogger("shop")

    app = Flask("otel-shop")

    @app.get("/items/<int:item_id>")
    def item(item_id: int) -> str:
        log.warning("item %s is low on stock", item_id)
        orders.add(1, {"item": str(item_id)})
        basket.record(item_id * 2)
        return f"item {item_id}"

    @app.get("/fail")
    def fail() -> str:
        raise RuntimeError("the basket broke")

    FlaskInstrumentor().instrument_app(app)
    client = app.test_client()
    statuses = [client.get(path).status_code
                for path in ("/items/1", "/items/2", "/items/3", "/items/1", "/nowhere",
                             "/fail")]

    tracer = trace.get_tracer("trainer")
    with tracer.start_as_current_span("train", attributes={"lr": 0.1, "dataset": "mnist"}):
        log.info("training started")
        with tracer.start_as_current_span("epoch", attributes={"epoch": 1}) as epoch:
            epoch.add_event("checkpoint", {"loss": 0.25, "path": "/tmp/ckpt"})
    meter.create_gauge("shop.queue_depth").set(7)

    tracer_provider.force_flush()
    logger_provider.force_flush()
    meter_provider.force_flush()
    meter_provider.shutdown()
    tracer_provider.shutdown()
    logger_provider.shutdown()
    print(json.dumps({"statuses": statuses}))


if __name__ == "__main__":
    main()
