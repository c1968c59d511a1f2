"""Create SQLAlchemy engines tuned for heron's two databases.

SQLite runs in WAL mode so the dashboard reads while ingest writes; a busy timeout lets
several processes (gunicorn workers, a CLI next to a server) share one file. PostgreSQL
needs nothing special beyond a pool that checks connections before use.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url

SQLITE_BUSY_TIMEOUT_MS = 30_000
SQLITE_CHECKPOINT_PAGES = 10_000  # 4 KiB pages


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Checkpoint every ~40 MB of WAL rather than SQLite's 4 MB: a page written again before
    # the checkpoint (an index's last pages, the rollups) is copied into the database once.
    # Ingest of requests: 5.6-5.8 -> 5.2 µs of CPU each (issue 16). The WAL file is cut back
    # to 64 MB after a checkpoint.
    cursor.execute(f"PRAGMA wal_autocheckpoint={SQLITE_CHECKPOINT_PAGES}")
    cursor.execute("PRAGMA journal_size_limit=67108864")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


_NO_VALUES: dict[Any, Any] = {}


def bind_none_directly() -> None:
    """Have SQLite's driver bind ``None`` as NULL at once. Process-wide: call it only in
    heron's own processes (its writer process, ``heron serve``), never in an app heron is
    bound to.

    For every ``None`` it binds, CPython's ``sqlite3`` first looks for an ``__adapt__`` on
    its protocol and a ``__conform__`` on ``None``, and each miss makes and clears an
    ``AttributeError``: 2,400 instructions a value, counted with callgrind. A request's row
    usually holds two (no version, no user): a seventh of its insert (issue 16). A
    registered adapter is found with one dictionary lookup; this one (a dict's ``get``)
    hands ``None`` back, so what is stored is the same NULL."""
    sqlite3.register_adapter(type(None), _NO_VALUES.get)


def make_engine(url: str) -> Engine:
    """An engine for ``url``: SQLite with WAL and a busy timeout, or PostgreSQL via psycopg."""
    parsed = make_url(url)
    kwargs: dict[str, Any] = {"future": True}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        # Ingest's statements repeat in a few sizes per table (heron.store.bulk): room in
        # the driver's statement cache for all of them next to the dashboard's queries.
        kwargs["connect_args"] = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000,
                                  "check_same_thread": False, "cached_statements": 512}
        engine = create_engine(parsed, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if parsed.get_backend_name() == "postgresql" and parsed.drivername == "postgresql":
        # A bare postgresql:// URL means psycopg 3, the driver heron installs.
        parsed = parsed.set(drivername="postgresql+psycopg")
    kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=20)
    return create_engine(parsed, **kwargs)
