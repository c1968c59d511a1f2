"""Ingest: turn a batch of events into rows, exactly once.

One transaction per batch:

1. the event ids go into the ``event`` ledger with ``ON CONFLICT DO NOTHING RETURNING id``;
   only ids that come back are new, so a retried batch changes nothing. Requests are the
   exception: their own table's unique id does the same (:mod:`heron.store.requests`);
2. new events of append kinds (log, export, ...) are inserted into their tables;
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
from sqlalchemy.engine import Connection

from heron import events as ev
from heron.store.bulk import bulk_insert, insert_for, merge_rows
from heron.store.requests import RequestRow, row_of
from heron.store.requests import claim as claim_requests
from heron.store.rollups import Tally, add_up
from heron.store.rollups import apply as apply_rollups
from heron.store.totals import apply as apply_totals

if TYPE_CHECKING:
    from heron.store import Store

#: Rows per statement; keeps every dialect under its bound-parameter limits.
CHUNK = 2_000

_first = operator.itemgetter(0)


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


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def ingest(store: Store, items: Sequence[ev.Event | RequestRow],
           note: Callable[[Connection, IngestResult], None] | None = None,
           by_id: frozenset[str] = frozenset()) -> IngestResult:
    """Store ``items`` (events, or requests as their rows); return how many were new and
    how many already stored. ``note`` writes more in the same transaction, once the
    result is known (the ingest APIs' own counts, :mod:`heron.store.health`): a second
    transaction per batch cost SQLite ingest 15%. ``by_id``: requests whose time the
    server made up, kept once by id alone (:func:`heron.store.requests.claim`)."""
    if not items:
        return IngestResult(0, 0)
    received_count = len(items)
    rows: list[RequestRow] = [item for item in items if item.__class__ is tuple]  # type: ignore[misc]
    events: list[ev.Event] = [] if len(rows) == len(items) else [
        item for item in items if item.__class__ is not tuple]  # type: ignore[misc]
    ev.ensure_ids(events)
    by_kind: dict[str, list[ev.Event]] = defaultdict(list)
    for event in events:
        by_kind[event.__struct_config__.tag].append(event)  # type: ignore[index]
    if "request" in by_kind:
        rows.extend(row_of(e) for e in by_kind.pop("request"))  # type: ignore[arg-type]
    events = [e for batch in by_kind.values() for e in batch]
    if len({e.id for e in events}) < len(events):  # a batch that repeats itself
        unique: dict[str, ev.Event] = {}
        for event in events:
            unique.setdefault(event.id, event)
        by_kind = defaultdict(list)
        for event in unique.values():
            by_kind[event.__struct_config__.tag].append(event)  # type: ignore[index]
    if len(set(map(_first, rows))) < len(rows):
        first: dict[str, RequestRow] = {}
        for row in rows:
            first.setdefault(row[0], row)
        rows = list(first.values())
    received = time.time()
    with store.write() as conn:
        new_ids = _claim_ids(conn, store.table("event"), by_kind, received)
        if len(new_ids) < sum(map(len, by_kind.values())):  # some stored before: the rest
            by_kind = defaultdict(list, {
                kind: fresh for kind, batch in by_kind.items()
                if (fresh := [e for e in batch if e.id in new_ids])})
        new_rows = claim_requests(conn, store, rows, received, by_id)
        for kind, batch in by_kind.items():
            if kind in UPSERTS or kind in SPECIAL:
                continue
            _append(conn, store.table(APPENDS[kind]), batch)
        _apply_upserts(conn, store, by_kind)
        tallies = apply_rollups(conn, store, by_kind.get("endpoint", []), new_rows)
        _count(conn, store, by_kind, {("request", app): t for app, t in tallies.items()},
               received)
        if ("log" in by_kind or "exception" in by_kind or "run_end" in by_kind
                or "export" in by_kind):
            apply_totals(conn, store, by_kind)
        stored = len(new_ids) + len(new_rows)
        result = IngestResult(stored=stored, duplicates=received_count - stored)
        if note is not None:
            note(conn, result)
    return result


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
    else:  # an export, a run: the struct's tuple, its JSON fields as JSON text
        encode = msgspec.json.encode
        places = [fields.index(n) for n in names]
        json_at = [i for i, n in enumerate(names) if n in json_columns]
        rows = []
        for event in batch:
            values = astuple(event)
            row = [values[i] for i in places]
            for i in json_at:
                row[i] = encode(row[i]).decode()
            rows.append(tuple(row))
    bulk_insert(conn, table, names, rows)


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
           tallies: dict[tuple[str, str], Tally], received: float) -> None:
    """Per app and kind: events, first and last event time (``app_kind``), and events per
    minute (``event_minute``): the home page's numbers and chart. ``tallies`` holds what
    was counted already (requests, in their rollups' pass), by kind and app."""
    tallies = dict(tallies)
    app_and_ts = operator.attrgetter("app", "ts")
    for kind, batch in by_kind.items():
        stamps: dict[str, list[float]] = {}  # by app: a batch is mostly of one app
        for app, ts in map(app_and_ts, batch):
            found = stamps.get(app)
            if found is None:
                stamps[app] = [ts]
            else:
                found.append(ts)
        for app, times in stamps.items():
            per_minute = Counter([int(ts // 60) * 60 for ts in times])
            first, last = min(times), max(times)
            tally = tallies.get((kind, app))
            if tally is None:
                tallies[(kind, app)] = Tally(len(times), first, last, dict(per_minute))
                continue
            for minute, n in per_minute.items():
                tally.add(n, first, last, minute)
    if not tallies:
        return
    totals = [(app, kind, t.count, t.first, t.last, received)
              for (kind, app), t in sorted(tallies.items(), key=lambda kv: (kv[0][1], kv[0][0]))]
    minutes = sorted((app, kind, bucket, n) for (kind, app), t in tallies.items()
                     for bucket, n in t.minutes.items())
    merge_rows(conn, store.table("app_kind"), ("app", "kind"),
               ("count", "first_ts", "last_ts", "last_received_at"), totals,
               {"count": "add", "first_ts": "min", "last_ts": "max",
                "last_received_at": "set"})
    add_up(conn, store.table("event_minute"), ("app", "kind", "bucket"), ("count",), minutes)
