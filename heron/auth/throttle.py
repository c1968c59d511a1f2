"""Slow down password guessing: a few failed logins per user and address per minute.

Failures are kept in the store so every server process counts the same attempts.
"""

from __future__ import annotations

import time

from sqlalchemy import delete, func, select

from heron.store import Store

WINDOW = 60.0


def _key(username: str, ip: str | None) -> str:
    return f"{username.lower()[:200]}|{ip or '-'}"


def retry_after(store: Store, username: str, ip: str | None, limit: int) -> int:
    """Seconds to wait before the next attempt is allowed; 0 when allowed now."""
    table = store.table("login_failure")
    now = time.time()
    with store.read(primary=True) as conn:
        count, oldest = conn.execute(
            select(func.count(), func.min(table.c.ts))
            .where(table.c.key == _key(username, ip), table.c.ts > now - WINDOW)).one()
    if count < limit:
        return 0
    return max(1, int(oldest + WINDOW - now) + 1)


def record_failure(store: Store, username: str, ip: str | None) -> None:
    table = store.table("login_failure")
    now = time.time()
    with store.write() as conn:
        conn.execute(table.insert().values(key=_key(username, ip), ts=now))
        conn.execute(delete(table).where(table.c.ts < now - 10 * WINDOW))


def clear_failures(store: Store, username: str, ip: str | None) -> None:
    table = store.table("login_failure")
    with store.write() as conn:
        conn.execute(delete(table).where(table.c.key == _key(username, ip)))
