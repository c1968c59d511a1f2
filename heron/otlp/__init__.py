"""OpenTelemetry's OTLP over HTTP into heron: ``POST /v1/traces``, ``/v1/logs`` and
``/v1/metrics`` on ``heron serve`` (:mod:`heron.api_v1.otlp`).

Any OpenTelemetry SDK or Collector can export to heron. The service's ``service.name`` is
the app and ``service.version`` its version. Each signal becomes events heron already
knows, so every page works for services written in any language:

* **Server spans with HTTP attributes** become requests (:mod:`heron.otlp.traces`). The
  endpoint is ``http.route``; a span without a route is ``<unmatched>``, never one
  endpoint per URL. **Other spans** become runs (the span's name is the run class, its
  attributes the dimensions) and a span with a parent is a sub-run of it. Numeric
  attributes and span events become exports, and recorded exceptions become exceptions.
* **Log records** become log lines (:mod:`heron.otlp.logs`). Each is linked to the
  request or run of its span.
* **Metrics** (gauges, sums, histograms, summaries) become exports of one run of class
  ``otel.metrics`` per service (:mod:`heron.otlp.metrics`), charted on the Runs page.

**Exactly once.** Every event's id is made from what the item is (trace and span ids, or
a digest of a log record or data point), so a retried export stores nothing twice.
Decoding uses ``opentelemetry-proto``: protobuf, or OTLP/JSON with its hex ids
(:mod:`heron.otlp.decode`).
"""

from __future__ import annotations

from heron.otlp.decode import OtlpError, decode, encode_response

__all__ = ["OtlpError", "decode", "encode_response"]
