"""Experiment sessions for the Sessions tab: the list, one session's steps, resource
samples and log."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from heron.store import Store


def sessions(store: Store, *, app: str | None = None, since: float | None = None,
             subject: str | None = None, user: str | None = None,
             outcome: str | None = None, limit: int = 500) -> list[dict[str, Any]]:
    table = store.table("session")
    query = select(table).order_by(table.c.ts.desc()).limit(limit)
    for column, value in (("app", app), ("subject_id", subject), ("user_id", user)):
        if value:
            query = query.where(table.c[column] == value)
    if outcome == "running":
        query = query.where(table.c.end_ts.is_(None))
    elif outcome:
        query = query.where(table.c.outcome == outcome)
    if since is not None:
        query = query.where(table.c.ts >= since)
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def session(store: Store, session_id: str) -> dict[str, Any] | None:
    table = store.table("session")
    with store.read() as conn:
        row = conn.execute(select(table).where(table.c.session_id == session_id)).first()
    return dict(row._mapping) if row else None


def steps(store: Store, session_id: str) -> list[dict[str, Any]]:
    table = store.table("session_step")
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(table).where(table.c.session_id == session_id).order_by(table.c.seq))]


def resources(store: Store, session_id: str) -> list[dict[str, Any]]:
    table = store.table("resource")
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(table.c.ts, table.c.cpu_percent, table.c.rss_bytes,
                   table.c.sys_cpu_percent, table.c.sys_memory_percent,
                   table.c.disk_free_bytes)
            .where(table.c.session_id == session_id).order_by(table.c.ts))]


def marks(store: Store, session_id: str) -> dict[str, list[str]]:
    """The session's notes and crash report links, picked out of its log."""
    table = store.table("log")
    out: dict[str, list[str]] = {"note": [], "crash_report": []}
    with store.read() as conn:
        for (extra,) in conn.execute(select(table.c.extra).where(
                table.c.session_id == session_id).order_by(table.c.seq)):
            for key in out:
                if isinstance(extra, dict) and extra.get(key):
                    out[key].append(str(extra[key]))
    return out


def log_lines(store: Store, session_id: str, after: int = 0, limit: int = 2_000
              ) -> list[dict[str, Any]]:
    """The session's log records after ``seq`` ``after``, oldest first."""
    table = store.table("log")
    with store.read() as conn:
        return [dict(r._mapping) for r in conn.execute(
            select(table.c.seq, table.c.ts, table.c.level, table.c.logger, table.c.message,
                   table.c.exc_text)
            .where(table.c.session_id == session_id, table.c.seq > after)
            .order_by(table.c.seq).limit(limit))]
