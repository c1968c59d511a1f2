"""The Dallinger adapter against a real PostgreSQL database laid out like Dallinger's, and
against the schema Dallinger 12.4's own models make."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.exc import DBAPIError

from heron.cli import cli
from heron.errors import ConfigError
from heron.events import Event
from heron.experiment.dallinger import DallingerSource, _read_only_engine
from heron.store import Store
from heron.store.queries.experiment import network_structure, table_page
from heron.store.queries.participants import summary
from tests.conftest import POSTGRES_URL, _require_postgres

SHARED = """id SERIAL PRIMARY KEY, creation_time TIMESTAMP NOT NULL DEFAULT now(),
    property1 VARCHAR(256), property2 VARCHAR(256), property3 VARCHAR(256),
    property4 VARCHAR(256), property5 VARCHAR(256), details JSON,
    failed BOOLEAN NOT NULL DEFAULT false, failed_reason VARCHAR(250),
    time_of_death TIMESTAMP"""
DDL = [
    f"""CREATE TABLE participant ({SHARED}, type VARCHAR(50), worker_id VARCHAR(50),
        assignment_id VARCHAR(50), unique_id VARCHAR(50), hit_id VARCHAR(50),
        mode VARCHAR(50), end_time TIMESTAMP, base_pay FLOAT, bonus FLOAT,
        status VARCHAR(50) NOT NULL DEFAULT 'working', fingerprint_hash VARCHAR(50),
        entry_information JSON, recruiter_id VARCHAR(50))""",
    f"""CREATE TABLE network ({SHARED}, type VARCHAR(50), max_size INTEGER NOT NULL,
        "full" BOOLEAN NOT NULL DEFAULT false, role VARCHAR(26) NOT NULL DEFAULT 'default')""",
    f"""CREATE TABLE node ({SHARED}, type VARCHAR(50), network_id INTEGER REFERENCES network,
        participant_id INTEGER REFERENCES participant)""",
    f"""CREATE TABLE vector ({SHARED}, origin_id INTEGER REFERENCES node,
        destination_id INTEGER REFERENCES node, network_id INTEGER REFERENCES network)""",
    f"""CREATE TABLE info ({SHARED}, type VARCHAR(50), origin_id INTEGER REFERENCES node,
        network_id INTEGER REFERENCES network, contents TEXT)""",
    f"""CREATE TABLE transmission ({SHARED}, vector_id INTEGER REFERENCES vector,
        info_id INTEGER REFERENCES info, origin_id INTEGER REFERENCES node,
        destination_id INTEGER REFERENCES node, network_id INTEGER REFERENCES network,
        receive_time TIMESTAMP, status VARCHAR(20) NOT NULL DEFAULT 'pending')""",
]
CREATED = datetime.now(UTC).replace(tzinfo=None) - timedelta(hours=2)



def _schema(name: str, fill: Callable[[Any], None]) -> Iterator[str]:
    """A PostgreSQL schema of its own, filled by ``fill`` (a connection in it) and committed;
    yields the URL that reads it, and drops it afterwards."""
    _require_postgres()
    schema = f"{name}_{secrets.token_hex(4)}"
    admin = create_engine(POSTGRES_URL)
    try:
        with admin.begin() as conn:
            conn.execute(text(f"CREATE SCHEMA {schema}"))
            conn.execute(text(f"SET search_path TO {schema}"))
            fill(conn)
        yield POSTGRES_URL + f"?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


@pytest.fixture
def dallinger_url() -> Iterator[str]:
    """A schema of its own holding Dallinger's six tables with a small experiment."""
    def fill(conn: Any) -> None:
        for ddl in DDL:
            conn.execute(text(ddl))
        conn.execute(text("INSERT INTO network (creation_time, max_size, role) VALUES "
                          "(:t, 3, 'experiment'), (:t, 2, 'practice')"), {"t": CREATED})
        statuses = ["working"] * 2 + ["approved"] * 3 + ["returned"]
        for i, status in enumerate(statuses, start=1):
            conn.execute(text(
                "INSERT INTO participant (creation_time, worker_id, assignment_id, unique_id,"
                " mode, status, base_pay, property1, details) VALUES "
                "(:t, :w, :a, :u, 'live', :s, 1.5, 'cond-B', '{\"age\": 30}')"),
                {"t": CREATED, "w": f"W{i}", "a": f"A{i}", "u": f"W{i}:A{i}", "s": status})
        for i in range(1, 4):  # nodes 1..3 in network 1 for participants 1..3
            conn.execute(text("INSERT INTO node (creation_time, type, network_id, "
                              "participant_id) VALUES (:t, 'agent', 1, :p)"),
                         {"t": CREATED, "p": i})
        conn.execute(text("INSERT INTO vector (origin_id, destination_id, network_id) "
                          "VALUES (1, 2, 1), (2, 3, 1)"))
        conn.execute(text("INSERT INTO info (type, origin_id, network_id, contents) "
                          "VALUES ('info', 1, 1, 'blue')"))
        conn.execute(text("INSERT INTO transmission (vector_id, info_id, origin_id, "
                          "destination_id, network_id) VALUES (1, 1, 1, 2, 1)"))

    yield from _schema("dallinger", fill)


def _change(url: str, sql: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(sql))
    engine.dispose()


def test_watch_dallinger_cli_copies_the_experiment(dallinger_url: str, db_url, store: Store
                                                   ) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    out = CliRunner().invoke(cli, ["watch-dallinger", dallinger_url, "--app", "dl", "--once",
                                   "--database", url], env={"HERON_TABLE_PREFIX": prefix})
    assert out.exit_code == 0, out.output
    assert "6 participant" in out.output and "3 node" in out.output
    result = summary(store, "dl")
    assert result.counts == {"working": 2, "approved": 3, "returned": 1}
    assert result.yield_ == pytest.approx(3 / 4)
    graph = network_structure(store, "dl")
    assert sorted((n["network_id"], n["role"], n["max_size"]) for n in graph["networks"]) == [
        ("1", "experiment", 3), ("2", "practice", 2)]
    assert sorted((n["node_id"], n["participant_id"]) for n in graph["nodes"]) == [
        ("1", "1"), ("2", "2"), ("3", "3")]
    assert {(v["origin_id"], v["destination_id"]) for v in graph["vectors"]} == {
        ("1", "2"), ("2", "3")}
    assert [(i["info_id"], i["contents"]) for i in graph["infos"]] == [("1", "blue")]
    assert [(t["origin_id"], t["destination_id"], t["status"]) for t in graph["trans"]] == [
        ("1", "2", "pending")]
    row = table_page(store, "dl", "participant", column_filters={"participant_id": "1"}
                     )["data"][0]
    assert (row["worker_id"], row["assignment_id"], row["mode"], row["base_pay"]) == (
        "W1", "A1", "live", 1.5)
    # Dallinger's extra columns and its details JSON land in details
    assert row["details"]["property1"] == "cond-B" and row["details"]["age"] == 30
    assert row["details"]["unique_id"] == "W1:A1"
    # the creation time is Dallinger's, not the time heron first saw the row
    assert abs(row["ts"] - CREATED.replace(tzinfo=UTC).timestamp()) < 1


def test_polling_sends_only_changed_rows_and_survives_a_restart(dallinger_url: str,
                                                                store: Store) -> None:
    sent: list[Event] = []
    source = DallingerSource(dallinger_url, "dl", interval=0.1, emit=sent.append)
    first = source.poll_once()
    assert first == {"participant": 6, "network": 2, "node": 3, "vector": 2, "info": 1,
                     "transmission": 1}
    store.ingest(sent)
    sent.clear()
    assert source.poll_once() == {}  # nothing changed, nothing sent
    assert sent == []

    _change(dallinger_url, "UPDATE participant SET status = 'approved', end_time = now() "
                           "WHERE id = 1")
    _change(dallinger_url, "UPDATE node SET failed = true, failed_reason = 'timeout' "
                           "WHERE id = 2")
    _change(dallinger_url, "INSERT INTO participant (worker_id, status) VALUES "
                           "('W7', 'working')")
    assert source.poll_once() == {"participant": 2, "node": 1}
    store.ingest(sent)
    source.stop()
    assert summary(store, "dl").counts == {"working": 2, "approved": 4, "returned": 1}
    node = table_page(store, "dl", "node", column_filters={"node_id": "2"})["data"][0]
    assert node["failed"] is True and node["failed_reason"] == "timeout"

    # a change made while no watcher runs is applied by the next one
    _change(dallinger_url, "UPDATE participant SET status = 'rejected' WHERE id = 2")
    sent.clear()
    again = DallingerSource(dallinger_url, "dl", emit=sent.append)
    again.poll_once()
    again.stop()
    store.ingest(sent)
    assert summary(store, "dl").counts == {"working": 1, "approved": 4, "returned": 1,
                                           "rejected": 1}


def test_the_dallinger_database_is_opened_read_only(dallinger_url: str) -> None:
    engine = _read_only_engine(dallinger_url.replace("+psycopg", ""))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM participant")).scalar() == 6
        with pytest.raises(DBAPIError, match="read-only"):
            conn.execute(text("UPDATE participant SET status = 'approved'"))
    engine.dispose()


def test_bad_dallinger_databases_get_clear_errors(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="not a database URL"):
        DallingerSource("not a url", "dl")
    with pytest.raises(ConfigError, match="needs an app id"):
        DallingerSource("sqlite:///x.db", " ")
    empty = tmp_path / "empty.db"
    create_engine(f"sqlite:///{empty}").connect().close()
    source = DallingerSource(f"sqlite:///{empty}", "dl")
    with pytest.raises(ConfigError, match="no Dallinger participant table"):
        source.poll_once()
    out = CliRunner().invoke(cli, ["watch-dallinger", "postgresql://nobody:s3cret@127.0.0.1:1/x",
                                   "--app", "dl", "--once",
                                   "--database", f"sqlite:///{tmp_path / 'h.db'}"])
    assert out.exit_code == 1
    assert "could not read the Dallinger database" in out.output
    assert "s3cret" not in out.output



DALLINGER_SCHEMA = Path(__file__).resolve().parents[1] / "data" / "dallinger_schema.sql"


@pytest.fixture
def dallinger_models_url() -> Iterator[str]:
    """Dallinger 12.4's own schema (tests/data/dallinger_schema.sql, written from its models
    by scripts/dallinger_schema.py), with a participant, a network and a node as Dallinger
    writes them (its models fill the columns it declares NOT NULL)."""
    def fill(conn: Any) -> None:
        conn.exec_driver_sql(DALLINGER_SCHEMA.read_text(encoding="utf-8"))
        conn.execute(text("INSERT INTO network (creation_time, failed, max_size, \"full\", "
                          "role) VALUES (:t, false, 10, false, 'experiment')"), {"t": CREATED})
        for i in (1, 2, 3):
            conn.execute(text(
                "INSERT INTO participant (creation_time, failed, worker_id, assignment_id, "
                "unique_id, hit_id, mode, status) VALUES (:t, false, :w, :a, :u, 'H1', "
                "'live', 'working')"),
                {"t": CREATED, "w": f"W{i}", "a": f"A{i}", "u": f"W{i}:A{i}"})
            conn.execute(text("INSERT INTO node (creation_time, failed, type, network_id, "
                              "participant_id) VALUES (:t, false, 'agent', 1, :p)"),
                         {"t": CREATED, "p": i})

    yield from _schema("dlmodels", fill)


def _participant(n: str) -> str:
    return ("INSERT INTO participant (creation_time, failed, worker_id, assignment_id, "
            f"unique_id, hit_id, mode, status) VALUES (now() at time zone 'utc', false, "
            f"'{n}', 'A-{n}', '{n}:A', 'H1', 'live', 'working')")


def test_a_poll_reads_only_what_changed_since_its_last_snapshot(dallinger_models_url: str,
                                                                tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Issue 19: one snapshot per poll; a row committed while a poll reads is left to the
    next poll (never lost, never stamped before it existed); questions, notifications
    and transformations are watched too, as log lines."""
    dallinger_url = dallinger_models_url
    _change(dallinger_url, "INSERT INTO question (creation_time, failed, participant_id, "
                           "number, question, response) VALUES (now() at time zone 'utc', "
                           "false, 1, 1, 'engagement', '5')")
    sent: list[Event] = []

    class Interrupted(DallingerSource):
        """Commits a new participant from another connection in the middle of a poll."""
        armed = False

        def _send(self, name, row, now, new):  # type: ignore[no-untyped-def]
            if self.armed:
                self.armed = False
                _change(dallinger_url, _participant("W-during"))
            super()._send(name, row, now, new)

    source = Interrupted(dallinger_url, "dl", emit=sent.append, state_dir=tmp_path)
    assert source.poll_once()["question"] == 1
    [line] = [e for e in sent if e.kind == "log"]
    assert line.logger == "dallinger.question"
    assert line.message == "participant 1 answered question 1 (engagement): 5"
    assert abs(line.ts - datetime.now(UTC).timestamp()) < 60  # its creation_time
    sent.clear()
    assert source.poll_once() == {}  # nothing changed: nothing read, nothing sent

    _change(dallinger_url, "UPDATE node SET failed = true WHERE id = 3")
    source.armed = True
    before = datetime.now(UTC).timestamp()
    assert source.poll_once() == {"node": 1}  # the participant committed meanwhile: not yet
    sent.clear()
    assert source.poll_once() == {"participant": 1}  # but at the next poll
    during = [e for e in sent if e.kind == "participant" and "worker_id" in e.__struct_fields__
              and getattr(e, "worker_id", None) == "W-during"]
    assert during and all(e.ts >= before - 1 for e in during)
    source.stop()

    # a restarted watcher goes on from its last snapshot: only what changed while it was down
    _change(dallinger_url, "UPDATE participant SET status = 'approved' WHERE id = 2")
    _change(dallinger_url, "INSERT INTO notification (creation_time, failed, assignment_id, "
                           "event_type) VALUES (now() at time zone 'utc', false, 'A2', "
                           "'AssignmentSubmitted')")
    sent.clear()
    again = DallingerSource(dallinger_url, "dl", emit=sent.append, state_dir=tmp_path)
    assert again.poll_once() == {"participant": 1, "notification": 1}
    assert [e.message for e in sent if e.kind == "log"] == ["AssignmentSubmitted for "
                                                            "assignment A2"]
    again.stop()
    everything = DallingerSource(dallinger_url, "dl", emit=[].append, state_dir=tmp_path,
                                 full=True)
    assert everything.poll_once()["participant"] == 4  # full=True: every row again
    everything.stop()


def test_the_hourly_recheck_reads_the_last_hour_again(dallinger_models_url: str,
                                                      tmp_path) -> None:  # type: ignore[no-untyped-def]
    dallinger_url = dallinger_models_url
    sent: list[Event] = []
    source = DallingerSource(dallinger_url, "dl", emit=sent.append, state_dir=tmp_path,
                             recheck=0.2)
    source.poll_once()  # everything
    _change(dallinger_url, "UPDATE participant SET bonus = 1.0 WHERE id = 3")
    assert source.poll_once() == {"participant": 1}
    import time as _time

    _time.sleep(0.3)
    assert source.poll_once() == {"participant": 1}  # the recheck: the change read again
    assert source.poll_once() == {}
    source.stop()
