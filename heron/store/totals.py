"""All-time totals of logs, exceptions and runs, kept at ingest for Prometheus' ``/metrics``
(:mod:`heron.prometheus`), in the same transaction as the events (migration 0008):

* ``rollup_label_total``: log lines per app and level name, exceptions per app and type;
* ``rollup_run_total``: runs ended per app, class and outcome, with their total duration;
* ``rollup_run_latency``: the latency sketch of run durations per app and class;
* ``metric_last`` (migration 0009): the newest value of each exported metric per app.

Counters never go down: retention prunes raw rows, never these. A run's class and start
come from its stored record; a run that ends before its start arrives is counted under the
class ``(unknown)``.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.engine import Connection

from heron import events as ev
from heron.store import sketch
from heron.store.bulk import merge_rows
from heron.store.rollups import add_up

if TYPE_CHECKING:
    from heron.store import Store

UNKNOWN_CLASS = "(unknown)"


def level_name(level: int) -> str:
    """``INFO`` for 20; a level between the standard ones by the one below it."""
    for value in (50, 40, 30, 20, 10):
        if level >= value:
            return logging.getLevelName(value)
    return "NOTSET"


def apply(conn: Connection, store: Store, by_kind: dict[str, list[ev.Event]]) -> None:
    labels: dict[tuple[str, str, str], int] = defaultdict(int)
    for event in by_kind.get("log", ()):
        assert isinstance(event, ev.Log)
        labels[(event.app, "log", level_name(event.level))] += 1
    for event in by_kind.get("exception", ()):
        assert isinstance(event, ev.ExceptionRaised)
        labels[(event.app, "exception", event.type[:200])] += 1
    add_up(conn, store.table("rollup_label_total"), ("app", "kind", "label"), ("count",),
           [(*key, n) for key, n in sorted(labels.items())])
    ends = by_kind.get("run_end", ())
    if ends:
        _runs(conn, store, ends)
    exports = by_kind.get("export", ())
    if exports:
        _last_values(conn, store, exports)


def _last_values(conn: Connection, store: Store, exports: Any) -> None:
    """The newest value of each exported metric per app (``metric_last``): a value
    arriving late, older than the one stored, leaves it."""
    newest: dict[tuple[str, str], tuple[float, float]] = {}
    for export in exports:
        app, ts = export.app, export.ts
        for metric, value in export.metrics.items():
            key = (app, metric)
            known = newest.get(key)
            if known is None or ts >= known[0]:
                newest[key] = (ts, value)
    merge_rows(conn, store.table("metric_last"), ("app", "metric"), ("ts", "value"),
               [(app, metric[:500], ts, value) for (app, metric), (ts, value)
                in sorted(newest.items())], {"value": "newer", "ts": "max"})


def _runs(conn: Connection, store: Store, ends: Any) -> None:
    run = store.table("run")
    ids = sorted({e.run_id for e in ends})
    started: dict[str, tuple[str | None, float | None]] = {}
    for start in range(0, len(ids), 500):
        for run_id, run_class, ts in conn.execute(
                select(run.c.run_id, run.c.run_class, run.c.ts)
                .where(run.c.run_id.in_(ids[start:start + 500]))):
            started[run_id] = (run_class, ts)
    totals: dict[tuple[str, str, str], list[Any]] = {}
    latency: dict[tuple[str, str, int], int] = defaultdict(int)
    for end in ends:
        assert isinstance(end, ev.RunEnd)
        run_class, ts = started.get(end.run_id, (None, None))
        run_class = run_class or UNKNOWN_CLASS
        seconds = max(0.0, end.ts - ts) if ts is not None else None
        row = totals.setdefault((end.app, run_class, end.outcome), [0, 0.0])
        row[0] += 1
        if seconds is not None:
            row[1] += seconds
            latency[(end.app, run_class, sketch.index(seconds * 1000))] += 1
    add_up(conn, store.table("rollup_run_total"), ("app", "run_class", "outcome"),
           ("count", "sum_s"), [(*key, *v) for key, v in sorted(totals.items())])
    add_up(conn, store.table("rollup_run_latency"), ("app", "run_class", "idx"), ("count",),
           [(*key, n) for key, n in sorted(latency.items())])
