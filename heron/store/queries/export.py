"""Export any stored kind page by page, in a stable order, without OFFSET scans.

Pages are keyset-paged on each table's ``seq`` (insertion order): a cursor is the last
``seq`` returned, so page 10,000 costs what page 1 costs. ``endpoint`` (a small table with
each endpoint's monitor level) pages by offset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select

from heron.store import Store

#: What can be exported: the kind's name → its table.
EXPORT_KINDS: dict[str, str] = {
    name: name for name in (
        "request", "outlier", "profile", "run", "export", "session", "session_step",
        "resource", "log", "participant", "network", "node", "info", "transmission",
        "vector", "test_result", "exception", "endpoint",
    )
}
MAX_LIMIT = 10_000
DEFAULT_LIMIT = 1_000


@dataclass
class Page:
    items: list[dict[str, Any]]
    next_cursor: str | None


def parse_cursor(cursor: str | None) -> int:
    if cursor in (None, ""):
        return 0
    try:
        value = int(cursor)  # type: ignore[arg-type]
    except ValueError:
        raise ValueError(f"cursor {cursor!r} is not valid: pass back the next_cursor of "
                         "the previous page") from None
    if not 0 <= value < 2**63:
        raise ValueError(f"cursor {cursor[:40]!r} is not valid: pass back the next_cursor "  # type: ignore[index]
                         "of the previous page")
    return value


def export_page(store: Store, kind: str, *, app: str | None = None,
                since: float | None = None, until: float | None = None,
                limit: int = DEFAULT_LIMIT, cursor: str | None = None) -> Page:
    """One page of ``kind``'s rows after ``cursor``; ``next_cursor`` is None on the last."""
    if kind not in EXPORT_KINDS:
        raise KeyError(kind)
    if not 1 <= limit <= MAX_LIMIT:
        raise ValueError(f"limit must be between 1 and {MAX_LIMIT}, not {limit}")
    after = parse_cursor(cursor)
    if kind == "endpoint":
        return _endpoint_page(store, app, since, until, limit, after)
    table = store.table(EXPORT_KINDS[kind])
    query = select(table).where(table.c.seq > after)
    if app is not None:
        query = query.where(table.c.app == app)
    if since is not None:
        query = query.where(table.c.ts >= since)
    if until is not None:
        query = query.where(table.c.ts < until)
    query = query.order_by(table.c.seq).limit(limit)
    with store.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    next_cursor = str(rows[-1]["seq"]) if len(rows) == limit else None
    return Page(rows, next_cursor)


def export_count(store: Store, kind: str, *, app: str | None = None,
                 since: float | None = None, until: float | None = None) -> int:
    """How many rows of ``kind`` :func:`export_page` pages through with these filters."""
    if kind not in EXPORT_KINDS:
        raise KeyError(kind)
    table = store.table(EXPORT_KINDS[kind])
    when = table.c.last_ts if kind == "endpoint" else table.c.ts  # see _endpoint_page
    query = select(func.count()).select_from(table)
    if app is not None:
        query = query.where(table.c.app == app)
    if since is not None:
        query = query.where(when >= since)
    if until is not None:
        query = query.where(when < until)
    with store.read() as conn:
        return int(conn.execute(query).scalar_one())


def _endpoint_page(store: Store, app: str | None, since: float | None, until: float | None,
                   limit: int, offset: int) -> Page:
    """Endpoints with their monitor levels (a small table keyed by app and name, so the
    cursor is an offset; ``since``/``until`` apply to when each was last requested)."""
    table = store.table("endpoint")
    query = select(table)
    if app is not None:
        query = query.where(table.c.app == app)
    if since is not None:
        query = query.where(table.c.last_ts >= since)
    if until is not None:
        query = query.where(table.c.last_ts < until)
    query = query.order_by(table.c.app, table.c.endpoint).offset(offset).limit(limit)
    with store.read() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    return Page(rows, str(offset + limit) if len(rows) == limit else None)
