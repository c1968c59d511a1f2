"""Retention: delete raw web-monitoring rows older than a cut-off.

Raw requests, outliers, profiles and exceptions grow with traffic; the rollups
(``rollup_request``, ``rollup_latency``) keep the counts and percentiles of pruned
requests, so the overview and charts still cover the pruned period. The event ledger's
rows for pruned events are kept: a client replaying an old batch must still find them
already stored, not store them again. Requests have no ledger rows while they are stored
(their table's unique id keeps them once); pruning gives them theirs
(:func:`heron.store.requests.note_pruned`).

On PostgreSQL, requests and log lines are partitioned by time
(:mod:`heron.store.partitions`): partitions wholly older than the cut-off are dropped,
without a cost per row, and only the rows left before the cut-off are deleted one by one.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete

from heron.store import Store
from heron.store.partitions import TABLES, drop_before
from heron.store.requests import endpoints_of, note_pruned

PRUNED = ("request", "outlier", "profile", "exception")
CHUNK = 10_000  # under SQLite's bound-parameter limit


def prune(store: Store, older_than: float, kinds: tuple[str, ...] = PRUNED
          ) -> dict[str, int]:
    """Delete rows of ``kinds`` with ``ts`` before ``older_than``; how many went, per kind.

    Log lines have their own age (LOG_RETENTION_DAYS): ``prune(store, t, kinds=("log",))``.
    """
    removed: dict[str, int] = {}
    for kind in kinds:
        table = store.table(kind)
        dropped = drop_before(store, kind, older_than) if kind in TABLES else None
        if dropped is not None:  # whole partitions first; what is left, row by row
            removed[kind] = dropped[0]
        if kind != "request":
            removed[kind] = removed.get(kind, 0) + _prune(store, table, older_than,
                                                          table.c.ts < older_than)
            continue
        with store.read() as conn:  # requests: endpoint by endpoint, on their index
            pairs = endpoints_of(conn, store)
        removed[kind] = removed.get(kind, 0) + sum(
            _prune(store, table, older_than, (table.c.app == app) & (table.c.endpoint == e)
                   & (table.c.ts < older_than), requests=True)
            for app, e in pairs)
    return removed


def _prune(store: Store, table: Any, older_than: float, where: Any, *,
           requests: bool = False) -> int:
    total = 0
    while True:  # in chunks: one huge delete would hold the write lock for long
        with store.write() as conn:
            seqs = conn.execute(table.select().with_only_columns(table.c.seq)
                                .where(where).limit(CHUNK)).scalars().all()
            if not seqs:
                break
            if requests:
                note_pruned(conn, store, seqs, older_than)
            conn.execute(delete(table).where(table.c.seq.in_(seqs)))
        total += len(seqs)
        if len(seqs) < CHUNK:
            break
    return total
