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
* ``endpoint``: every endpoint seen, its monitor level and when it was first and last
  requested. An ``endpoint`` event registers one at the level it starts at; a level set
  later on the Rules page is never overwritten.

Every update adds to what is stored (``count = count + new``), so concurrent ingest from
several server processes never loses a count.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import case
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from heron import events as ev
from heron.store import sketch

if TYPE_CHECKING:
    from heron.store import Store

SERVER_ERROR = 500


def _insert(conn: Connection, table: Any) -> Any:
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def apply(conn: Connection, store: Store, endpoints: list[ev.Event],
          requests: list[ev.Event]) -> None:
    _register(conn, store, endpoints, requests)
    if requests:
        _sums(conn, store.table("rollup_request"), requests, 60)
        _sums(conn, store.table("rollup_request_hour"), requests, 3600)
        _latency(conn, store.table("rollup_latency"), requests, 3600)
        _latency(conn, store.table("rollup_latency_day"), requests, 86400)
        _groups(conn, store.table("rollup_group"), requests)


def _register(conn: Connection, store: Store, endpoints: list[ev.Event],
              requests: list[ev.Event]) -> None:
    table = store.table("endpoint")
    if endpoints:
        rows = {}
        for e in endpoints:
            assert isinstance(e, ev.Endpoint)
            rows.setdefault((e.app, e.endpoint), {
                "app": e.app, "endpoint": e.endpoint, "monitor_level": e.monitor_level,
                "first_ts": e.ts, "last_ts": 0.0})
        stmt = _insert(conn, table).on_conflict_do_nothing(index_elements=["app", "endpoint"])
        conn.execute(stmt, list(rows.values()))
    if requests:
        seen: dict[tuple[str, str], list[float]] = {}
        for r in requests:
            assert isinstance(r, ev.Request)
            span = seen.setdefault((r.app, r.endpoint), [r.ts, r.ts])
            span[0], span[1] = min(span[0], r.ts), max(span[1], r.ts)
        stmt = _insert(conn, table)
        stmt = stmt.on_conflict_do_update(
            index_elements=["app", "endpoint"],
            set_={"last_ts": case((stmt.excluded.last_ts > table.c.last_ts,
                                   stmt.excluded.last_ts), else_=table.c.last_ts)})
        conn.execute(stmt, [{"app": app, "endpoint": name, "monitor_level": 1,
                             "first_ts": first, "last_ts": last}
                            for (app, name), (first, last) in sorted(seen.items())])


def _sums(conn: Connection, table: Any, requests: list[ev.Event], step: int) -> None:
    sums: dict[tuple[str, str, str, int], list[float]] = defaultdict(
        lambda: [0, 0, 0.0, 0, 0.0])
    for r in requests:
        assert isinstance(r, ev.Request)
        row = sums[(r.app, r.endpoint, r.version or "", int(r.ts // step) * step)]
        row[0] += 1
        row[1] += r.status >= SERVER_ERROR
        row[2] += r.duration_ms
        row[3] += r.sql_count
        row[4] += r.sql_ms
    stmt = _insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["app", "endpoint", "version", "bucket"],
        set_={"count": table.c["count"] + stmt.excluded["count"],
              "errors": table.c.errors + stmt.excluded.errors,
              "sum_ms": table.c.sum_ms + stmt.excluded.sum_ms,
              "sql_count": table.c.sql_count + stmt.excluded.sql_count,
              "sql_ms": table.c.sql_ms + stmt.excluded.sql_ms})
    conn.execute(stmt, [{"app": a, "endpoint": e, "version": v, "bucket": b,
                         "count": int(c), "errors": int(err), "sum_ms": total,
                         "sql_count": int(queries), "sql_ms": sql_ms}
                        for (a, e, v, b), (c, err, total, queries, sql_ms)
                        in sorted(sums.items())])


def _latency(conn: Connection, table: Any, requests: list[ev.Event], step: int) -> None:
    counts: dict[tuple[str, str, str, int, int], int] = defaultdict(int)
    for r in requests:
        assert isinstance(r, ev.Request)
        counts[(r.app, r.endpoint, r.version or "", int(r.ts // step) * step,
                sketch.index(r.duration_ms))] += 1
    stmt = _insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["app", "endpoint", "version", "bucket", "idx"],
        set_={"count": table.c["count"] + stmt.excluded["count"]})
    rows = [{"app": a, "endpoint": e, "version": v, "bucket": b, "idx": i, "count": n}
            for (a, e, v, b, i), n in sorted(counts.items())]
    for start in range(0, len(rows), 2_000):
        conn.execute(stmt, rows[start:start + 2_000])


#: rollup_group's dimensions: what each counts requests by
GROUP_DIMS = {"status": "status", "user": "group_by", "ip": "ip"}


def _groups(conn: Connection, table: Any, requests: list[ev.Event]) -> None:
    sums: dict[tuple[str, str, str, str, str, int], list[float]] = defaultdict(
        lambda: [0, 0.0])
    for r in requests:
        assert isinstance(r, ev.Request)
        bucket = int(r.ts // 3600) * 3600
        for dim, key in (("status", str(r.status)), ("user", r.group_by or ""),
                         ("ip", r.ip or "")):
            row = sums[(r.app, r.endpoint, r.version or "", dim, key[:500], bucket)]
            row[0] += 1
            row[1] += r.duration_ms
    stmt = _insert(conn, table)
    stmt = stmt.on_conflict_do_update(
        index_elements=["app", "endpoint", "version", "dim", "key", "bucket"],
        set_={"count": table.c["count"] + stmt.excluded["count"],
              "sum_ms": table.c.sum_ms + stmt.excluded.sum_ms})
    rows = [{"app": a, "endpoint": e, "version": v, "dim": d, "key": k, "bucket": b,
             "count": int(n), "sum_ms": total}
            for (a, e, v, d, k, b), (n, total) in sorted(sums.items())]
    for start in range(0, len(rows), 2_000):
        conn.execute(stmt, rows[start:start + 2_000])
