"""heron's store: one interface (writer + queries) over SQLite or PostgreSQL.

Sources never touch the store directly; they emit events and a sink calls
:meth:`Store.ingest`. Pages and the CLI read through the query modules in
``heron.store.queries``, which take a :class:`Store`.

With a read replica (DATABASE_READ_URL), :meth:`Store.read` connects to the replica and
:meth:`Store.write` to the primary. What must see its own or other servers' latest writes
(logins, users, tokens, alerts, a page right after a write) reads the primary, with
``read(primary=True)`` or inside :meth:`Store.primary`. A replica that cannot be reached
sends reads to the primary, with a warning, rather than failing a page.
"""

from __future__ import annotations

import fcntl
import logging
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import Table, text
from sqlalchemy.engine import Connection, Engine, make_url
from sqlalchemy.exc import OperationalError, SQLAlchemyError

from heron.errors import StoreError
from heron.events import Event
from heron.store import migrate
from heron.store.engine import make_engine
from heron.store.schema import build_metadata
from heron.store.writer import IngestResult, ingest

__all__ = ["Store", "IngestResult", "open_store"]

logger = logging.getLogger("heron")

#: Set inside :meth:`Store.primary`: reads of this thread or task go to the primary.
_on_primary: ContextVar[bool] = ContextVar("heron_store_on_primary", default=False)

#: After a replica connection fails, reads stay on the primary this long before trying it
#: again (one warning per outage, not one per page).
REPLICA_RETRY_S = 30.0


class Store:
    """A migrated database with heron's tables under one prefix."""

    def __init__(self, engine: Engine, prefix: str = "heron_", *,
                 read_engine: Engine | None = None):
        self.engine = engine
        #: the read replica's engine (DATABASE_READ_URL), or None: reads on the primary
        self.read_engine = read_engine
        self._replica_down_until = 0.0
        self._partitioned: bool | None = None  # read once, after migrations
        self.prefix = prefix
        self.metadata = build_metadata(prefix)
        self.dialect = engine.dialect.name
        # One writer at a time per SQLite file in this process: SQLite has a single write
        # lock anyway, and queueing here is cheaper than retrying on SQLITE_BUSY.
        self._write_lock = threading.Lock() if self.dialect == "sqlite" else None

    # -- tables ------------------------------------------------------------------------
    @property
    def partitioned(self) -> bool:
        """Whether the raw tables are partitioned by time (PostgreSQL, migration 0010):
        then a request's unique key is ``(id, ts)`` (:mod:`heron.store.partitions`)."""
        found = self._partitioned
        if found is None:
            from heron.store.partitions import partitioned

            with self.engine.connect() as conn:
                found = self._partitioned = partitioned(conn, self.table("request").name)
        return found

    def table(self, name: str) -> Table:
        """The table called ``name`` without the prefix (``store.table("request")``)."""
        return self.metadata.tables[self.prefix + name]

    # -- transactions --------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction, committed when the block ends without error."""
        if self._write_lock is None:
            with self.engine.begin() as conn:
                yield conn
            return
        with self._write_lock, self.engine.begin() as conn:
            yield conn

    @contextmanager
    def read(self, *, primary: bool = False) -> Iterator[Connection]:
        """A connection for queries: on the read replica if there is one, unless
        ``primary`` or inside :meth:`primary` (what must see the latest writes)."""
        replica = self.read_engine
        if replica is None or primary or _on_primary.get() \
                or time.monotonic() < self._replica_down_until:
            with self.engine.connect() as conn:
                yield conn
            return
        try:
            conn = replica.connect()
        except OperationalError as exc:
            self._replica_down_until = time.monotonic() + REPLICA_RETRY_S
            reason = _first_line(exc)
            logger.warning("heron: the read replica %s cannot be reached (%s); reading "
                           "from the primary for %.0f s",
                           replica.url.render_as_string(hide_password=True), reason,
                           REPLICA_RETRY_S)
            with self.engine.connect() as conn:
                yield conn
            return
        with conn:
            yield conn

    @contextmanager
    def primary(self) -> Iterator[None]:
        """Within the block, this thread's (or task's) reads go to the primary."""
        token = _on_primary.set(True)
        try:
            yield
        finally:
            _on_primary.reset(token)

    # -- ingest --------------------------------------------------------------------------
    def ingest(self, events: Sequence[Event],
               note: Callable[[Connection, IngestResult], None] | None = None,
               by_id: frozenset[str] = frozenset()) -> IngestResult:
        """Store events exactly once (see :mod:`heron.store.writer`); ``note`` writes
        more in the same transaction once the result is known; ``by_id`` names requests
        sent without a time, kept once by their id alone."""
        return ingest(self, events, note, by_id)

    # -- schema --------------------------------------------------------------------------
    def upgrade(self) -> str:
        """Apply pending migrations; return the revision reached."""
        self._partitioned = None
        with _migration_lock(self.engine, self.prefix):
            if migrate.current_revision(self.engine, self.prefix) == migrate.head_revision():
                return migrate.head_revision()
            return migrate.upgrade(self.engine, self.prefix)

    def revision(self) -> str | None:
        return migrate.current_revision(self.engine, self.prefix)

    def dispose(self) -> None:
        self.engine.dispose()
        if self.read_engine is not None:
            self.read_engine.dispose()

    def __repr__(self) -> str:
        return f"Store({self.engine.url.render_as_string(hide_password=True)!r}, " \
               f"prefix={self.prefix!r})"


@contextmanager
def _migration_lock(engine: Engine, prefix: str) -> Iterator[None]:
    """Let one process migrate at a time: an advisory lock on PostgreSQL, a file lock on
    SQLite (two servers starting together must not both create the tables)."""
    if engine.dialect.name == "postgresql":
        key = zlib.crc32(f"heron-migrate-{prefix}".encode())
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            try:
                yield
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield
        return
    lock_path = Path(database).expanduser().with_suffix(".migrate-lock")
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _first_line(exc: BaseException) -> str:
    """The database's own words for a failure (the driver's error, not SQLAlchemy's
    wrapper with its statement), first line."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def open_store(url: str, prefix: str = "heron_", *, upgrade: bool = True,
               read_url: str | None = None) -> Store:
    """Open the store at ``url``, applying migrations unless ``upgrade`` is false;
    ``read_url`` is a read replica of it (DATABASE_READ_URL) for queries.

    Raises StoreError with the reason when the database cannot be reached.
    """
    read_engine = None
    if read_url:
        if make_url(read_url).get_backend_name() != make_url(url).get_backend_name():
            raise StoreError("DATABASE_READ_URL must be a replica of DATABASE: the same kind "
                             f"of database, not {make_url(read_url).get_backend_name()} "
                             f"beside {make_url(url).get_backend_name()}")
        read_engine = make_engine(read_url)
    store = Store(make_engine(url), prefix, read_engine=read_engine)
    if upgrade:
        try:
            store.upgrade()
        except OperationalError as exc:
            shown = make_url(url).render_as_string(hide_password=True)
            reason = _first_line(exc)
            store.dispose()
            raise StoreError(f"cannot open the store at {shown}: {reason}") from None
        except SQLAlchemyError as exc:
            store.dispose()
            raise StoreError(f"cannot migrate the store: {exc}") from None
        if store.dialect == "postgresql" and store.partitioned:
            from heron.store.partitions import ensure

            try:  # today's and the next days' partitions, if no server made them yet
                ensure(store)
            except SQLAlchemyError as exc:  # e.g. a user that may only read: rows wait
                reason = _first_line(exc)
                logger.warning("heron: cannot make the store's time partitions (%s); new "
                               "rows wait in the default partition until a server makes "
                               "them", reason)
    return store
