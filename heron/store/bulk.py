"""Multi-row statements straight through the database driver: the store's hot write path.

SQLAlchemy's per-row parameter processing costs more than the database's own work at
ingest's batch sizes, so ingest builds ``INSERT … VALUES (…), (…), …`` itself.

On SQLite the rows go in through the driver's own cursor, in chunks whose sizes are powers
of two up to :data:`SQLITE_CHUNK` rows. A statement's text then repeats from batch to batch,
so the driver's statement cache hands back the compiled statement. Compiling a fresh
statement of a batch's exact size, as ingest did, cost more than running it: request events
took 11.1–12.4 µs of CPU each to ingest, 7.3–10.1 in these chunks (any cap from 128 to
2,048 rows measured alike, within the noise).
The cursor's rows are plain tuples, and heron's own writes fire no engine events.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

#: Largest chunk on SQLite, in rows (a power of two).
SQLITE_CHUNK = 128


def sqlite_chunks(rows: Sequence[Any], cap: int = SQLITE_CHUNK) -> Iterator[Sequence[Any]]:
    """``rows`` in chunks of ``cap`` rows, then the rest in descending powers of two: a
    batch of any size uses at most ``log2(cap) + 1`` distinct statement texts."""
    start, left = 0, len(rows)
    size = cap
    while left:
        while size > left:
            size //= 2
        yield rows[start:start + size]
        start += size
        left -= size


def execute_rows(conn: Connection, head: str, row_sql: str, tail: str,
                 rows: Sequence[tuple[Any, ...]], *, returning: bool = False,
                 chunk: int = 1_000) -> list[tuple[Any, ...]]:
    """Run ``head + (row_sql, row_sql, …) + tail`` over ``rows``; the rows a ``RETURNING``
    tail gives back, when ``returning``. ``chunk`` is the rows per statement off SQLite
    (keep ``chunk`` × parameters per row under PostgreSQL's 65,535)."""
    out: list[tuple[Any, ...]] = []
    if not rows:
        return out
    if conn.dialect.name == "sqlite":
        cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            for part in sqlite_chunks(rows):
                cursor.execute(statement(head, row_sql, tail, len(part)),
                               tuple(chain.from_iterable(part)))
                if returning:
                    out.extend(cursor.fetchall())
        finally:
            cursor.close()
        return out
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        result = conn.exec_driver_sql(statement(head, row_sql, tail, len(part)),
                                      tuple(chain.from_iterable(part)))
        if returning:
            out.extend(tuple(r) for r in result.fetchall())
    return out


@lru_cache(maxsize=1024)
def statement(head: str, row_sql: str, tail: str, rows: int) -> str:
    """``head`` + ``rows`` times ``row_sql`` + ``tail``: the text of a multi-row statement,
    made once per shape (a chunk of 128 rows is a 3 kB string)."""
    return head + ", ".join([row_sql] * rows) + tail


#: How :func:`merge_rows` updates a column of a row that exists, by dialect.
_MERGES = {
    "add": ("{t}.{c} + excluded.{c}", "{t}.{c} + excluded.{c}"),
    "min": ("min({t}.{c}, excluded.{c})", "least({t}.{c}, excluded.{c})"),
    "max": ("max({t}.{c}, excluded.{c})", "greatest({t}.{c}, excluded.{c})"),
    "set": ("excluded.{c}", "excluded.{c}"),
    # the new value if its row is at least as new (by ``ts``): a last-value column
    "newer": ("CASE WHEN excluded.ts >= {t}.ts THEN excluded.{c} ELSE {t}.{c} END",
              "CASE WHEN excluded.ts >= {t}.ts THEN excluded.{c} ELSE {t}.{c} END"),
}


def merge_rows(conn: Connection, table: Any, keys: Sequence[str], others: Sequence[str],
               rows: Sequence[tuple[Any, ...]], updates: dict[str, str]) -> None:
    """Insert ``rows`` (the ``keys`` columns, then ``others``); where a row with the same
    keys exists, update each column named in ``updates`` by its rule (``add``, ``min``,
    ``max``, ``set`` to the new value, or ``newer``: the new value when the new row's
    ``ts`` is not older) and leave the rest. Every rule reads the row as it was.

    One multi-row ``INSERT … ON CONFLICT DO UPDATE`` through the driver: ingest's per-batch
    upserts (rollups, counts, endpoints) cost several times more as SQLAlchemy constructs,
    compiled per batch.
    Keys must be unique within ``rows`` (PostgreSQL refuses to update a row twice in one
    statement)."""
    if not rows:
        return
    head, row_sql, tail = _merge_sql(conn.dialect, table.name, tuple(keys), tuple(others),
                                     tuple(updates.items()))
    execute_rows(conn, head, row_sql, tail, rows)


@lru_cache(maxsize=256)
def _merge_sql(dialect: Any, table_name: str, keys: tuple[str, ...], others: tuple[str, ...],
               updates: tuple[tuple[str, str], ...]) -> tuple[str, str, str]:
    """The head, row and tail of :func:`merge_rows`'s statement, made once per table and
    dialect: ingest merges into ten tables per batch, and quoting their names and columns
    again each time was a third of a batch's fixed cost."""
    quote = dialect.identifier_preparer.quote
    name = quote(table_name)
    pg = int(dialect.name == "postgresql")
    marker = "%s" if dialect.paramstyle in ("format", "pyformat") else "?"
    sets = ", ".join(f"{quote(c)} = " + _MERGES[rule][pg].format(t=name, c=quote(c))
                     for c, rule in updates)
    tail = f" ON CONFLICT ({', '.join(quote(k) for k in keys)}) DO UPDATE SET {sets}"
    columns = ", ".join(quote(c) for c in (*keys, *others))
    return (f"INSERT INTO {name} ({columns}) VALUES ",
            "(" + ", ".join([marker] * (len(keys) + len(others))) + ")", tail)


def float_setting(conn: Connection, store: Any, key: str) -> float | None:
    """The number kept under ``key`` in the ``setting`` table, read in ``conn``'s
    transaction through the driver's cursor: ingest reads its cut-offs there in every batch
    (:mod:`heron.store.requests`, :mod:`heron.store.partitions`), where SQLAlchemy's
    execution context cost ten times the query."""
    marker = "%s" if conn.dialect.paramstyle in ("format", "pyformat") else "?"
    table = conn.dialect.identifier_preparer.quote(store.table("setting").name)
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        cursor.execute(f"SELECT value FROM {table} WHERE key = {marker}", (key,))
        row = cursor.fetchone()
    finally:
        cursor.close()
    return None if row is None else float(row[0])


def insert_for(conn: Connection, table: Table) -> Any:
    """An INSERT with the dialect's ON CONFLICT clauses (SQLite or PostgreSQL)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(table)


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
        if on_conflict_do_nothing and (returning is None or returning in columns):
            new = _pg_copy_all_new(conn, table, columns, rows,
                                   None if returning is None else list(columns).index(returning))
            if new is not None:
                return new
        return _pg_copy(conn, table, columns, rows, tail, returning is not None)
    names = ", ".join(quote(c) for c in columns)
    head = f"INSERT INTO {quote(table.name)} ({names}) VALUES "
    row_sql = "(" + ", ".join("?" for _ in columns) + ")"
    if returning and on_conflict_do_nothing:
        return _sqlite_new_keys(conn, table, head, row_sql, tail.split(" RETURNING ")[0],
                                rows, columns.index(returning), returning)
    return execute_rows(conn, head, row_sql, tail, rows, returning=returning is not None)


def _sqlite_new_keys(conn: Connection, table: Table, head: str, row_sql: str, tail: str,
                     rows: Sequence[tuple[Any, ...]], key: int, key_name: str
                     ) -> list[tuple[Any, ...]]:
    """``INSERT … ON CONFLICT DO NOTHING`` on SQLite, returning the ``key`` of each row
    newly stored, without ``RETURNING`` (which cost a quarter of a request's insert,
    issue 16). The driver's row count says how many rows of a chunk went in; when all
    did, the keys are the chunk's own. When some were there already, the new rows are the
    last ``rowcount`` rowids up to ``lastrowid``: a statement's new rows get consecutive
    rowids (each the largest so far plus one), and the write transaction holds SQLite's
    only write lock."""
    out: list[tuple[Any, ...]] = []
    quote = conn.dialect.identifier_preparer.quote
    cursor = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
    try:
        for part in sqlite_chunks(rows):
            cursor.execute(statement(head, row_sql, tail, len(part)),
                           tuple(chain.from_iterable(part)))
            added = cursor.rowcount
            if added == len(part):
                out.extend(zip(map(itemgetter(key), part)))  # (key,) of each, in C
            elif added > 0:
                last = cursor.lastrowid
                out.extend(cursor.execute(
                    f"SELECT {quote(key_name)} FROM {quote(table.name)} "
                    "WHERE rowid > ? AND rowid <= ?", (last - added, last)).fetchall())
    finally:
        cursor.close()
    return out


def _pg_copy_all_new(conn: Connection, table: Table, columns: Sequence[str],
                     rows: Sequence[tuple[Any, ...]], key: int | None
                     ) -> list[tuple[Any, ...]] | None:
    """``COPY`` straight into ``table``, betting that every row is new (a first delivery,
    the usual case); returns the ``key`` column of each row (all are new), or ``None``
    when a row was there already (a retried batch, or one another server is storing):
    the COPY is undone to its savepoint and the caller takes the staging table's
    ``ON CONFLICT DO NOTHING`` path. Through a staging table, each row was written twice:
    PostgreSQL ingest spent about a third of its time there (issue 23)."""
    from psycopg.errors import UniqueViolation

    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    raw = conn.connection.driver_connection
    assert raw is not None
    with raw.cursor() as cur:
        cur.execute("SAVEPOINT heron_copy")
        try:
            _copy_in(cur, quote(table.name), names, rows)
        except UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT heron_copy")
            return None
        cur.execute("RELEASE SAVEPOINT heron_copy")
    return [] if key is None else [(row[key],) for row in rows]


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
            _copy_in(cur, quote(table.name), names, rows)
            return []
        # the staged columns only, without their constraints (a table's seq is filled in
        # by its own default on the way out); one staging table per set of columns
        digest = zlib.crc32(names.encode()) & 0xFFFF
        stage = quote(f"{table.name}_stage_{digest:04x}")
        cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS {stage} ON COMMIT DELETE ROWS AS "
                    f"SELECT {names} FROM {quote(table.name)} WITH NO DATA")
        cur.execute(f"TRUNCATE {stage}")
        _copy_in(cur, stage, names, rows)
        cur.execute(f"INSERT INTO {quote(table.name)} ({names}) SELECT {names} FROM {stage}"
                    f"{tail}")
        return [tuple(r) for r in cur.fetchall()] if returning else []


def _copy_in(cur: Any, target: str, names: str, rows: Sequence[tuple[Any, ...]]) -> None:
    """``COPY`` ``rows`` into ``target`` (quoted) as its columns ``names``, through
    psycopg's C row writer."""
    with cur.copy(f"COPY {target} ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
