"""Retention: delete raw web-monitoring rows older than a cut-off.

Raw requests, outliers, profiles and exceptions grow with traffic; the rollups
(``rollup_request``, ``rollup_latency``) keep the counts and percentiles of pruned
requests, so the overview and charts still cover the pruned period. The event ledger's
rows for pruned events are kept: a client replaying an old batch must still find them
already stored, not store them again. Requests have no ledger rows while they are stored
(their table's unique id keeps them once); pruning gives them theirs
(:func:`heron.store.requests.note_pruned`).
"""

from __future__ import annotations

from sqlalchemy import delete

from heron.store import Store
from heron.store.requests import note_pruned

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
        total = 0
        while True:  # in chunks: one huge delete would hold the write lock for long
            with store.write() as conn:
                seqs = conn.execute(table.select().with_only_columns(table.c.seq)
                                    .where(table.c.ts < older_than).limit(CHUNK)
                                    ).scalars().all()
                if not seqs:
                    break
                if kind == "request":
                    note_pruned(conn, store, seqs, older_than)
                conn.execute(delete(table).where(table.c.seq.in_(seqs)))
            total += len(seqs)
            if len(seqs) < CHUNK:
                break
        removed[kind] = total
    return removed
