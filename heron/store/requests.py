"""Requests: the one kind stored exactly once without the event ledger.

Requests are most of what a monitored service sends, and the ledger row each event gets
(its id, kind, app and times, under two indexes) cost about a quarter of storing one
(issue 16). A request's own table has a unique index on its id instead: the insert is
``ON CONFLICT (id) DO NOTHING RETURNING id``, and only the rows that come back are new and
counted in the rollups, so a retried batch still changes nothing.

A request pruned by retention leaves its table, so a client replaying it afterwards would
store it again. Pruning therefore copies the pruned ids into the ledger and records its
cut-off (the setting ``requests_pruned_before``); a request older than that cut-off is
claimed through the ledger as every other kind is. Live traffic is never that old, so it
never pays for it.

On PostgreSQL, retention drops whole time partitions (:mod:`heron.store.partitions`)
without copying ids: a request older than the newest dropped partition is not stored
again (it would be pruned at once) and counts as a duplicate.

A request arrives either as an :class:`~heron.events.Request` event or as its row: the
tuple of the event's fields in order (:data:`COLUMNS`), which the writer process makes
straight from the monitor's ``put()`` tuples without building events.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import select
from sqlalchemy.engine import Connection

from heron import events as ev
from heron.store.bulk import bulk_insert, float_setting, insert_for
from heron.store.partitions import dropped_before

if TYPE_CHECKING:
    from heron.store import Store

#: A request row's columns: the fields of :class:`heron.events.Request`, in order.
COLUMNS: tuple[str, ...] = ev.Request.__struct_fields__
ID, APP, TS = 0, 1, 2  # positions in a row

#: The ``setting`` that keeps the newest cut-off retention has pruned requests before.
PRUNED_BEFORE = "requests_pruned_before"

RequestRow = tuple[Any, ...]


def row_of(event: ev.Request) -> RequestRow:
    """The row of a request event (its id must be set)."""
    return msgspec.structs.astuple(event)


def claim(conn: Connection, store: Store, rows: Sequence[RequestRow], received: float,
          by_id: frozenset[str] = frozenset()) -> list[RequestRow]:
    """Insert ``rows`` (unique ids) into the request table; return those newly stored.

    ``by_id`` names requests whose time the server made up (sent without ``ts``): on a
    partitioned store, where the table's unique key is ``(id, ts)``, they are claimed by
    their id alone through the ledger, so a client re-sending them stores them once."""
    if not rows:
        return []
    if store.partitioned:  # older than a dropped partition: pruned already, not stored again
        dropped = dropped_before(conn, store, "request")
        if dropped is not None and any(row[TS] < dropped for row in rows):
            rows = [row for row in rows if row[TS] >= dropped]
            if not rows:
                return []
    cut = pruned_before(conn, store)
    if (cut is not None and any(row[TS] < cut for row in rows)) \
            or (by_id and store.partitioned):
        low = cut if cut is not None else float("-inf")
        rows = _claim_by_ledger(conn, store, rows, received,
                                lambda row: row[TS] < low or row[ID] in by_id)
        if not rows:
            return []
    returned = bulk_insert(conn, store.table("request"), COLUMNS, rows,
                           on_conflict_do_nothing=request_key(store), returning="id")
    if len(returned) == len(rows):
        return list(rows)
    new = {r[0] for r in returned}
    return [row for row in rows if row[ID] in new]


def request_key(store: Store) -> tuple[str, ...]:
    """The request table's unique key: ``(id, ts)`` once partitioned by time."""
    return ("id", "ts") if store.partitioned else ("id",)


def _claim_by_ledger(conn: Connection, store: Store, rows: Sequence[RequestRow],
                     received: float, through: Callable[[RequestRow], bool]
                     ) -> list[RequestRow]:
    """Rows ``through`` picks are claimed by id in the ledger first: a request older than
    the pruning cut-off (pruned since it was stored, its id kept there), or one whose time
    the server made up. The rest go on as they are."""
    picked = [row for row in rows if through(row)]
    old = [(row[ID], "request", row[APP], row[TS], received) for row in picked]
    returned = bulk_insert(conn, store.table("event"), ("id", "kind", "app", "ts",
                                                        "received_at"), old,
                           on_conflict_do_nothing=("id",), returning="id")
    fresh = {r[0] for r in returned}
    return [row for row in rows if not through(row) or row[ID] in fresh]


def endpoints_of(conn: Connection, store: Store, app: str | None = None
                 ) -> list[tuple[str, str]]:
    """``(app, endpoint)`` of every endpoint requested (of ``app``): each request registers
    its endpoint in the same transaction (:mod:`heron.store.rollups`). Queries of raw
    requests go through these, on the (app, endpoint, ts) index."""
    table = store.table("endpoint")
    query = select(table.c.app, table.c.endpoint).order_by(table.c.app, table.c.endpoint)
    if app is not None:
        query = query.where(table.c.app == app)
    return [(a, e) for a, e in conn.execute(query)]


def newest(conn: Connection, store: Store, app: str | None, limit: int
           ) -> list[dict[str, Any]]:
    """The ``limit`` newest requests (of ``app``): id, app and time, newest first."""
    request = store.table("request")
    columns = (request.c.id, request.c.app, request.c.ts)
    if app is None:  # the newest stored: the end of the primary key
        rows = conn.execute(select(*columns).order_by(request.c.seq.desc()).limit(limit))
        return [dict(r._mapping) for r in rows]
    found: list[dict[str, Any]] = []
    for _, endpoint in endpoints_of(conn, store, app):
        found.extend(dict(r._mapping) for r in conn.execute(
            select(*columns).where(request.c.app == app, request.c.endpoint == endpoint)
            .order_by(request.c.ts.desc()).limit(limit)))
    found.sort(key=lambda r: (r["ts"], r["id"]), reverse=True)
    return found[:limit]


def pruned_before(conn: Connection, store: Store) -> float | None:
    """The cut-off retention has pruned requests before, if any (read at every batch)."""
    return float_setting(conn, store, PRUNED_BEFORE)


def note_pruned(conn: Connection, store: Store, seqs: Sequence[int], older_than: float
                ) -> None:
    """Before requests ``seqs`` are deleted: their ids into the ledger, and the cut-off
    into ``requests_pruned_before`` (it only ever moves forward)."""
    request, ledger = store.table("request"), store.table("event")
    found = conn.execute(select(request.c.id, request.c.app, request.c.ts)
                         .where(request.c.seq.in_(seqs))).all()
    if found:
        conn.execute(insert_for(conn, ledger).on_conflict_do_nothing(index_elements=["id"]),
                     [{"id": i, "kind": "request", "app": a, "ts": t, "received_at": t}
                      for i, a, t in found])
    current = pruned_before(conn, store)
    if current is not None and current >= older_than:
        return
    setting = store.table("setting")
    stmt = insert_for(conn, setting)
    conn.execute(stmt.on_conflict_do_update(index_elements=["key"],
                                            set_={"value": stmt.excluded.value}),
                 {"key": PRUNED_BEFORE, "value": repr(float(older_than))})
