"""Per-call cost of heron.export() inside a run, against two baselines, in one run.

Variants, interleaved round by round so machine noise hits all of them alike:

* ``deque.append``: appending the same dict to a deque (the floor: no work at all);
* ``heron.export (discard)``: heron with a sink that discards batches, like OTel's no-op
  exporter below: the cost to the caller;
* ``heron.export (sqlite)``: heron recording into a local SQLite store, as in production;
* ``otel span``: an OpenTelemetry span start/end with a BatchSpanProcessor and an exporter
  that does nothing (only when opentelemetry-sdk is installed in this environment:
  ``make bench`` creates one; it is never a heron dependency).

Prints the median and p90 per call in µs and the ratios. Goal (issue 3): heron's median
≤ 3 µs and at least 5× below the OTel span.
"""

from __future__ import annotations

import collections
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import heron
from heron.recorder import Recorder
from heron.sinks.local import LocalSink
from heron.store import open_store

CALLS = 2_000
ROUNDS = 30
DATA = {"confidence": 0.93, "latency_ms": 12.5, "source": "web", "cached": False}


class DiscardSink:
    def write(self, events: list) -> None:  # type: ignore[type-arg]
        pass

    def close(self) -> None:
        pass


def per_call_us(fn: Callable[[], None]) -> float:
    start = time.perf_counter_ns()
    for _ in range(CALLS):
        fn()
    return (time.perf_counter_ns() - start) / CALLS / 1000


def otel_variant() -> Callable[[], None] | None:
    try:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import (
            BatchSpanProcessor,
            SpanExporter,
            SpanExportResult,
        )
    except ImportError:
        return None

    class NoOpExporter(SpanExporter):
        def export(self, spans):  # type: ignore[no-untyped-def]
            return SpanExportResult.SUCCESS

    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(NoOpExporter()))
    tracer = provider.get_tracer("bench")

    def span() -> None:
        with tracer.start_as_current_span("export") as s:
            s.set_attributes(DATA)

    return span


def main() -> None:
    queue: collections.deque = collections.deque(maxlen=100_000)  # type: ignore[type-arg]
    variants: dict[str, Callable[[], None]] = {"deque.append": lambda: queue.append(DATA)}

    heron.init(app="bench", sink=DiscardSink())

    def heron_export() -> None:
        heron.export(DATA)

    variants["heron.export (discard)"] = heron_export

    tmp = Path(tempfile.mkdtemp())
    sqlite_recorder = Recorder(LocalSink(open_store(f"sqlite:///{tmp / 'bench.db'}"),
                                         owns_store=True))

    def heron_sqlite() -> None:
        # the same path as heron.export, recording into SQLite through its own recorder
        heron.emitting.recorder, saved = sqlite_recorder, heron.emitting.recorder
        try:
            heron.export(DATA)
        finally:
            heron.emitting.recorder = saved

    variants["heron.export (sqlite)"] = heron_sqlite
    otel = otel_variant()
    if otel is not None:
        variants["otel span (batch, no-op exporter)"] = otel

    samples: dict[str, list[float]] = {name: [] for name in variants}
    with heron.run("bench"):
        for fn in variants.values():  # warm up
            per_call_us(fn)
        for _ in range(ROUNDS):
            for name, fn in variants.items():
                samples[name].append(per_call_us(fn))
    sqlite_recorder.close()
    heron.shutdown()

    print(f"export() cost per call, {ROUNDS} rounds × {CALLS} calls, Python "
          f"{sys.version.split()[0]}")
    print(f"{'variant':38} {'median µs':>10} {'p90 µs':>8} {'× deque':>8}")
    base = statistics.median(samples["deque.append"])
    for name, values in samples.items():
        med = statistics.median(values)
        p90 = statistics.quantiles(values, n=10)[-1]
        print(f"{name:38} {med:10.2f} {p90:8.2f} {med / base:8.1f}")
    if otel is not None:
        ratio = statistics.median(samples["otel span (batch, no-op exporter)"]) / \
            statistics.median(samples["heron.export (discard)"])
        print(f"OTel span / heron.export: {ratio:.1f}×")
    else:
        print("opentelemetry-sdk is not installed here: run `make bench` for the comparison")


if __name__ == "__main__":
    main()
