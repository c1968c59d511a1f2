"""Web-monitoring rollups, maintained at ingest in the same transaction as the requests.

* ``rollup_request`` (per minute) and ``rollup_request_hour``: per app, endpoint and
  version — requests, server errors (status ≥ 500), the sum of durations and of SQL queries
  and their time; hit counts and means over any window.
* ``rollup_latency`` (per hour) and ``rollup_latency_day`` (per UTC day): a latency sketch
  (:mod:`heron.store.sketch`); percentiles over any window within 1%.
* ``rollup_group`` (per hour): requests and total duration per status code, user
  (``group_by``) and IP, per endpoint and version; the endpoint page's charts.

A window reads the coarse rows for the whole hours (or days) it covers and the fine rows
only for its ragged ends (:mod:`heron.store.queries.web`).
* ``rollup_call`` and ``rollup_latency_total`` (migration 0008, no time bucket): requests
  and their total duration per app, endpoint, method and status class, and the latency
  sketch per app and endpoint, since the store began counting them: the Prometheus
  counters and histograms of ``/metrics`` (:mod:`heron.prometheus`), read from a few rows.
* ``endpoint``: every endpoint seen, its monitor level and when it was first and last
  requested. An ``endpoint`` event registers one at the level it starts at; a level set
  later on the Rules page is never overwritten.

Every update adds to what is stored (``count = count + new``), so concurrent ingest from
several server processes never loses a count.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from heron import events as ev
from heron.store import sketch
from heron.store.bulk import insert_for, merge_rows

if TYPE_CHECKING:
    from heron.store import Store

SERVER_ERROR = 500

#: rollup_group's dimensions: the request field each counts requests by
GROUP_DIMS = {"status": "status", "user": "group_by", "ip": "ip"}


def apply(conn: Connection, store: Store, endpoints: list[ev.Event],
          requests: Sequence[tuple[Any, ...]]) -> dict[str, Tally]:
    """Register ``endpoints`` and add ``requests`` (rows, see :mod:`heron.store.requests`)
    to every rollup; returns the requests' tallies per app for the event counts."""
    if endpoints:
        _register(conn, store, endpoints)
    return _request_rollups(conn, store, requests) if requests else {}


def _register(conn: Connection, store: Store, endpoints: list[ev.Event]) -> None:
    rows = {}
    for e in endpoints:
        assert isinstance(e, ev.Endpoint)
        rows.setdefault((e.app, e.endpoint), {
            "app": e.app, "endpoint": e.endpoint, "monitor_level": e.monitor_level,
            "first_ts": e.ts, "last_ts": 0.0})
    stmt = insert_for(conn, store.table("endpoint")).on_conflict_do_nothing(
        index_elements=["app", "endpoint"])
    conn.execute(stmt, list(rows.values()))


def _seen(conn: Connection, store: Store, spans: dict[tuple[str, str], list[float]]) -> None:
    """Endpoints requested: registered at level 1 if new, ``last_ts`` moved forward."""
    merge_rows(conn, store.table("endpoint"), ("app", "endpoint"),
               ("monitor_level", "first_ts", "last_ts"),
               [(app, name, 1, first, last) for (app, name), (first, last)
                in sorted(spans.items())], {"last_ts": "max"})


def _request_rollups(conn: Connection, store: Store, requests: Sequence[tuple[Any, ...]]
                     ) -> dict[str, Tally]:
    """Every request rollup from one pass over the batch, each written as additive upserts.

    The pass only counts requests per distinct (endpoint, version, minute, latency bucket,
    status, user, IP): a batch holds far fewer of those than requests, and every rollup is
    then summed from them, so the per-request Python work is one dictionary update. The
    event counts of the home page (per app and minute) come from the same cells."""
    cells: dict[tuple[Any, ...], list[Any]] = {}
    # sketch.index inlined: a call per request was a sixth of this pass
    ceil, log, log_gamma, min_ms, min_index = (math.ceil, math.log, sketch.LOG_GAMMA,
                                               sketch.MIN_MS, sketch.MIN_INDEX)
    for _, app, ts, endpoint, method, status, ms, version, user, ip, sql_count, sql_ms \
            in requests:
        key = (app, endpoint, version, ts // 60,
               ceil(log(ms) / log_gamma) if ms > min_ms else min_index, status, user, ip,
               method)
        cell = cells.get(key)
        if cell is None:
            cells[key] = [1, ms, sql_count, sql_ms, ts, ts]
        else:
            cell[0] += 1
            cell[1] += ms
            cell[2] += sql_count
            cell[3] += sql_ms
            if ts < cell[4]:
                cell[4] = ts
            elif ts > cell[5]:
                cell[5] = ts
    minutes: dict[tuple[Any, ...], list[Any]] = {}
    hours: dict[tuple[Any, ...], list[Any]] = {}
    latency_hours: dict[tuple[Any, ...], int] = defaultdict(int)
    latency_days: dict[tuple[Any, ...], int] = defaultdict(int)
    groups: dict[tuple[Any, ...], list[Any]] = {}
    spans: dict[tuple[str, str], list[float]] = {}
    tallies: dict[str, Tally] = {}
    calls: dict[tuple[Any, ...], list[Any]] = {}
    latency_total: dict[tuple[Any, ...], int] = defaultdict(int)
    for (app, endpoint, version, minute, idx, status, user, ip, method), cell in cells.items():
        n, ms, sql_count, sql_ms, first, last = cell
        version = version or ""
        minute = int(minute) * 60
        tally = tallies.get(app)
        if tally is None:
            tallies[app] = Tally(n, first, last, {minute: n})
        else:
            tally.add(n, first, last, minute)
        hour = minute // 3600 * 3600
        errors = n if status >= SERVER_ERROR else 0
        for sums, key in ((minutes, (app, endpoint, version, minute)),
                          (hours, (app, endpoint, version, hour))):
            row = sums.get(key)
            if row is None:
                sums[key] = [n, errors, ms, sql_count, sql_ms]
            else:
                row[0] += n
                row[1] += errors
                row[2] += ms
                row[3] += sql_count
                row[4] += sql_ms
        latency_hours[(app, endpoint, version, hour, idx)] += n
        latency_total[(app, endpoint, idx)] += n
        call = calls.get((app, endpoint, method, f"{status // 100}xx"))
        if call is None:
            calls[(app, endpoint, method, f"{status // 100}xx")] = [n, ms]
        else:
            call[0] += n
            call[1] += ms
        latency_days[(app, endpoint, version, minute // 86400 * 86400, idx)] += n
        fields = {"status": status, "group_by": user, "ip": ip}
        for dim, field in GROUP_DIMS.items():
            value = fields[field]
            key = (app, endpoint, version, dim, "" if value is None else str(value)[:500], hour)
            row = groups.get(key)
            if row is None:
                groups[key] = [n, ms]
            else:
                row[0] += n
                row[1] += ms
        span = spans.get((app, endpoint))
        if span is None:
            spans[(app, endpoint)] = [first, last]
        else:
            span[0], span[1] = min(span[0], first), max(span[1], last)
    _seen(conn, store, spans)
    sums_columns = ("app", "endpoint", "version", "bucket")
    adds = ("count", "errors", "sum_ms", "sql_count", "sql_ms")
    for name, sums in (("rollup_request", minutes), ("rollup_request_hour", hours)):
        add_up(conn, store.table(name), sums_columns, adds,
               [(*key, *values) for key, values in sorted(sums.items())])
    latency_columns = ("app", "endpoint", "version", "bucket", "idx")
    for name, counts in (("rollup_latency", latency_hours),
                         ("rollup_latency_day", latency_days)):
        add_up(conn, store.table(name), latency_columns, ("count",),
               [(*key, n) for key, n in sorted(counts.items())])
    add_up(conn, store.table("rollup_group"),
           ("app", "endpoint", "version", "dim", "key", "bucket"), ("count", "sum_ms"),
           [(*key, *values) for key, values in sorted(groups.items())])
    add_up(conn, store.table("rollup_call"), ("app", "endpoint", "method", "status_class"),
           ("count", "sum_ms"), [(*key, *values) for key, values in sorted(calls.items())])
    add_up(conn, store.table("rollup_latency_total"), ("app", "endpoint", "idx"), ("count",),
           [(*key, n) for key, n in sorted(latency_total.items())])
    return tallies


@dataclass
class Tally:
    """Events of one app and kind in a batch: how many, the first and last event time, and
    how many per minute (start of the minute, epoch seconds)."""

    count: int
    first: float
    last: float
    minutes: dict[int, int]

    def add(self, n: int, first: float, last: float, minute: int) -> None:
        self.count += n
        if first < self.first:
            self.first = first
        if last > self.last:
            self.last = last
        self.minutes[minute] = self.minutes.get(minute, 0) + n


def add_up(conn: Connection, table: Any, keys: tuple[str, ...], adds: tuple[str, ...],
           rows: list[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (key columns, then the columns to add), adding to rows that exist
    (``count = count + excluded.count``): :func:`heron.store.bulk.merge_rows`. Keys must
    be unique within ``rows``; sorted rows take locks in one order across servers."""
    merge_rows(conn, table, keys, adds, rows, dict.fromkeys(adds, "add"))
