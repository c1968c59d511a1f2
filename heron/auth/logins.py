"""Login sessions, kept on the server so that they can end.

A signed cookie alone cannot be taken back: whoever holds a copy stays logged in until it
expires, after logout and after a password change. So the cookie holds only a random
session id, and the store keeps its SHA-256 digest with the user and two times:

* :func:`end` (logout) removes one session; :func:`end_all` removes every session of a
  user (:mod:`heron.auth.users` calls it when a password changes or a user is removed);
* :func:`check` refuses a session idle longer than SESSION_IDLE_HOURS or older than
  SESSION_MAX_DAYS, and notes when it was last used (at most once a minute, so a page
  that polls does not write on every request).
"""

from __future__ import annotations

import hashlib
import secrets
import time

from sqlalchemy import delete, or_, select, update

from heron.store import Store

#: Seconds between two notes of a session's use.
TOUCH_EVERY = 60.0


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()


def start(store: Store, username: str, ip: str | None, *, idle_s: float,
          max_s: float) -> str:
    """A new session for ``username``: returns its id (for the cookie, never stored)."""
    session_id = secrets.token_urlsafe(32)
    table = store.table("login_session")
    now = time.time()
    with store.write() as conn:
        conn.execute(delete(table).where(or_(table.c.last_seen_ts < now - idle_s,
                                             table.c.created_ts < now - max_s)))
        conn.execute(table.insert().values(id_hash=_digest(session_id), username=username,
                                           created_ts=now, last_seen_ts=now,
                                           ip=None if ip is None else str(ip)[:64]))
    return session_id


def check(store: Store, session_id: str, *, idle_s: float, max_s: float) -> str | None:
    """The user name of a live session, or None (unknown, ended, idle or too old)."""
    if not session_id or not isinstance(session_id, str) or len(session_id) > 200:
        return None
    table = store.table("login_session")
    digest = _digest(session_id)
    now = time.time()
    with store.read(primary=True) as conn:
        row = conn.execute(select(table.c.username, table.c.created_ts, table.c.last_seen_ts)
                           .where(table.c.id_hash == digest)).first()
    if row is None or now - row.last_seen_ts > idle_s or now - row.created_ts > max_s:
        return None
    if now - row.last_seen_ts > TOUCH_EVERY:
        with store.write() as conn:
            conn.execute(update(table).where(table.c.id_hash == digest)
                         .values(last_seen_ts=now))
    return str(row.username)


def end(store: Store, session_id: str | None) -> None:
    """End one session (logout)."""
    if not session_id or not isinstance(session_id, str):
        return
    table = store.table("login_session")
    with store.write() as conn:
        conn.execute(delete(table).where(table.c.id_hash == _digest(session_id)))


def end_all(store: Store, username: str) -> int:
    """End every session of ``username`` (a new password, a removed user); returns how
    many were live."""
    table = store.table("login_session")
    with store.write() as conn:
        result = conn.execute(delete(table).where(table.c.username == username))
    return int(result.rowcount or 0)
