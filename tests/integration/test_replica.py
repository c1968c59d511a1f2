"""DATABASE_READ_URL: dashboard and export reads on a streaming replica, writes and the
reads that must see them on the primary (issue 23).

The replica is real: a cluster of the test's own, copied from its primary by
``pg_basebackup`` (:mod:`tests.pgcluster`). Pausing the replica's replay makes the lag
visible: what a page shows then says which database it read.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from heron import config as heron_config
from heron import events as ev
from heron.errors import StoreError
from heron.store import Store, open_store
from tests.conftest import ADMIN_PASSWORD, GUEST_PASSWORD, csrf_of, login
from tests.pgcluster import Replicated, replicated


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Replicated]:
    clusters = replicated(tmp_path_factory.mktemp("replica") / "pg")
    yield clusters
    clusters.close()


@pytest.fixture
def replica_store(pair: Replicated) -> Iterator[Store]:
    store = open_store(pair.primary.url, read_url=pair.replica.url)
    yield store
    pair.replica.sql("SELECT pg_wal_replay_resume()")
    with store.write() as conn:  # the next test starts from an empty store
        for table in reversed(store.metadata.sorted_tables):
            if table.name != "heron_alembic_version":
                conn.exec_driver_sql(f'DELETE FROM "{table.name}"')
    store.dispose()


@pytest.fixture
def replica_app(pair: Replicated, replica_store: Store):  # type: ignore[no-untyped-def]
    from heron.server import create_app, prepare

    config = heron_config.Config.load(
        environ={}, database=pair.primary.url, database_read_url=pair.replica.url,
        password=ADMIN_PASSWORD, guest_password=GUEST_PASSWORD,
        security_token="export-secret-1")
    prepare(replica_store, config)
    app = create_app(config, store=replica_store)
    app.config["TESTING"] = True
    return app


def log_line(message: str, level: int = 40) -> ev.Log:
    return ev.Log(app="web", level=level, logger="app", message=message, ts=time.time())


def shown(client, text: str) -> bool:  # type: ignore[no-untyped-def]
    body = client.get(f"/dashboard/api/logs?q={text}").get_json()
    return any(text in line["message"] for line in body["lines"])


def test_pages_read_the_replica_and_a_write_reads_the_primary(
        pair: Replicated, replica_store: Store, replica_app) -> None:  # type: ignore[no-untyped-def]
    admin, guest = replica_app.test_client(), replica_app.test_client()
    assert login(admin, "admin", ADMIN_PASSWORD).status_code == 302
    assert login(guest, "guest", GUEST_PASSWORD).status_code == 302
    replica_store.ingest([log_line("replicated-before-pause")])
    pair.wait_caught_up()
    assert shown(admin, "replicated-before-pause")

    pair.replica.sql("SELECT pg_wal_replay_pause()")
    replica_store.ingest([log_line("written-during-pause")])
    # the replica has not replayed it: pages and exports read the replica
    assert not shown(admin, "written-during-pause")
    assert not shown(guest, "written-during-pause")
    export = admin.get("/api/v1/export/log", headers={"Authorization": "Bearer export-secret-1"})
    assert export.status_code == 200
    assert "replicated-before-pause" in export.get_data(as_text=True)
    assert "written-during-pause" not in export.get_data(as_text=True)
    with replica_store.primary():  # what alerts and logins read
        with replica_store.read() as conn:
            assert conn.exec_driver_sql(
                "SELECT count(*) FROM heron_log WHERE message = 'written-during-pause'"
            ).scalar() == 1

    # a write: the page after it reads the primary, for this login only
    saved = admin.post("/dashboard/logs/save", data={
        "csrf_token": csrf_of(admin), "name": "Paused errors", "q": "level:error"},
        follow_redirects=True)
    assert saved.status_code == 200
    assert "Paused errors" in admin.get("/dashboard/logs").get_data(as_text=True)
    assert shown(admin, "written-during-pause")
    assert "Paused errors" not in guest.get("/dashboard/logs").get_data(as_text=True)
    assert not shown(guest, "written-during-pause")

    # adding a user: the users page lists the new one at once
    added = admin.post("/dashboard/users/add", data={
        "username": "ana", "password": "ana-password", "role": "guest",
        "csrf_token": csrf_of(admin)}, follow_redirects=True)
    assert added.status_code == 200 and "ana" in added.get_data(as_text=True)
    # logins read the primary: the new user can log in while the replica lags
    ana = replica_app.test_client()
    assert login(ana, "ana", "ana-password").status_code == 302
    assert ana.get("/dashboard/logs").status_code == 200

    pair.replica.sql("SELECT pg_wal_replay_resume()")
    pair.wait_caught_up()
    assert shown(guest, "written-during-pause")
    assert "Paused errors" in guest.get("/dashboard/logs").get_data(as_text=True)


def test_a_level_change_shows_on_the_next_page(pair: Replicated, replica_store: Store,
                                               replica_app) -> None:  # type: ignore[no-untyped-def]
    replica_store.ingest([ev.Request(app="shop", endpoint="search", method="GET", status=200,
                                     duration_ms=12.0, ts=time.time())])
    pair.wait_caught_up()
    admin = replica_app.test_client()
    assert login(admin, "admin", ADMIN_PASSWORD).status_code == 302
    pair.replica.sql("SELECT pg_wal_replay_pause()")
    done = admin.post("/dashboard/endpoints/rules?app=shop", data={
        "csrf_token": csrf_of(admin), "endpoint": "search", "level": "3"},
        follow_redirects=True)
    assert "search now records at level 3" in done.get_data(as_text=True)
    page = admin.get("/dashboard/endpoints/rules?app=shop").get_data(as_text=True)
    assert 'value="3" selected' in page or "value=\"3\" selected" in page.replace("'", '"')


def test_a_replica_that_is_down_sends_reads_to_the_primary(
        pair: Replicated, replica_store: Store, replica_app,  # type: ignore[no-untyped-def]
        caplog: pytest.LogCaptureFixture) -> None:
    admin = replica_app.test_client()
    assert login(admin, "admin", ADMIN_PASSWORD).status_code == 302
    replica_store.ingest([log_line("while-the-replica-is-down")])
    pair.replica.stop()
    try:
        with caplog.at_level(logging.WARNING, logger="heron"):
            assert shown(admin, "while-the-replica-is-down")
            assert admin.get("/dashboard/logs").status_code == 200
        warnings = [r.getMessage() for r in caplog.records if "read replica" in r.getMessage()]
        assert len(warnings) == 1 and "reading from the primary" in warnings[0]
        assert "postgres@" in warnings[0] or "127.0.0.1" in warnings[0]
    finally:
        pair.replica.start()
        replica_store._replica_down_until = 0.0


def test_the_replica_must_be_the_same_kind_of_database(tmp_path: Path, pair: Replicated) -> None:
    with pytest.raises(StoreError, match="DATABASE_READ_URL must be a replica"):
        open_store(pair.primary.url, read_url=f"sqlite:///{tmp_path}/other.db")
    with pytest.raises(heron_config.ConfigError, match="DATABASE_READ_URL"):
        heron_config.Config.load(environ={}, database_read_url="not a url")
