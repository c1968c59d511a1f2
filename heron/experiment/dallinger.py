"""Monitor a running Dallinger experiment with no code change: read its database, read-only,
and keep heron's experiment model in sync.

Dallinger's tables (``participant``, ``network``, ``node``, ``info``, ``transmission``,
``vector``) have no "last changed" column, so each poll reads every row and sends only the
rows whose content changed since the last poll (a fingerprint per row is kept in memory).
A row seen for the first time is sent twice: once at its ``creation_time``, so heron's
timeline shows when it was really created, and once now with its current fields, so a
watcher restarted after a change still applies it (heron keeps the newest update).

Columns a Dallinger version lacks are skipped; ``property1``–``property5``, ``unique_id``,
``hit_id`` and the like land in the record's ``details``. Rows are never deleted in heron.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import msgspec
from sqlalchemy import MetaData, Table, create_engine, event, make_url, select
from sqlalchemy.engine import Connection, Engine

from heron import emitting
from heron import events as ev
from heron._internal import logger
from heron.errors import ConfigError

#: Dallinger table → (heron event, {Dallinger column: heron field}).
MAPPING: dict[str, tuple[type[ev.Event], dict[str, str]]] = {
    "participant": (ev.Participant, {
        "status": "status", "worker_id": "worker_id", "assignment_id": "assignment_id",
        "mode": "mode", "base_pay": "base_pay", "bonus": "bonus", "end_time": "end_ts"}),
    "network": (ev.Network, {"role": "role", "max_size": "max_size", "full": "full"}),
    "node": (ev.Node, {"type": "type", "network_id": "network_id",
                       "participant_id": "participant_id"}),
    "info": (ev.Info, {"type": "type", "origin_id": "origin_id", "contents": "contents"}),
    "transmission": (ev.Transmission, {"origin_id": "origin_id",
                                       "destination_id": "destination_id",
                                       "info_id": "info_id", "status": "status"}),
    "vector": (ev.Vector, {"origin_id": "origin_id", "destination_id": "destination_id",
                           "network_id": "network_id"}),
}
#: Columns every Dallinger table shares that map onto heron's common fields.
COMMON = {"failed": "failed", "failed_reason": "failed_reason"}
#: Columns not copied anywhere (the id is the record key; creation_time is its ``ts``).
SKIPPED = {"id", "creation_time", "details"}
FK_FIELDS = {"network_id", "participant_id", "origin_id", "destination_id", "info_id"}


def _epoch(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:  # Dallinger stores naive UTC
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    return float(value)


def _plain(value: Any) -> Any:
    """A value JSON can carry (details hold whatever Dallinger's columns hold)."""
    if isinstance(value, datetime):
        return _epoch(value)
    if value is None or isinstance(value, str | int | float | bool | dict | list):
        return value
    return str(value)


class DallingerSource:
    """Polls a Dallinger database and records its changes as heron experiment events.

    :param database_url: the Dallinger database (SQLAlchemy URL; ``postgresql://…`` as
        Dallinger uses, or SQLite). It is opened read-only.
    :param app: the heron app id to record under.
    :param interval: seconds between polls.
    :param emit: where events go; default :func:`heron.emit` (the recorder set up by
        :func:`heron.init`, so in-process or to a remote server alike).
    """

    def __init__(self, database_url: str, app: str, *, interval: float = 2.0,
                 emit: Callable[[ev.Event], None] | None = None) -> None:
        if not app or not str(app).strip():
            raise ConfigError("DallingerSource needs an app id (--app)")
        if interval <= 0:
            raise ConfigError(f"interval must be positive, got {interval!r}")
        self.app = str(app)
        self.interval = float(interval)
        self._emit = emit or emitting.emit
        self._engine = _read_only_engine(database_url)
        self._tables: dict[str, Table] | None = None
        self._seen: dict[str, dict[str, bytes]] = {name: {} for name in MAPPING}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.polls = 0
        self.sent = 0
        self.last_error: str | None = None  # why the last poll failed, None when it did not

    # ------------------------------------------------------------------ one poll
    def poll_once(self) -> dict[str, int]:
        """Read every table once; send what changed. Returns changed rows per table."""
        changed: dict[str, int] = {}
        now = time.time()
        with self._engine.connect() as conn:
            tables = self._reflect(conn)
            for name, table in tables.items():
                n = 0
                for row in self._rows(conn, table):
                    n += self._send_if_changed(name, row, now)
                if n:
                    changed[name] = n
        self.polls += 1
        return changed

    def _reflect(self, conn: Connection) -> dict[str, Table]:
        if self._tables is None:
            metadata = MetaData()
            present = [n for n in MAPPING if self._engine.dialect.has_table(conn, n)]
            if "participant" not in present:
                raise ConfigError(
                    f"{self._engine.url.render_as_string(hide_password=True)} has no "
                    "Dallinger participant table; is this a Dallinger experiment database?")
            metadata.reflect(conn, only=present)
            self._tables = {n: metadata.tables[n] for n in present}
        return self._tables

    @staticmethod
    def _rows(conn: Connection, table: Table) -> Iterator[dict[str, Any]]:
        result = conn.execution_options(yield_per=5_000).execute(
            select(table).order_by(table.c.id))
        for row in result:
            yield dict(row._mapping)

    def _send_if_changed(self, name: str, row: dict[str, Any], now: float) -> int:
        key = str(row["id"])
        fingerprint = hashlib.blake2b(msgspec.json.encode(row, enc_hook=str),
                                      digest_size=16).digest()
        seen = self._seen[name]
        first = key not in seen
        if not first and seen[key] == fingerprint:
            return 0
        kind, mapping = MAPPING[name]
        key_field = kind.ENTITY_KEY
        assert key_field is not None
        fields: dict[str, Any] = {}
        details: dict[str, Any] = {}
        for column, value in row.items():
            if column in SKIPPED:
                continue
            target = mapping.get(column) or COMMON.get(column)
            if target is None:
                if value is not None:
                    details[column] = _plain(value)
                continue
            if target == "end_ts":
                value = _epoch(value)
            elif target in FK_FIELDS and value is not None:
                value = str(value)
            elif target == "status" and value is None:
                continue
            elif target in ("full", "failed"):
                value = bool(value)
            fields[target] = value
        raw_details = row.get("details")
        if isinstance(raw_details, dict):
            details = {**raw_details, **details}
        created = _epoch(row.get("creation_time"))
        if first and created is not None and created < now:
            # first sight: mark when it was really created (kept as the record's ts)
            self._emit(kind(app=self.app, ts=created, **{key_field: key}))
        self._emit(kind(app=self.app, ts=now, details=details, **{key_field: key},
                        **fields))
        seen[key] = fingerprint
        self.sent += 1
        return 1

    # ------------------------------------------------------------------ loop
    def run(self, *, polls: int | None = None,
            on_poll: Callable[[dict[str, int]], None] | None = None) -> None:
        """Poll until :meth:`stop` (or ``polls`` times). A failed poll is logged and
        retried at the next interval: the experiment's database may restart."""
        done = 0
        while not self._stop.is_set():
            try:
                changed = self.poll_once()
                self.last_error = None
            except ConfigError:
                raise
            except Exception as exc:  # noqa: BLE001 - keep watching through outages
                self.last_error = str(exc).splitlines()[0] if str(exc) else repr(exc)
                logger.warning("reading the Dallinger database failed (%s); retrying in "
                               "%.1f s", self.last_error, self.interval)
                changed = {}
            if on_poll is not None:
                on_poll(changed)
            done += 1
            if polls is not None and done >= polls:
                return
            self._stop.wait(self.interval)

    def start(self) -> DallingerSource:
        """Poll in a background thread."""
        self._thread = threading.Thread(target=self.run, name="heron-dallinger",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval + 10)
        self._engine.dispose()


def safe_url(url: str) -> str:
    """The URL with its password hidden, fit for messages; a placeholder if unparseable."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - the source reports the bad URL itself
        return "the Dallinger database"


def _read_only_engine(url: str) -> Engine:
    """An engine that cannot write: a read-only transaction on PostgreSQL, ``query_only``
    on SQLite. Dallinger's own ``postgres://`` spelling is accepted."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    try:
        parsed = make_url(url)
    except Exception as exc:  # noqa: BLE001 - any parse failure is a bad URL
        raise ConfigError(f"not a database URL: {url.split('@')[-1]!r} (expected e.g. "
                          "postgresql://user@host/dallinger)") from exc
    try:
        engine = create_engine(parsed, pool_pre_ping=True)
    except Exception as exc:  # noqa: BLE001 - name the bad URL, whatever the cause
        shown = parsed.render_as_string(hide_password=True)
        raise ConfigError(f"cannot use Dallinger database {shown}: {exc}") from exc
    if engine.dialect.name == "postgresql":
        engine = engine.execution_options(postgresql_readonly=True)
    elif engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _query_only(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA query_only = ON")
    return engine
