"""heron's own health, counted by the ingest APIs for Prometheus' ``/metrics``
(migration 0009, :mod:`heron.prometheus`):

* ``ingest_total``: events stored, found stored before (a retry) and refused, per source
  (``api`` for ``/api/v1/events``, ``otlp`` for ``/v1/*``; for OTLP, refused counts the
  items that made no event);
* ``ingest_latency``: how long each batch took from its body read to its answer, as a
  histogram (:data:`BUCKETS_S`) with the total;
* ``client_report``: what each sending client (``HttpSink``) last said with a batch, in
  its ``X-Heron-*`` headers: its spool backlog in bytes and its dead letters.

Every update adds to what is stored, or replaces one client's own row, so several servers
count together. They are written in the batch's own transaction.
"""

from __future__ import annotations

import time
from bisect import bisect_left
from typing import TYPE_CHECKING

from heron.store.bulk import merge_rows

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from heron.store import Store

#: Upper bounds of the ingest-latency histogram, in seconds (the last bucket is +Inf).
BUCKETS_S = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
#: A client's report older than this is no longer counted (it stopped sending, or died).
CLIENT_FRESH_S = 900.0


def record_ingest(store: Store, source: str, *, stored: int, duplicates: int, refused: int,
                  seconds: float, client: tuple[str, str, int, int] | None = None) -> None:
    """Count one batch of ``source`` in a transaction of its own (a batch whose events
    were not written: all refused); ``client`` is ``(client id, app, spool bytes, dead
    letters)`` when the sender reported them."""
    with store.write() as conn:
        write_ingest(conn, store, source, stored=stored, duplicates=duplicates,
                     refused=refused, seconds=seconds, client=client)


def write_ingest(conn: Connection, store: Store, source: str, *, stored: int,
                 duplicates: int, refused: int, seconds: float,
                 client: tuple[str, str, int, int] | None = None) -> None:
    """Count one batch of ``source`` on ``conn``: inside the batch's own transaction
    (``Store.ingest``'s ``note``), where a second transaction per batch cost 15%."""
    merge_rows(conn, store.table("ingest_total"), ("source", "outcome"), ("count",),
               [(source, outcome, n) for outcome, n in (
                   ("duplicate", duplicates), ("refused", refused), ("stored", stored))
                if n], {"count": "add"})
    merge_rows(conn, store.table("ingest_latency"), ("source", "bucket"),
               ("count", "sum_s"), [(source, bisect_left(BUCKETS_S, seconds), 1, seconds)],
               {"count": "add", "sum_s": "add"})
    if client is not None:
        merge_rows(conn, store.table("client_report"), ("client",),
                   ("app", "ts", "spool_bytes", "dead_letters"),
                   [(client[0], client[1], time.time(), client[2], client[3])],
                   {"app": "set", "ts": "set", "spool_bytes": "set", "dead_letters": "set"})
