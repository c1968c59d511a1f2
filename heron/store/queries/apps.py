"""Monitored apps: event counts by kind, last seen, recent events, events per minute.

Reads only the counters maintained at ingest (``app_kind``, ``event_minute``) and the
newest ledger rows, never the raw history.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy import func, select

from heron.store import Store, requests
from heron.store.queries import time_bucket


@dataclass
class AppSummary:
    app: str
    total: int = 0
    kinds: dict[str, int] = field(default_factory=dict)
    first_ts: float | None = None
    last_ts: float | None = None
    last_received_at: float | None = None


def known_apps(store: Store) -> list[str]:
    """Every app that has sent events, by name."""
    table = store.table("app_kind")
    with store.read() as conn:
        return list(conn.execute(select(table.c.app).distinct().order_by(table.c.app))
                    .scalars())


def app_summaries(store: Store, app: str | None = None) -> list[AppSummary]:
    """Every app (or one) with its counts per kind, most recently active first."""
    table = store.table("app_kind")
    query = select(table)
    if app is not None:
        query = query.where(table.c.app == app)
    apps: dict[str, AppSummary] = {}
    with store.read() as conn:
        for row in conn.execute(query):
            summary = apps.setdefault(row.app, AppSummary(row.app))
            summary.kinds[row.kind] = row.count
            summary.total += row.count
            summary.first_ts = min(filter(None, (summary.first_ts, row.first_ts)))
            summary.last_ts = max(filter(None, (summary.last_ts, row.last_ts)))
            summary.last_received_at = max(
                filter(None, (summary.last_received_at, row.last_received_at)))
    for summary in apps.values():
        summary.kinds = dict(sorted(summary.kinds.items()))
    return sorted(apps.values(), key=lambda s: -(s.last_received_at or 0))


def recent_events(store: Store, app: str | None = None, limit: int = 25) -> list[dict]:
    """The newest events received (kind, app, id, time), newest first.

    Requests have no ledger rows (:mod:`heron.store.requests`): the newest come from their
    own table, received when they happened."""
    ledger = store.table("event")
    query = (select(ledger.c.id, ledger.c.kind, ledger.c.app, ledger.c.ts,
                    ledger.c.received_at)
             .where(ledger.c.kind != "request")
             .order_by(ledger.c.received_at.desc(), ledger.c.id.desc()).limit(limit))
    if app is not None:
        query = query.where(ledger.c.app == app)
    with store.read() as conn:
        found = [dict(r._mapping) for r in conn.execute(query)]
        found.extend({**r, "kind": "request", "received_at": r["ts"]}
                     for r in requests.newest(conn, store, app, limit))
    found.sort(key=lambda e: (e["received_at"], e["id"]), reverse=True)
    return found[:limit]


def events_per_bucket(store: Store, window_s: int, app: str | None = None,
                      now: float | None = None) -> dict:
    """Event counts per kind over the last ``window_s`` seconds, in about 60 buckets."""
    now = time.time() if now is None else now
    step = max(60, (window_s // 60) // 60 * 60 or 60)
    start = int((now - window_s) // step) * step
    table = store.table("event_minute")
    bucket = time_bucket(store.dialect, table.c.bucket, step)
    query = (select(bucket.label("b"), table.c.kind, func.sum(table.c.count))
             .where(table.c.bucket >= start)
             .group_by("b", table.c.kind))
    if app is not None:
        query = query.where(table.c.app == app)
    buckets = list(range(start, int(now) + 1, step))
    index = {b: i for i, b in enumerate(buckets)}
    series: dict[str, list[int]] = {}
    with store.read() as conn:
        for b, kind, count in conn.execute(query):
            i = index.get(int(b))
            if i is None:
                continue
            series.setdefault(kind, [0] * len(buckets))[i] += int(count)
    return {"step": step, "buckets": buckets, "series": dict(sorted(series.items()))}
