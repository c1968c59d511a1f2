"""Time partitions of the raw tables on PostgreSQL (issue 23).

The raw tables (requests, log lines, exports and resource samples) grow with traffic. On
PostgreSQL they are partitioned by event time (``ts``, epoch seconds)
with declarative range partitioning: one partition per PARTITION_DAYS days (default 1),
named after the first day it holds (``heron_request_p20261207``), and a default partition
for rows whose time no partition covers (a clock far off, data from long ago), so ingest
never fails for want of a partition.

* **Ahead of time:** :func:`ensure` creates the partitions of today and the next days.
  ``heron serve`` calls it at start and every hour under the ``partitions`` lease, so one
  server of a fleet does it; a bound app's writer calls it when it opens the store. Rows
  already in the default partition for a new partition's days are moved into it.
* **Retention drops partitions** (:func:`drop_before`): a partition whose last day is
  older than the retention cut-off is dropped whole, at no cost per row. The scheduled
  retention cuts at a partition boundary, so rows live up to one partition longer than
  RETENTION_DAYS; a prune to any other time (the dashboard's) deletes the rest row by row.
* **Uniqueness includes the time:** a partitioned table's unique keys must hold its
  partition key, so a request's unique id becomes ``(id, ts)``. An event's id and time
  travel together (a retried batch is the same bytes), so a retry is still found; a
  request sent without a time (the server gives it one) is claimed by its id in the
  ledger instead (:func:`heron.store.requests.claim`). A request older than the newest
  dropped partition is not stored again (it would be pruned at once): a duplicate.
* **The event ledger is not partitioned.** It is what keeps every other kind once by id,
  whatever time an event carries, and PostgreSQL has no unique index across partitions:
  partitioned by time, an event re-sent without its time would be stored twice. Its rows
  are small, and retention never drops them (a replayed old batch must find its ids).

SQLite keeps plain tables. Migration 0010 converts a PostgreSQL store in place (and back,
on downgrade).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.engine import Connection

from heron.store.bulk import float_setting

#: The partitioned tables, without the prefix (not the ledger: see above).
TABLES = ("request", "log", "export", "resource")
DAY = 86_400
#: Days of partitions :func:`ensure` keeps ready beyond today.
AHEAD_DAYS = 3
#: ``setting`` key: rows of a kind older than this were dropped with their partition.
DROPPED_BEFORE = "partitions_dropped_before:{kind}"

_BOUND = re.compile(r"FROM \('?([-0-9.e+]+)'?\) TO \('?([-0-9.e+]+)'?\)")


@dataclass(frozen=True)
class Partition:
    name: str
    start: float | None  # None: the default partition
    end: float | None


def partitioned(conn: Connection, table: str) -> bool:
    """Whether ``table`` (full name) is a partitioned table (PostgreSQL only)."""
    if conn.dialect.name != "postgresql":
        return False
    return bool(conn.exec_driver_sql(
        "SELECT 1 FROM pg_partitioned_table p JOIN pg_class c ON c.oid = p.partrelid "
        "WHERE c.relname = %s AND c.relnamespace = to_regnamespace(current_schema())::oid",
        (table,)).scalar())


def partitions(conn: Connection, table: str) -> list[Partition]:
    """The partitions of ``table`` (full name), oldest first, the default last."""
    rows = conn.exec_driver_sql(
        "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
        "JOIN pg_class c ON c.oid = i.inhrelid JOIN pg_class p ON p.oid = i.inhparent "
        "WHERE p.relname = %s AND p.relnamespace = to_regnamespace(current_schema())::oid",
        (table,)).all()
    found = []
    for name, bound in rows:
        match = _BOUND.search(bound or "")
        found.append(Partition(name, float(match.group(1)), float(match.group(2))) if match
                     else Partition(name, None, None))
    return sorted(found, key=lambda p: (p.start is None, p.start or 0.0))


def name_of(table: str, start: float) -> str:
    return f"{table}_p{datetime.fromtimestamp(start, UTC):%Y%m%d}"


def _span(start: float, end: float, days: int, taken: list[Partition]) -> list[tuple[float, float]]:
    """Ranges of ``days`` days (aligned to the epoch) that cover [start, end) and are not
    covered by ``taken`` yet, each clipped to the gaps between existing partitions."""
    size = days * DAY
    out: list[tuple[float, float]] = []
    cursor = start // size * size
    while cursor < end:
        low, high = cursor, cursor + size
        for p in taken:
            if p.start is None or p.end is None or p.end <= low or p.start >= high:
                continue
            if p.start <= low:
                low = max(low, p.end)
            else:
                high = min(high, p.start)
        if low < high:
            out.append((low, high))
        cursor += size
    return out


def create(conn: Connection, table: str, start: float, end: float) -> str:
    """Add the partition of [start, end) to ``table``, moving in the rows the default
    partition holds for it (one transaction: the caller's)."""
    name = name_of(table, start)
    default = f"{table}_pdefault"
    conn.exec_driver_sql(f'CREATE TABLE "{name}" (LIKE "{table}" INCLUDING DEFAULTS '
                         "INCLUDING GENERATED INCLUDING STORAGE)")
    columns = _stored_columns(conn, table)
    if any(p.start is None for p in partitions(conn, table)):
        conn.exec_driver_sql(
            f'WITH moved AS (DELETE FROM "{default}" WHERE ts >= %s AND ts < %s '
            f"RETURNING {columns}) INSERT INTO \"{name}\" ({columns}) SELECT {columns} FROM moved",
            (start, end))
    conn.exec_driver_sql(f'ALTER TABLE "{table}" ATTACH PARTITION "{name}" '
                         f"FOR VALUES FROM ({start!r}) TO ({end!r})")
    return name


def _stored_columns(conn: Connection, table: str) -> str:
    """The table's columns that can be written (generated ones left out), quoted."""
    names = conn.exec_driver_sql(
        "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attnum > 0 "
        "AND NOT attisdropped AND attgenerated = '' ORDER BY attnum", (table,)).scalars().all()
    return ", ".join(f'"{n}"' for n in names)


def ensure(store: Any, now: float | None = None, days: int = 1, ahead: int = AHEAD_DAYS
           ) -> list[str]:
    """Create the partitions of today and the next ``ahead`` days that are missing, each
    ``days`` long; returns their names. Nothing on SQLite or unpartitioned tables."""
    if store.dialect != "postgresql":
        return []
    now = time.time() if now is None else now
    made: list[str] = []
    with store.write() as conn:
        conn.exec_driver_sql("SELECT pg_advisory_xact_lock(hashtext(%s))",
                             (f"heron-partitions-{store.prefix}",))
        for kind in TABLES:
            table = store.table(kind).name
            if not partitioned(conn, table):
                continue
            for start, end in _span(now, now + (ahead + 1) * DAY, days,
                                    partitions(conn, table)):
                made.append(create(conn, table, start, end))
    return made


def drop_before(store: Any, kind: str, cutoff: float) -> tuple[int, float] | None:
    """Drop the partitions of ``kind`` whose rows are all older than ``cutoff``; returns
    (rows they held, the end of the newest dropped), or None when the table is not
    partitioned. The newest dropped end is kept (``partitions_dropped_before:<kind>``)."""
    if store.dialect != "postgresql":
        return None
    table = store.table(kind).name
    with store.write() as conn:
        if not partitioned(conn, table):
            return None
        old = [p for p in partitions(conn, table)
               if p.end is not None and p.end <= cutoff]
        rows = 0
        for p in old:
            rows += int(conn.exec_driver_sql(f'SELECT count(*) FROM "{p.name}"').scalar() or 0)
            conn.exec_driver_sql(f'DROP TABLE "{p.name}"')
        if not old:
            return 0, 0.0
        newest = max(p.end for p in old if p.end is not None)
        setting = store.table("setting").name
        conn.exec_driver_sql(
            f'INSERT INTO "{setting}" (key, value) VALUES (%s, %s) ON CONFLICT (key) DO UPDATE '
            f'SET value = GREATEST("{setting}".value::float, excluded.value::float)::text',
            (DROPPED_BEFORE.format(kind=kind), repr(newest)))
    return rows, newest


def dropped_before(conn: Connection, store: Any, kind: str) -> float | None:
    """The end of the newest partition of ``kind`` dropped by retention, if any."""
    if conn.dialect.name != "postgresql":
        return None
    return float_setting(conn, store, DROPPED_BEFORE.format(kind=kind))


def boundary(store: Any, kind: str, cutoff: float) -> float:
    """``cutoff`` moved back to the start of the partition holding it, on a partitioned
    table (so the scheduled retention only drops whole partitions); else unchanged."""
    if store.dialect != "postgresql":
        return cutoff
    table = store.table(kind).name
    with store.read(primary=True) as conn:
        if not partitioned(conn, table):
            return cutoff
        for p in partitions(conn, table):
            if p.start is not None and p.end is not None and p.start <= cutoff < p.end:
                return p.start
    return cutoff // DAY * DAY


# -- conversion (migration 0010) -----------------------------------------------------------
#: Unique indexes that take the partition key: a request's id.
UNIQUE_WITH_TS = {"request": "request_id"}


def convert(conn: Connection, prefix: str, now: float | None = None) -> None:
    """Turn the plain raw tables of ``prefix`` into partitioned ones, rows and indexes
    included (PostgreSQL; one transaction)."""
    now = time.time() if now is None else now
    for kind in TABLES:
        if not partitioned(conn, f"{prefix}{kind}"):
            _rebuild(conn, prefix, kind, partition_from=now)


def unconvert(conn: Connection, prefix: str) -> None:
    """Turn the partitioned raw tables back into plain ones, rows and indexes included."""
    for kind in TABLES:
        if partitioned(conn, f"{prefix}{kind}"):
            _rebuild(conn, prefix, kind, partition_from=None)


def _rebuild(conn: Connection, prefix: str, kind: str, partition_from: float | None) -> None:
    """Make ``kind``'s table anew, partitioned (with partitions for its rows and from
    ``partition_from`` on) or plain (``None``), with its columns, key, indexes, sequence
    and rows; the old table is dropped."""
    table = f"{prefix}{kind}"
    partition = partition_from is not None
    old = f"{table}_{'un' if partition else ''}partitioned"
    indexes = _rename_away(conn, table, old)
    conn.exec_driver_sql(f'CREATE TABLE "{table}" (LIKE "{old}" INCLUDING DEFAULTS '
                         "INCLUDING GENERATED INCLUDING STORAGE)"
                         + (" PARTITION BY RANGE (ts)" if partition else ""))
    conn.exec_driver_sql(f'ALTER TABLE "{table}" ADD CONSTRAINT "{table}_pkey" PRIMARY KEY '
                         f"({'seq, ts' if partition else 'seq'})")
    unique = f"{prefix}{UNIQUE_WITH_TS.get(kind, '')}"
    for name, definition in indexes:
        if name == unique:  # a partitioned table's unique keys hold the partition key
            definition = definition.replace("(id)", "(id, ts)") if partition \
                else definition.replace("(id, ts)", "(id)")
        conn.exec_driver_sql(definition.replace("ON ONLY ", "ON ")
                             .replace(f"{old} USING", f"{table} USING")
                             .replace(f'"{old}" USING', f'"{table}" USING'))
    _own_sequence(conn, old, table)
    if partition_from is not None:
        _first_partitions(conn, table, old, partition_from)
    columns = _stored_columns(conn, old)
    conn.exec_driver_sql(f'INSERT INTO "{table}" ({columns}) SELECT {columns} FROM "{old}"')
    conn.exec_driver_sql(f'DROP TABLE "{old}" CASCADE')


def _first_partitions(conn: Connection, table: str, old: str, now: float) -> None:
    """The default partition; the past in one partition per month that has rows in
    ``old`` (not a partition per day of a history that may span years); today and the
    next days, a partition each."""
    conn.exec_driver_sql(f'CREATE TABLE "{table}_pdefault" PARTITION OF "{table}" DEFAULT')
    today = now // DAY * DAY
    months = conn.exec_driver_sql(
        "SELECT DISTINCT extract(epoch FROM date_trunc('month', to_timestamp(ts) "
        f"AT TIME ZONE 'UTC'))::float8 FROM \"{old}\" WHERE ts >= 0 AND ts < %s",
        (today,)).scalars().all()
    for month in sorted(months):
        create(conn, table, month, min(_next_month(month), today))
    for a, b in _span(today, today + (AHEAD_DAYS + 1) * DAY, 1, partitions(conn, table)):
        create(conn, table, a, b)


def _next_month(start: float) -> float:
    day = datetime.fromtimestamp(start, UTC)
    following = day.replace(year=day.year + 1, month=1) if day.month == 12 \
        else day.replace(month=day.month + 1)
    return following.timestamp()


def _rename_away(conn: Connection, table: str, old: str) -> list[tuple[str, str]]:
    """Rename ``table`` to ``old``, drop its secondary indexes and rename its key
    (their names are the new table's); return the indexes' definitions."""
    indexes = [(n, d) for n, d in conn.exec_driver_sql(
        "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x "
        "JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = to_regclass(%s) "
        "AND NOT x.indisprimary", (table,)).all()]
    key = conn.exec_driver_sql("SELECT conname FROM pg_constraint WHERE contype = 'p' "
                               "AND conrelid = to_regclass(%s)", (table,)).scalar()
    conn.exec_driver_sql(f'ALTER TABLE "{table}" RENAME TO "{old}"')
    if key:
        conn.exec_driver_sql(f'ALTER TABLE "{old}" RENAME CONSTRAINT "{key}" TO "{old}_pkey"')
    for name, _ in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    return indexes


def _own_sequence(conn: Connection, old: str, table: str) -> None:
    """The ``seq`` column's sequence belongs to the new table, so dropping the old one
    keeps it (and its position)."""
    sequence = conn.exec_driver_sql("SELECT pg_get_serial_sequence(%s, 'seq')",
                                    (old,)).scalar()
    if sequence:
        conn.exec_driver_sql(f'ALTER SEQUENCE {sequence} OWNED BY "{table}".seq')
