"""Ingest: turn a batch of events into rows, exactly once.

One transaction per batch:

1. the event ids go into the ``event`` ledger with ``ON CONFLICT DO NOTHING RETURNING id``;
   only ids that come back are new, so a retried batch changes nothing;
2. new events of append kinds (request, log, ...) are inserted into their tables;
3. new events of upsert kinds (participants, nodes, runs, sessions, ...) are merged per
   record, in event-time order, and applied with ``ON CONFLICT DO UPDATE`` of only the
   fields the events set; an entity update older than the stored state is not applied;
4. per-app, per-kind counters and per-minute counts (the home page's numbers and chart)
   are incremented.

With several servers on one PostgreSQL, a second delivery of the same id waits on the
ledger's unique key until the first commits, then finds it and does nothing.
"""

from __future__ import annotations

import operator
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import JSON, Table, func
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from heron import events as ev
from heron.store.bulk import execute_rows
from heron.store.rollups import add_up
from heron.store.rollups import apply as apply_rollups

if TYPE_CHECKING:
    from heron.store import Store

#: Rows per statement; keeps every dialect under its bound-parameter limits.
CHUNK = 2_000


@dataclass(frozen=True)
class IngestResult:
    """What one ingest did: events newly stored, and those already stored before."""

    stored: int
    duplicates: int


@dataclass(frozen=True)
class _Upsert:
    """How one kind maps onto a record updated in place."""

    table: str
    key: tuple[str, ...]              # conflict target
    fields: Callable[[ev.Event], dict[str, Any]]  # columns this event sets
    insert_defaults: dict[str, Any]   # values for columns no event has set yet
    keep_first: tuple[str, ...] = ()  # columns never overwritten once set (first seen)
    newer_only: bool = False  # apply an update only if its event time is not older


def _set_fields(event: ev.Event) -> dict[str, Any]:
    data = msgspec.to_builtins(event)  # UNSET fields are left out, and defaults too:
    data.pop("kind", None)
    data["app"] = event.app  # the default app ("default") is an app all the same
    data["ts"] = event.ts
    return data


def _entity(kind: str, defaults: dict[str, Any]) -> _Upsert:
    def fields(event: ev.Event) -> dict[str, Any]:
        data = _set_fields(event)
        event_id = data.pop("id")
        data["updated_ts"] = data["ts"]
        data["last_event_id"] = event_id
        if "status" in data and isinstance(data["status"], int):
            data["status"] = str(data["status"])
        return data

    key = ev.KINDS[kind].ENTITY_KEY
    assert key is not None
    return _Upsert(kind, ("app", key), fields,
                   {"failed": False, "details": {}, **defaults}, keep_first=("ts",),
                   newer_only=True)


def _run_start(event: ev.Event) -> dict[str, Any]:
    assert isinstance(event, ev.RunStart)
    return {"app": event.app, "run_id": event.run_id, "ts": event.ts,
            "run_class": event.run_class, "parent_id": event.parent_id,
            "dimensions": event.dimensions}


def _run_end(event: ev.Event) -> dict[str, Any]:
    assert isinstance(event, ev.RunEnd)
    return {"app": event.app, "run_id": event.run_id, "end_ts": event.ts,
            "outcome": event.outcome, "error_type": event.error_type,
            "error_message": event.error_message}


def _session_start(event: ev.Event) -> dict[str, Any]:
    assert isinstance(event, ev.SessionStart)
    data = _set_fields(event)
    data.pop("id")
    return data


def _session_end(event: ev.Event) -> dict[str, Any]:
    assert isinstance(event, ev.SessionEnd)
    return {"app": event.app, "session_id": event.session_id, "end_ts": event.ts,
            "outcome": event.outcome, "stage": event.stage, "error": event.error}


UPSERTS: dict[str, _Upsert] = {
    "participant": _entity("participant", {"status": "working"}),
    "network": _entity("network", {"role": "default", "full": False}),
    "node": _entity("node", {"type": "node"}),
    "info": _entity("info", {"type": "info"}),
    "transmission": _entity("transmission", {"status": "pending"}),
    "vector": _entity("vector", {}),
    "run_start": _Upsert("run", ("run_id",), _run_start, {"dimensions": {}}),
    "run_end": _Upsert("run", ("run_id",), _run_end, {"dimensions": {}}),
    "session_start": _Upsert("session", ("session_id",), _session_start, {"params": {}}),
    "session_end": _Upsert("session", ("session_id",), _session_end, {"params": {}}),
}

#: Kinds with their own writer below (not appended, not upserted by key).
SPECIAL = frozenset({"endpoint"})

#: Append-only kinds and the table each is stored in.
APPENDS: dict[str, str] = {
    kind: kind for kind in ev.KINDS if kind not in UPSERTS and kind not in SPECIAL
}


def insert_for(conn: Connection, table: Table) -> Any:
    """An INSERT with the dialect's ON CONFLICT clauses (SQLite or PostgreSQL)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def ingest(store: Store, events: Sequence[ev.Event]) -> IngestResult:
    """Store ``events``; return how many were new and how many already stored."""
    if not events:
        return IngestResult(0, 0)
    received_count = len(events)
    events = list(events)
    ev.ensure_ids(events)
    if len({e.id for e in events}) < received_count:  # a batch that repeats itself
        unique: dict[str, ev.Event] = {}
        for event in events:
            unique.setdefault(event.id, event)
        events = list(unique.values())
    received = time.time()
    by_kind: dict[str, list[ev.Event]] = defaultdict(list)
    for event in events:
        by_kind[event.__struct_config__.tag].append(event)  # type: ignore[index]
    with store.write() as conn:
        new_ids = _claim_ids(conn, store.table("event"), by_kind, received)
        if len(new_ids) < len(events):  # some were stored before: only the rest
            by_kind = defaultdict(list, {
                kind: fresh for kind, batch in by_kind.items()
                if (fresh := [e for e in batch if e.id in new_ids])})
        for kind, batch in by_kind.items():
            if kind in UPSERTS or kind in SPECIAL:
                continue
            _append(conn, store.table(APPENDS[kind]), batch)
        _apply_upserts(conn, store, by_kind)
        if "endpoint" in by_kind or "request" in by_kind:
            apply_rollups(conn, store, by_kind.get("endpoint", []),
                          by_kind.get("request", []))
        _count(conn, store, by_kind, received)
    return IngestResult(stored=len(new_ids), duplicates=received_count - len(new_ids))


def _claim_ids(conn: Connection, ledger: Table, by_kind: dict[str, list[ev.Event]],
               received: float) -> set[str]:
    rows = [(e.id, kind, e.app, e.ts, received)
            for kind, batch in by_kind.items() for e in batch]
    returned = bulk_insert(conn, ledger, ("id", "kind", "app", "ts", "received_at"), rows,
                           on_conflict_do_nothing=("id",), returning="id")
    return {r[0] for r in returned}


def _append(conn: Connection, table: Table, batch: list[ev.Event]) -> None:
    fields = batch[0].__struct_fields__
    names = tuple(n for n in fields if n in table.c)
    json_columns = {n for n in names if isinstance(table.c[n].type, JSON)}
    astuple = msgspec.structs.astuple
    if not json_columns:  # a request, a log line: the struct's own tuple, columns picked
        pick = operator.itemgetter(*(fields.index(n) for n in names))
        rows = [pick(astuple(event)) for event in batch]
    else:
        encode = msgspec.json.encode
        rows = [
            tuple(encode(v).decode() if n in json_columns else v
                  for n, v in zip(names, (getattr(event, n) for n in names), strict=True))
            for event in batch
        ]
    bulk_insert(conn, table, names, rows)


def bulk_insert(conn: Connection, table: Table, columns: Sequence[str],
                rows: Sequence[tuple[Any, ...]], *,
                on_conflict_do_nothing: Sequence[str] | None = None,
                returning: str | None = None) -> list[tuple[Any, ...]]:
    """Insert ``rows``: ``COPY`` on PostgreSQL, multi-row VALUES statements on SQLite
    (:mod:`heron.store.bulk`). JSON columns must be given as JSON text."""
    if not rows:
        return []
    quote = conn.dialect.identifier_preparer.quote
    tail = ""
    if on_conflict_do_nothing:
        tail += f" ON CONFLICT ({', '.join(quote(c) for c in on_conflict_do_nothing)}) " \
                "DO NOTHING"
    if returning:
        tail += f" RETURNING {quote(returning)}"
    if conn.dialect.name == "postgresql":
        return _pg_copy(conn, table, columns, rows, tail, returning is not None)
    names = ", ".join(quote(c) for c in columns)
    return execute_rows(conn, f"INSERT INTO {quote(table.name)} ({names}) VALUES ",
                        "(" + ", ".join("?" for _ in columns) + ")", tail, rows,
                        returning=returning is not None)


def _pg_copy(conn: Connection, table: Table, columns: Sequence[str],
             rows: Sequence[tuple[Any, ...]], tail: str, returning: bool
             ) -> list[tuple[Any, ...]]:
    """PostgreSQL's fast path: COPY (psycopg's C writer), through a staging table when
    rows may conflict or ids must come back."""
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        if not tail:
            with cur.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
            return []
        stage = quote(f"{table.name}_stage")
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} "
                    f"(LIKE {quote(table.name)}) ON COMMIT DELETE ROWS")
        cur.execute(f"TRUNCATE {stage}")
        with cur.copy(f"COPY {stage} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        cur.execute(f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} FROM {stage}"
                    f"{tail}")
        return [tuple(r) for r in cur.fetchall()] if returning else []


def _apply_upserts(conn: Connection, store: Store, by_kind: dict[str, list[ev.Event]]) -> None:
    # Merge every event for one record into one row of the fields they set, in event-time
    # order, so a batch touches each record once (PostgreSQL refuses a statement that
    # updates one row twice) and the latest value of each field wins.
    merged: dict[tuple[str, tuple[Any, ...]], dict[str, Any]] = {}
    specs: dict[str, _Upsert] = {}
    pending = [e for kind in UPSERTS for e in by_kind.get(kind, ())]
    pending.sort(key=lambda e: (e.ts, e.id))
    for event in pending:
        spec = UPSERTS[event.kind]
        fields = spec.fields(event)
        record_key = (spec.table, tuple(fields[k] for k in spec.key))
        specs.setdefault(spec.table, spec)
        row = merged.get(record_key)
        if row is None:
            merged[record_key] = fields
        else:
            for name, value in fields.items():
                if name in spec.keep_first and row.get(name) is not None:
                    continue
                row[name] = value
    groups: dict[tuple[str, frozenset[str]], list[dict[str, Any]]] = defaultdict(list)
    for (table_name, _), row in merged.items():
        groups[(table_name, frozenset(row))].append(row)
    for (table_name, names), rows in groups.items():
        spec = specs[table_name]
        table = store.table(table_name)
        defaults = {k: v for k, v in _all_defaults(table_name).items() if k not in names}
        stmt = insert_for(conn, table)
        update = {
            name: stmt.excluded[name]
            for name in names
            if name not in spec.key and name not in spec.keep_first
        }
        for name in spec.keep_first:
            if name in names:  # keep the first value once one is set
                update[name] = func.coalesce(table.c[name], stmt.excluded[name])
        # An update older than what is stored (a batch replayed from a client's spool after
        # newer ones arrived) must not undo the newer state.
        where = (stmt.excluded.updated_ts >= table.c.updated_ts) if spec.newer_only else None
        stmt = stmt.on_conflict_do_update(index_elements=list(spec.key), set_=update,
                                          where=where)
        full_rows = [{**defaults, **row} for row in rows]
        for chunk in _chunks(full_rows):
            conn.execute(stmt, list(chunk))


def _all_defaults(table_name: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in UPSERTS.values():
        if spec.table == table_name:
            out.update(spec.insert_defaults)
    return out


def _count(conn: Connection, store: Store, by_kind: dict[str, list[ev.Event]],
           received: float) -> None:
    """Per app and kind: events, first and last event time (``app_kind``), and events per
    minute (``event_minute``): the home page's numbers and chart."""
    totals: list[dict[str, Any]] = []
    minutes: list[tuple[Any, ...]] = []
    for kind, batch in sorted(by_kind.items()):
        per_app: dict[str, list[float]] = defaultdict(list)
        for event in batch:
            per_app[event.app].append(event.ts)
        for app, stamps in sorted(per_app.items()):
            totals.append({"app": app, "kind": kind, "count": len(stamps),
                           "first_ts": min(stamps), "last_ts": max(stamps),
                           "last_received_at": received})
            per_minute = Counter([int(ts // 60) * 60 for ts in stamps])
            minutes.extend((app, kind, bucket, n) for bucket, n in sorted(per_minute.items()))
    if not totals:
        return
    table = store.table("app_kind")
    stmt = insert_for(conn, table)
    least, greatest = (func.least, func.greatest) if conn.dialect.name == "postgresql" \
        else (func.min, func.max)
    stmt = stmt.on_conflict_do_update(
        index_elements=["app", "kind"],
        set_={
            "count": table.c.count + stmt.excluded.count,
            "first_ts": least(table.c.first_ts, stmt.excluded.first_ts),
            "last_ts": greatest(table.c.last_ts, stmt.excluded.last_ts),
            "last_received_at": stmt.excluded.last_received_at,
        },
    )
    conn.execute(stmt, sorted(totals, key=lambda row: (row["app"], row["kind"])))
    add_up(conn, store.table("event_minute"), ("app", "kind", "bucket"), ("count",),
           sorted(minutes))
