"""Monitor a running Dallinger experiment with no code change: read its database, read-only,
and keep heron's experiment model in sync.

Dallinger's record tables (``participant``, ``network``, ``node``, ``info``,
``transmission``, ``vector``) become heron's experiment records; ``question``,
``notification`` and ``transformation`` rows become log lines (loggers
``dallinger.question`` …), searchable beside the experiment's own logs.

**PostgreSQL** (Dallinger's database): each poll is one REPEATABLE READ, read-only
transaction, so every table is read at the same moment. Dallinger's tables have no "last
changed" column, but PostgreSQL's row versions do the job: a row whose ``xmin`` (the
transaction that wrote this version of it) is not visible in the previous poll's snapshot
was created or changed since, so a poll reads only those rows and its cost follows the
changes, not the database. The snapshot is kept in a small state file once what it sent is
handed over, so a restarted watcher sends only what changed while it was down; with no
state (or ``full=True``) the first poll sends every row. Once an hour (``recheck``) a poll
reads again what changed during the hour before, to make up for anything a failed poll
left out. Rows are stamped with the snapshot's time (never before they existed), and a
row created since the last poll also with its own ``creation_time``.

**SQLite** (tests, the demo): each poll reads every row and sends those whose content
changed since the last poll (a fingerprint per row is kept in memory).

Columns a Dallinger version lacks are skipped; ``property1``–``property5``, ``unique_id``,
``hit_id`` and the like land in the record's ``details``. Rows are never deleted in heron.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import MetaData, Table, bindparam, create_engine, event, make_url, select, text
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
#: Dallinger tables recorded as log lines: (message template over the row's columns).
LOGGED: dict[str, str] = {
    "question": "participant {participant_id} answered question {number} ({question}): "
                "{response}",
    "notification": "{event_type} for assignment {assignment_id}",
    "transformation": "node {node_id} transformed info {info_in_id} into info {info_out_id}",
}
#: Tables in the order a poll reads and sends them (a record before what refers to it).
ORDER = [*MAPPING, *LOGGED]
#: Events a poll hands over before it waits for them to be written: a first copy of a
#: large experiment then holds this many in memory, not all of them.
HANDOVER = 2_000
#: A row created this long before the previous snapshot is still sent with its creation
#: time (clocks of the database and of this process may differ a little).
CREATION_SLACK_S = 60.0

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


#: Whether a row's version is newer than a snapshot: its ``xmin`` (a 32-bit transaction
#: id) widened to the 64-bit ids of ``txid_*`` against the current snapshot's ``xmax``
#: (``:ref``, with ``:epoch`` its upper 32 bits), then tested against the previous one.
_CHANGED_SINCE = (
    "NOT txid_visible_in_snapshot(CASE WHEN :epoch + {t}.xmin::text::bigint > :ref "
    "THEN :epoch + {t}.xmin::text::bigint - 4294967296 "
    "ELSE :epoch + {t}.xmin::text::bigint END, CAST(:since AS txid_snapshot))")


class DallingerSource:
    """Polls a Dallinger database and records its changes as heron experiment events.

    :param database_url: the Dallinger database (SQLAlchemy URL; ``postgresql://…`` as
        Dallinger uses, or SQLite). It is opened read-only.
    :param app: the heron app id to record under.
    :param interval: seconds between polls.
    :param emit: where events go; default :func:`heron.emit` (the recorder set up by
        :func:`heron.init`, so in-process or to a remote server alike).
    :param state_dir: where a PostgreSQL watcher keeps the snapshot it has sent up to
        (default: ``dallinger/`` in heron's cache folder, beside the spool).
    :param full: send every row at the first poll, whatever the state file says.
    :param recheck: seconds between polls that read again what changed in the hour before.
    :param incremental: on PostgreSQL, read only what changed (the default); False reads
        every row at every poll and compares fingerprints, as on SQLite (what heron did
        before; ``bench/dallinger_watch.py`` measures both).
    """

    def __init__(self, database_url: str, app: str, *, interval: float = 2.0,
                 emit: Callable[[ev.Event], None] | None = None,
                 state_dir: str | os.PathLike[str] | None = None, full: bool = False,
                 recheck: float = 3600.0, incremental: bool = True) -> None:
        if not app or not str(app).strip():
            raise ConfigError("DallingerSource needs an app id (--app)")
        if interval <= 0:
            raise ConfigError(f"interval must be positive, got {interval!r}")
        self.app = str(app)
        self.interval = float(interval)
        self.recheck = float(recheck)
        self.incremental = incremental
        self._emit = emit or emitting.emit
        self._flush = emitting.flush if emit is None else (lambda _timeout: True)
        self._engine = _read_only_engine(database_url)
        self._tables: dict[str, Table] | None = None
        self._seen: dict[str, dict[str, bytes]] = {name: {} for name in ORDER}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # PostgreSQL: the snapshot sent up to, with its wall time; and an older one to
        # read again from at the next recheck
        self._state_path = _state_path(state_dir, database_url, self.app)
        self._since: tuple[str, float] | None = None if full else self._load_state()
        self._recheck_from: tuple[str, float] | None = self._since
        self._rechecked = time.monotonic()
        self.polls = 0
        self.sent = 0
        self.last_error: str | None = None  # why the last poll failed, None when it did not

    # ------------------------------------------------------------------ one poll
    def poll_once(self) -> dict[str, int]:
        """One poll: send what changed since the last one. Returns rows sent per table."""
        with self._engine.connect() as conn:
            tables = self._reflect(conn)
            if conn.dialect.name == "postgresql" and self.incremental:
                changed = self._poll_snapshot(conn, tables)
            else:
                changed = self._poll_fingerprints(conn, tables)
        self.polls += 1
        return changed

    def _poll_fingerprints(self, conn: Connection, tables: dict[str, Table]
                           ) -> dict[str, int]:
        changed: dict[str, int] = {}
        now = time.time()
        for name, table in tables.items():
            n = 0
            for row in self._rows(conn, table):
                n += self._send_if_changed(name, row, now)
            if n:
                changed[name] = n
        return changed

    def _poll_snapshot(self, conn: Connection, tables: dict[str, Table]) -> dict[str, int]:
        """Rows written since the previous snapshot, all tables read in one snapshot."""
        snapshot = str(conn.exec_driver_sql("SELECT txid_current_snapshot()::text").scalar())
        now = time.time()  # every row read below existed by now: never stamped early
        since = self._since
        if self.recheck and since is not None and self._recheck_from is not None \
                and time.monotonic() - self._rechecked >= self.recheck:
            since = self._recheck_from  # read the last hour's changes again
            self._recheck_from, self._rechecked = self._since, time.monotonic()
        ref = int(snapshot.split(":")[1])
        bounds = {"ref": ref, "epoch": ref >> 32 << 32, "since": since[0] if since else None}
        created_after = since[1] - CREATION_SLACK_S if since else None
        changed: dict[str, int] = {}
        for name, table in tables.items():
            query = select(table).order_by(table.c.id)
            if since is not None:
                quoted = conn.dialect.identifier_preparer.format_table(table)
                query = query.where(text(_CHANGED_SINCE.format(t=quoted)).bindparams(
                    bindparam("ref"), bindparam("epoch"), bindparam("since")))
            n = 0
            result = conn.execution_options(yield_per=1_000).execute(
                query, bounds if since is not None else {})
            for row in result:
                mapping = dict(row._mapping)
                created = _epoch(mapping.get("creation_time"))
                new = created_after is None or (created is not None and
                                                created >= created_after)
                self._send(name, mapping, now, new)
                n += 1
            if n:
                changed[name] = n
        conn.rollback()  # end the read-only snapshot before waiting for the next poll
        self._since = (snapshot, now)
        if self._recheck_from is None:
            self._recheck_from = self._since
        if not changed or self._flush(30):
            self._save_state()  # only once what it covers is handed over
        return changed

    def _reflect(self, conn: Connection) -> dict[str, Table]:
        if self._tables is None:
            metadata = MetaData()
            present = [n for n in ORDER if self._engine.dialect.has_table(conn, n)]
            if "participant" not in present:
                raise ConfigError(
                    f"{self._engine.url.render_as_string(hide_password=True)} has no "
                    "Dallinger participant table; is this a Dallinger experiment database?")
            metadata.reflect(conn, only=present)
            self._tables = {n: metadata.tables[n] for n in present}
        return self._tables

    @staticmethod
    def _rows(conn: Connection, table: Table) -> Iterator[dict[str, Any]]:
        result = conn.execution_options(yield_per=1_000).execute(
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
        self._send(name, row, now, first)
        seen[key] = fingerprint
        return 1

    def _send(self, name: str, row: dict[str, Any], now: float, new: bool) -> None:
        """The events of one row: ``new`` (created since the last poll, or never seen)
        also marks when the row was really created, kept as the record's time."""
        key = str(row["id"])
        created = _epoch(row.get("creation_time"))
        if name in LOGGED:
            self._emit(_log_line(self.app, name, row, created if new and created else now))
            self._sent_one()
            return
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
        if new and created is not None and created < now:
            # first sight: mark when it was really created (kept as the record's ts)
            self._emit(kind(app=self.app, ts=created, **{key_field: key}))
        self._emit(kind(app=self.app, ts=now, details=details, **{key_field: key},
                        **fields))
        self._sent_one()

    def _sent_one(self) -> None:
        self.sent += 1
        if self.sent % HANDOVER == 0:
            self._flush(300)  # memory stays flat however many rows a poll sends

    # ------------------------------------------------------------------ state
    def _load_state(self) -> tuple[str, float] | None:
        if self._state_path is None or not self._state_path.is_file():
            return None
        try:
            data = json.loads(self._state_path.read_text(encoding="utf-8"))
            return str(data["snapshot"]), float(data["time"])
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.warning("heron: the Dallinger watcher's state %s is unreadable (%s); "
                           "sending every row", self._state_path, exc)
            return None

    def _save_state(self) -> None:
        if self._state_path is None or self._since is None:
            return
        try:
            self._state_path.parent.mkdir(parents=True, exist_ok=True)
            temporary = self._state_path.with_suffix(".tmp")
            temporary.write_text(json.dumps({
                "snapshot": self._since[0], "time": self._since[1], "app": self.app,
                "database": self._engine.url.render_as_string(hide_password=True)}),
                encoding="utf-8")
            temporary.replace(self._state_path)
        except OSError as exc:
            logger.warning("heron: cannot keep the Dallinger watcher's state in %s (%s); a "
                           "restart will send every row again", self._state_path, exc)

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


def _log_line(app: str, table: str, row: dict[str, Any], ts: float) -> ev.Log:
    """A ``question``, ``notification`` or ``transformation`` row as a log line."""
    values = {k: ("" if v is None else v) for k, v in row.items()}
    try:
        message = LOGGED[table].format(**values)
    except (KeyError, IndexError, ValueError):  # a Dallinger version without a column
        message = f"{table} {row.get('id')}"
    extra = {k: _plain(v) for k, v in row.items() if k not in ("details",) and v is not None}
    extra[f"{table}_id"] = extra.pop("id", None)
    return ev.Log(app=app, ts=ts, level=20, logger=f"dallinger.{table}", message=message,
                  extra=extra)


def _state_path(state_dir: str | os.PathLike[str] | None, database_url: str,
                app: str) -> Path | None:
    """The state file of one (database, app) pair; None for SQLite (no snapshots)."""
    if not database_url.startswith(("postgres", "postgresql")):
        return None
    if state_dir is None:
        from heron.sinks.spool import default_spool_dir

        state_dir = default_spool_dir().parent / "dallinger"
    digest = hashlib.sha256(f"{database_url}\n{app}".encode()).hexdigest()[:20]
    return Path(state_dir) / f"{digest}.json"


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
        # one consistent snapshot for every table a poll reads
        engine = engine.execution_options(postgresql_readonly=True,
                                          isolation_level="REPEATABLE READ")
    elif engine.dialect.name == "sqlite":
        @event.listens_for(engine, "connect")
        def _query_only(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.execute("PRAGMA query_only = ON")
    return engine
