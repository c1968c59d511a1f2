"""Metrics into exports of one ``otel.metrics`` run per service.

Each data point becomes one export at the point's time. The metric's name carries the
value, and the point's attributes are the dimensions:

* **gauges and sums:** ``{name: value}``;
* **histograms** (explicit and exponential): ``{name.count, name.sum, name.min,
  name.max}``, the parts each point has;
* **summaries:** ``{name.count, name.sum}`` and one ``name.p<quantile>`` per quantile.

The run ``otel-metrics:<service.name>`` (class ``otel.metrics``) is started by the first
batch of the service and never ends, so the Runs page charts every metric it exports.
Export ids are a digest of service, metric, attributes and times, so a retried export
stores nothing twice.
"""

from __future__ import annotations

import json
import math
from typing import Any

from heron.otlp.values import as_dimension, attributes, content_id, seconds, service_of

RUN_CLASS = "otel.metrics"


def run_id_of(app: str) -> str:
    """The service's metrics run: no dot before the app's name (a dot starts a sub-run's
    part of a run id)."""
    return f"otel-metrics:{app}"


def events_of_metrics(message: Any) -> tuple[list[tuple[int, dict[str, Any]]], list[str]]:
    """The events of an ``ExportMetricsServiceRequest``: ``(data point index, event)``
    pairs (the run start of each service paired with -1), and what was wrong with the
    points that made none."""
    out: list[tuple[int, dict[str, Any]]] = []
    problems: list[str] = []
    started: dict[str, float] = {}
    index = -1
    for resource_metrics in message.resource_metrics:
        app, version, _ = service_of(resource_metrics.resource)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                name = metric.name[:400]
                for point, values in _points(metric, name):
                    index += 1
                    nanos = point.time_unix_nano
                    if not nanos or not name:
                        problems.append(f"data point {index} has no time or metric name")
                        continue
                    finite = {k: v for k, v in values.items() if math.isfinite(v)}
                    if not finite:
                        problems.append(f"data point {index} of {name} has no finite value")
                        continue
                    attrs = attributes(point.attributes)
                    ts = seconds(nanos)
                    started[app] = min(started.get(app, ts), ts)
                    out.append((index, {
                        "kind": "export",
                        "id": content_id("mx:", app, name, nanos, point.start_time_unix_nano,
                                         json.dumps(attrs, sort_keys=True, default=str)),
                        "app": app, "ts": ts, "run_id": run_id_of(app), "metrics": finite,
                        "dimensions": {k: as_dimension(v) for k, v in attrs.items()}}))
                    if version is not None:
                        out[-1][1]["dimensions"].setdefault("service.version", version)
    for app, ts in started.items():
        out.append((-1, {"kind": "run_start", "id": content_id("ms:", app), "app": app,
                         "ts": ts, "run_id": run_id_of(app), "run_class": RUN_CLASS,
                         "dimensions": {"service.name": app}}))
    return out, problems


def _points(metric: Any, name: str) -> list[tuple[Any, dict[str, float]]]:
    which = metric.WhichOneof("data")
    if which in ("gauge", "sum"):
        return [(p, {name: float(p.as_double if p.WhichOneof("value") == "as_double"
                                 else p.as_int)})
                for p in getattr(metric, which).data_points]
    if which in ("histogram", "exponential_histogram"):
        out = []
        for p in getattr(metric, which).data_points:
            values = {f"{name}.count": float(p.count)}
            for part in ("sum", "min", "max"):
                if p.HasField(part):
                    values[f"{name}.{part}"] = float(getattr(p, part))
            out.append((p, values))
        return out
    if which == "summary":
        out = []
        for p in metric.summary.data_points:
            values = {f"{name}.count": float(p.count), f"{name}.sum": float(p.sum)}
            for q in p.quantile_values:
                values[f"{name}.p{q.quantile * 100:g}"] = float(q.value)
            out.append((p, values))
        return out
    return []
