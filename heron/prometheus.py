"""``/metrics``: the store's figures in Prometheus' text format (OpenMetrics when asked).

Every family is read from a small table at scrape time, never from raw rows, so a scrape
costs the same at a thousand requests and at a hundred million:

* requests and request durations from the all-time rollups (``rollup_call``,
  ``rollup_latency_total``, :mod:`heron.store.rollups`); the histogram's buckets are sums
  of heron's latency-sketch buckets, so they agree with the dashboard's percentiles (1%);
* runs per class and outcome with a duration histogram, exceptions per type and log lines
  per level from the all-time totals kept at ingest (:mod:`heron.store.totals`);
* events per app and kind from the home page's counters (``app_kind``);
* participants per app and status with each experiment's yield, sessions per app and
  outcome, from their tables;
* the newest value of the exported metrics ``METRICS_EXPORTS`` lists (``metric_last``);
* heron's own health: events the ingest APIs stored, found stored before and refused, the
  time per batch, the spool backlog and dead letters clients report
  (:mod:`heron.store.health`), alert deliveries per rule and outcome.

Labels are bounded: apps, endpoints, methods, status classes, kinds, statuses and outcomes.
Users, IPs, participant and run ids are never labels. Exposition is prometheus-client's
(:func:`prometheus_client.exposition.choose_encoder`); heron writes no text format itself.
See ``docs/metrics.md``.
"""

from __future__ import annotations

import os
import time
from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterator, Sequence
from typing import Any

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry
from sqlalchemy import func, select

from heron.experiment.summary import Summary
from heron.store import Store
from heron.store.health import BUCKETS_S as INGEST_BUCKETS_S
from heron.store.health import CLIENT_FRESH_S
from heron.store.sketch import value as sketch_value

#: Upper bounds of the request-duration histogram, in seconds (Prometheus' defaults, with
#: a minute at the top).
BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
#: Upper bounds of the run-duration histogram, in seconds (10 ms to two hours).
RUN_BUCKETS_S = (0.01, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0, 1800.0, 3600.0,
                 7200.0)


class StoreCollector(Collector):
    """The families of ``/metrics``, read from ``store`` at each scrape."""

    def __init__(self, store: Store, exported: Sequence[str] = ()):
        self.store = store
        self.exported = list(dict.fromkeys(exported))

    def collect(self) -> Iterator[Metric]:
        with self.store.read() as conn:
            yield from self._requests(conn)
            yield from self._runs(conn)
            yield from self._labels(conn)
            yield from self._events(conn)
            yield from self._experiments(conn)
            yield self._exported(conn)
            yield from self._health(conn)
            yield self._store_size(conn)

    def _exported(self, conn: Any) -> Metric:
        """The newest value of each metric METRICS_EXPORTS names, per app."""
        family = GaugeMetricFamily(
            "heron_exported_metric",
            "Newest exported value of each metric listed in METRICS_EXPORTS, per app.",
            labels=["app", "metric"])
        last = self.store.table("metric_last")
        for start in range(0, len(self.exported), 500):
            for app, metric, value in conn.execute(
                    select(last.c.app, last.c.metric, last.c.value)
                    .where(last.c.metric.in_(self.exported[start:start + 500]))
                    .order_by(last.c.app, last.c.metric)):
                family.add_metric([app, metric], float(value))
        return family

    def _health(self, conn: Any) -> Iterator[Metric]:
        """heron's own: what the ingest APIs took and how fast, what clients report, and
        alert deliveries (:mod:`heron.store.health`)."""
        totals = self.store.table("ingest_total")
        ingested = CounterMetricFamily(
            "heron_ingested_events",
            "Events the ingest APIs (source api: /api/v1/events; otlp: /v1/*) stored, found "
            "stored before (duplicate) and refused.", labels=["source", "outcome"])
        for source, outcome, n in conn.execute(
                select(totals.c.source, totals.c.outcome, totals.c["count"])
                .order_by(totals.c.source, totals.c.outcome)):
            ingested.add_metric([source, outcome], int(n))
        yield ingested
        latency = self.store.table("ingest_latency")
        by_source: dict[str, list[int]] = defaultdict(lambda: [0] * (len(INGEST_BUCKETS_S) + 1))
        sums: dict[str, float] = defaultdict(float)
        for source, bucket, n, total in conn.execute(
                select(latency.c.source, latency.c.bucket, latency.c["count"],
                       latency.c.sum_s)):
            by_source[source][min(int(bucket), len(INGEST_BUCKETS_S))] += int(n)
            sums[source] += float(total)
        batches = HistogramMetricFamily(
            "heron_ingest_batch_duration_seconds",
            "Time the ingest APIs took per batch, from its body to its answer.",
            labels=["source"])
        for source, slots in sorted(by_source.items()):
            batches.add_metric([source], _cumulative(INGEST_BUCKETS_S, slots),
                               sum_value=sums[source])
        yield batches
        reports = self.store.table("client_report")
        spool = GaugeMetricFamily(
            "heron_client_spool_bytes",
            "Bytes waiting in the spools of the clients sending to this server, per app, as "
            "each last reported (clients silent for 15 minutes are left out).",
            labels=["app"])
        dead = GaugeMetricFamily(
            "heron_client_dead_letters",
            "Events the sending clients set aside as dead letters, per app, as each last "
            "reported.", labels=["app"])
        for app, spooled, letters in conn.execute(
                select(reports.c.app, func.sum(reports.c.spool_bytes),
                       func.sum(reports.c.dead_letters))
                .where(reports.c.ts >= time.time() - CLIENT_FRESH_S)
                .group_by(reports.c.app).order_by(reports.c.app)):
            spool.add_metric([app], float(spooled or 0))
            dead.add_metric([app], float(letters or 0))
        yield spool
        yield dead
        delivery = self.store.table("alert_delivery")
        deliveries = CounterMetricFamily(
            "heron_alert_deliveries",
            "Alert webhook posts per rule and outcome (ok, failed: each failed attempt).",
            labels=["rule", "outcome"])
        counted: dict[tuple[str, str], int] = defaultdict(int)
        for rule, ok, n in conn.execute(
                select(delivery.c.rule_name, delivery.c.ok, func.count())
                .group_by(delivery.c.rule_name, delivery.c.ok)):
            counted[(rule or "", "ok" if ok else "failed")] += int(n)
        for labels, n in sorted(counted.items()):
            deliveries.add_metric(list(labels), n)
        yield deliveries

    def _requests(self, conn: Any) -> Iterator[Metric]:
        calls = self.store.table("rollup_call")
        requests = CounterMetricFamily(
            "heron_requests", "Requests recorded, per app, endpoint, method and status class.",
            labels=["app", "endpoint", "method", "status_class"])
        sums: dict[tuple[str, str], float] = defaultdict(float)
        for app, endpoint, method, status_class, count, sum_ms in conn.execute(
                select(calls.c.app, calls.c.endpoint, calls.c.method, calls.c.status_class,
                       calls.c["count"], calls.c.sum_ms)
                .order_by(calls.c.app, calls.c.endpoint, calls.c.method, calls.c.status_class)):
            requests.add_metric([app, endpoint, method, status_class], int(count))
            sums[(app, endpoint)] += float(sum_ms)
        yield requests
        latency = self.store.table("rollup_latency_total")
        yield _histogram(
            "heron_request_duration_seconds",
            "Request durations per app and endpoint (from heron's latency sketches).",
            ["app", "endpoint"], BUCKETS_S,
            conn.execute(select(latency.c.app, latency.c.endpoint, latency.c.idx,
                                latency.c["count"])),
            {key: ms / 1000 for key, ms in sums.items()})

    def _runs(self, conn: Any) -> Iterator[Metric]:
        totals = self.store.table("rollup_run_total")
        runs = CounterMetricFamily("heron_runs", "Runs ended, per app, class and outcome.",
                                   labels=["app", "run_class", "outcome"])
        sums: dict[tuple[str, str], float] = defaultdict(float)
        for app, run_class, outcome, count, sum_s in conn.execute(
                select(totals.c.app, totals.c.run_class, totals.c.outcome, totals.c["count"],
                       totals.c.sum_s)
                .order_by(totals.c.app, totals.c.run_class, totals.c.outcome)):
            runs.add_metric([app, run_class, outcome], int(count))
            sums[(app, run_class)] += float(sum_s)
        yield runs
        latency = self.store.table("rollup_run_latency")
        yield _histogram(
            "heron_run_duration_seconds", "Run durations per app and class.",
            ["app", "run_class"], RUN_BUCKETS_S,
            conn.execute(select(latency.c.app, latency.c.run_class, latency.c.idx,
                                latency.c["count"])), sums)

    def _labels(self, conn: Any) -> Iterator[Metric]:
        table = self.store.table("rollup_label_total")
        families = {
            "exception": CounterMetricFamily("heron_exceptions",
                                             "Unhandled exceptions per app and type.",
                                             labels=["app", "type"]),
            "log": CounterMetricFamily("heron_log_lines", "Log lines per app and level.",
                                       labels=["app", "level"]),
        }
        for app, kind, label, count in conn.execute(
                select(table.c.app, table.c.kind, table.c.label, table.c["count"])
                .order_by(table.c.kind, table.c.app, table.c.label)):
            family = families.get(kind)
            if family is not None:
                family.add_metric([app, label], int(count))
        yield from families.values()

    def _events(self, conn: Any) -> Iterator[Metric]:
        counts = self.store.table("app_kind")
        events = CounterMetricFamily("heron_events", "Events stored, per app and kind.",
                                     labels=["app", "kind"])
        last = GaugeMetricFamily("heron_app_last_received_timestamp_seconds",
                                 "When an event of the app last arrived (epoch seconds).",
                                 labels=["app"])
        newest: dict[str, float] = {}
        for app, kind, count, received in conn.execute(
                select(counts.c.app, counts.c.kind, counts.c["count"],
                       counts.c.last_received_at).order_by(counts.c.app, counts.c.kind)):
            events.add_metric([app, kind], int(count))
            newest[app] = max(newest.get(app, 0.0), float(received))
        for app, received in sorted(newest.items()):
            last.add_metric([app], received)
        yield events
        yield last

    def _experiments(self, conn: Any) -> Iterator[Metric]:
        participant, session = self.store.table("participant"), self.store.table("session")
        people = GaugeMetricFamily("heron_participants",
                                   "Participants per experiment (app) and status.",
                                   labels=["app", "status"])
        counts: dict[str, dict[str, int]] = defaultdict(dict)
        for app, status, n in conn.execute(
                select(participant.c.app, participant.c.status, func.count())
                .group_by(participant.c.app, participant.c.status)
                .order_by(participant.c.app, participant.c.status)):
            people.add_metric([app, str(status)], int(n))
            counts[app][str(status)] = int(n)
        yield people
        yields = GaugeMetricFamily(
            "heron_experiment_yield",
            "Approved participants over finished ones, per experiment (heron summary's yield).",
            labels=["app"])
        for app, by_status in sorted(counts.items()):
            value = Summary(app, by_status).yield_
            if value is not None:
                yields.add_metric([app], value)
        yield yields
        sessions = GaugeMetricFamily("heron_sessions",
                                     "Sessions per app (rig) and outcome (running: not ended).",
                                     labels=["app", "outcome"])
        outcome = func.coalesce(session.c.outcome, "running")
        for app, state, n in conn.execute(
                select(session.c.app, outcome, func.count())
                .group_by(session.c.app, outcome).order_by(session.c.app, outcome)):
            sessions.add_metric([app, str(state)], int(n))
        yield sessions


    def _store_size(self, conn: Any) -> Metric:
        size = GaugeMetricFamily("heron_store_size_bytes",
                                 "Size of heron's store: the SQLite file with its WAL, or "
                                 "heron's PostgreSQL tables with their indexes.")
        size.add_metric([], float(store_bytes(self.store, conn)))
        return size


def store_bytes(store: Store, conn: Any) -> int:
    """Bytes the store takes: SQLite's database file and WAL; on PostgreSQL, every table
    under the prefix with its indexes and TOAST."""
    if conn.dialect.name == "sqlite":
        database = conn.engine.url.database or ""
        if not database or database == ":memory:":
            return 0
        return sum(os.path.getsize(path) for path in (database, database + "-wal")
                   if os.path.exists(path))
    return int(conn.exec_driver_sql(
        "SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
        "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
        "AND n.nspname = current_schema() AND starts_with(c.relname, %(prefix)s)",
        {"prefix": store.prefix}).scalar() or 0)


def _histogram(name: str, documentation: str, labels: list[str], bounds: tuple[float, ...],
               rows: Any, sums: dict[tuple[str, str], float]) -> HistogramMetricFamily:
    """A histogram from sketch rows ``(label, label, sketch index, count)``: each sketch
    bucket counted under the first bound at or above the duration it stands for."""
    counts: dict[tuple[str, str], list[int]] = {}
    for first, second, idx, count in rows:
        slots = counts.setdefault((first, second), [0] * (len(bounds) + 1))
        seconds = sketch_value(int(idx)) / 1000
        slots[bisect_left(bounds, seconds)] += int(count)
    family = HistogramMetricFamily(name, documentation, labels=labels)
    for key, slots in sorted(counts.items()):
        family.add_metric(list(key), _cumulative(bounds, slots), sum_value=sums.get(key, 0.0))
    return family


def _cumulative(bounds: tuple[float, ...], slots: list[int]) -> list[tuple[str, int]]:
    """Counts per bucket (the last is +Inf) as Prometheus' cumulative ``le`` buckets."""
    cumulative, running = [], 0
    for bound, n in zip((*map(repr, bounds), "+Inf"), slots, strict=True):
        running += n
        cumulative.append((bound, running))
    return cumulative


def exposition(store: Store, accept: str | None, exported: Sequence[str] = ()
               ) -> tuple[bytes, str]:
    """The body and content type of one scrape, in the format ``accept`` asks for;
    ``exported`` names the exported metrics whose last values it shows (METRICS_EXPORTS)."""
    from prometheus_client.exposition import choose_encoder

    registry = CollectorRegistry(auto_describe=False)
    registry.register(StoreCollector(store, exported))
    encoder, content_type = choose_encoder(accept or "")
    return encoder(registry), content_type
