"""The fault suite (issue 17): zero loss and zero doubles, every event counted, when the
parts heron relies on fail. The server SIGKILLed mid-batch and restarted; PostgreSQL
restarted during ingest (over HTTP and from a local writer); the client SIGKILLed while it
writes its spool, leaving a torn segment; a full spool; a poison event in the middle of
10,000 good ones, over HTTP and locally."""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

import heron
from heron import events as ev
from heron.store import Store, open_store
from tests.conftest import POSTGRES_URL, LiveServer, _drop_prefixed, _require_postgres, free_port
from tests.integration.test_delivery import TOKEN, _all_exports, count, wait_until
from tests.integration.test_poison import dead_letters, stored
from tests.procs import Proc, wait_http

ROOT = str(Path(__file__).resolve().parents[2])


def _exports(store: Store, app: str) -> tuple[int, int, set[int]]:
    """(rows, distinct ids, the values of metric i) of ``app``'s exports."""
    table = store.table("export")
    with store.read() as conn:
        total, distinct = conn.execute(
            select(func.count(), func.count(table.c.id.distinct()))
            .where(table.c.app == app)).one()
    return total, distinct, {row["metrics"]["i"] for row in _all_exports(store, app)}


def test_full_spool_drops_counts_and_reports(app, store, tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    heron.init(f"http://127.0.0.1:{port}", token=TOKEN, app="full",
               spool_dir=str(tmp_path / "sp"), spool_max_mb=1)
    for i in range(20_000):  # incompressible values: well over 1 MiB
        heron.export({"noise": secrets.token_hex(64), "i": i})
    heron.flush(30)
    stats = heron.stats()
    assert stats["dropped"] > 0
    assert stats["spooled"] + stats["dropped"] == 20_000
    assert "the spool in" in caplog.text and "is full" in caplog.text
    server = LiveServer(app, port)
    try:
        wait_until(lambda: heron.stats()["spool_bytes"] == 0
                   and count(store, "full", "log") == 1)
        assert count(store, "full") == stats["spooled"]
        from heron.store.queries.export import export_page
        (log,) = export_page(store, "log", app="full").items
        assert f"heron client dropped {stats['dropped']} events" in log["message"]
        assert log["level"] == logging.WARNING
    finally:
        server.stop()


CLIENT = textwrap.dedent("""
    import os, sys, time
    import heron
    url, spool, start, stop = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    gate_at, gate = int(sys.argv[6]), sys.argv[7]
    heron.init(url, token="{token}", app="loss", spool_dir=spool)
    for i in range(start, stop):
        if i == gate_at:  # wait here until the test says the server is down again
            while not os.path.exists(gate):
                time.sleep(0.01)
        heron.export({{"i": i}})
        if i % 25 == 0:
            time.sleep(0.001)
    if sys.argv[5] == "wait":  # stay until everything is delivered
        deadline = time.time() + 120
        while time.time() < deadline:
            heron.flush(5)
            s = heron.stats()
            if s["spool_bytes"] == 0 and s["buffered"] == 0:
                break
            time.sleep(0.2)
    heron.shutdown(timeout=10)
""").format(token=TOKEN)


def test_zero_loss_across_server_kills_and_a_client_restart(db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {"HERON_TABLE_PREFIX": prefix, "HERON_INGEST_TOKEN": TOKEN}

    def start_server() -> Proc:
        proc = Proc(["serve", "--port", str(port), "--database", url], env=env)
        wait_http(f"{base}/healthz")
        return proc

    def kill(proc: Proc) -> None:
        os.killpg(proc.proc.pid, signal.SIGKILL)  # master and workers: nothing answers now
        proc.proc.wait(10)
        proc.stop()

    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    spool = str(tmp_path / "spool")
    env_client = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    server = start_server()
    gate = str(tmp_path / "server-is-down")
    client = subprocess.Popen([sys.executable, str(script), base, spool, "0", "60000",
                               "exit", "40000", gate], env=env_client)
    time.sleep(1.0)
    kill(server)                 # first kill, mid-stream
    time.sleep(0.7)
    server = start_server()      # first restart
    time.sleep(0.7)
    kill(server)                 # second kill; it stays down until the client has exited
    Path(gate).touch()           # the last 20,000 events can only go to the spool now
    assert client.wait(120) == 0
    assert any(Path(spool).rglob("*.seg")), "the first client should leave a spool behind"
    server = start_server()      # second restart
    client2 = subprocess.Popen([sys.executable, str(script), base, spool, "60000", "100000",
                                "wait", "-1", gate], env=env_client)
    try:
        assert client2.wait(180) == 0
    finally:
        server.stop()
    store = open_store(url, prefix)
    try:
        from sqlalchemy import func, select
        table = store.table("export")
        with store.read() as conn:
            total, distinct = conn.execute(
                select(func.count(), func.count(table.c.id.distinct()))
                .where(table.c.app == "loss")).one()
        assert (total, distinct) == (100_000, 100_000)
        values = {row["metrics"]["i"] for row in _all_exports(store)}
        assert values == set(range(100_000))
    finally:
        store.dispose()


def test_poison_in_the_middle_of_ten_thousand_locally(db_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    heron.init(app="poison", database=url, table_prefix=prefix, writer="thread",
               spool_dir=str(tmp_path / "spool"))
    for i in range(10_000):
        if i == 5_000:
            heron.emit(ev.Log(app="poison", message="poison", lineno=2**70))
        heron.emit(ev.Log(app="poison", message=f"m{i}"))
    assert heron.flush(60)
    assert len({r["message"] for r in stored(url, prefix)}) == 10_000
    assert heron.stats()["rejected"] == 1
    assert heron.stats()["written"] == 10_000


def test_over_http_bad_events_set_aside_the_rest_delivered(live_server, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    spool = tmp_path / "spool"
    heron.init(live_server.url, token=TOKEN, app="poison", spool_dir=str(spool))
    for i in range(10_000):
        if i == 5_000:
            heron.emit(ev.Log(app="poison", message="huge", lineno=2**64))  # JSON carries it
            heron.emit(ev.Log(app="poison", message="bad \udcff"))  # JSON cannot: repaired
        heron.emit(ev.Log(app="poison", message=f"m{i}"))
    assert heron.flush(60)
    heron.shutdown()
    with store.read() as conn:
        messages = {m for (m,) in conn.exec_driver_sql(
            f"SELECT message FROM {store.prefix}log WHERE app = 'poison'")}
    assert len(messages) == 10_001
    assert "bad \ufffd" in messages and "huge" not in messages
    (letter,) = dead_letters(spool)
    assert "lineno" in letter["reason"] and letter["event"]["message"] == "huge"


# -- PostgreSQL restarted during ingest ------------------------------------------------
def _restart_postgres() -> None:
    """Restart the local PostgreSQL cluster (the one the tests use) and wait for it."""
    version = sorted(os.listdir("/etc/postgresql"))[-1]
    subprocess.run(["pg_ctlcluster", "--skip-systemctl-redirect", version, "main", "restart"],
                   check=True, capture_output=True, timeout=120)
    for _ in range(120):
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", "5432"]).returncode == 0:
            return
        time.sleep(0.5)
    raise AssertionError("PostgreSQL did not come back")


@pytest.fixture
def pg_prefix():  # type: ignore[no-untyped-def]
    _require_postgres()
    prefix = f"f{secrets.token_hex(4)}_"
    yield prefix
    heron.api.shutdown(timeout=2)
    _drop_prefixed(POSTGRES_URL, prefix)


def test_postgresql_restarted_during_ingest_over_http(pg_prefix, tmp_path: Path) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = Proc(["serve", "--port", str(port), "--database", POSTGRES_URL],
                  env={"HERON_TABLE_PREFIX": pg_prefix, "HERON_INGEST_TOKEN": TOKEN,
                       "HERON_PASSWORD": "a-long-password"})
    try:
        wait_http(f"{base}/healthz")
        script = tmp_path / "client.py"
        script.write_text(CLIENT)
        client = subprocess.Popen([sys.executable, str(script), base, str(tmp_path / "sp"),
                                   "0", "30000", "wait", "-1", str(tmp_path / "gate")],
                                  env={**os.environ, "PYTHONPATH": ROOT})
        time.sleep(1.0)
        _restart_postgres()  # the server's connections die mid-ingest
        assert client.wait(180) == 0
    finally:
        server.stop()
    store = open_store(POSTGRES_URL, pg_prefix)
    try:
        total, distinct, values = _exports(store, "loss")
    finally:
        store.dispose()
    assert (total, distinct) == (30_000, 30_000)
    assert values == set(range(30_000))


def test_postgresql_restarted_under_a_local_writer(pg_prefix, tmp_path: Path) -> None:
    heron.init(app="pgrestart", database=POSTGRES_URL, table_prefix=pg_prefix,
               writer="thread", spool_dir=str(tmp_path / "sp"))
    restarted = threading.Thread(target=lambda: (time.sleep(0.5), _restart_postgres()))
    restarted.start()
    for i in range(30_000):
        heron.export({"i": i})
        if i % 100 == 0:
            time.sleep(0.005)
    restarted.join()
    assert heron.flush(120)
    assert heron.api.recorder().stats.failed_writes >= 1  # the restart hit the writes
    stats = heron.stats()
    assert stats["dropped"] == 0 and stats["rejected"] == 0
    store = heron.api.local_store()
    total, distinct, values = _exports(store, "pgrestart")
    assert (total, distinct) == (30_000, 30_000)
    assert values == set(range(30_000))


# -- the client killed while writing its spool -----------------------------------------
SPOOLING_CLIENT = textwrap.dedent("""
    import sys, time
    import heron
    url, spool, mode = sys.argv[1], sys.argv[2], sys.argv[3]
    heron.init(url, token="{token}", app="torn", spool_dir=spool)
    if mode == "write":  # the server is down: everything goes to the spool, until killed
        i = 0
        while True:
            heron.export({{"i": i}})
            i += 1
            if i % 50 == 0:
                time.sleep(0.001)
    from pathlib import Path
    deadline = time.time() + 120  # deliver what the dead process left, then say how it went
    while time.time() < deadline and any(Path(spool).rglob("*.seg")):
        time.sleep(0.2)  # nothing is emitted here: the recorder delivers it on its own
    sink = heron.api.recorder().sink
    heron.shutdown(timeout=10)
    print("STATS", sink.stats.corrupt_records, heron.stats()["dropped"])
""").format(token=TOKEN)


def _spooled_values(folder: Path) -> set[int]:
    """The values in the spool's intact records, read as the next process will."""
    import gzip

    from heron.sinks.spool import SpoolFolder, _try_lock

    copy = folder.parent / (folder.name + "-copy")
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("lock"))
    fd = _try_lock(copy)
    assert fd is not None
    reader = SpoolFolder(copy, fd)
    values: set[int] = set()
    while (record := reader.peek()) is not None:
        values.update(item["metrics"]["i"] for item in json.loads(gzip.decompress(
            record.payload)))
        reader.commit(record)
    reader.remove()
    return values


def test_a_client_killed_while_spooling_leaves_a_torn_segment_the_next_one_skips(
        app, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    base = f"http://127.0.0.1:{port}"  # nothing listens yet
    spool = tmp_path / "sp"
    script = tmp_path / "client.py"
    script.write_text(SPOOLING_CLIENT)
    env = {**os.environ, "PYTHONPATH": ROOT}
    writer = subprocess.Popen([sys.executable, str(script), base, str(spool), "write"],
                              env=env)
    wait_until(lambda: sum(p.stat().st_size for p in spool.rglob("*.seg")) > 200_000, 60)
    writer.send_signal(signal.SIGKILL)  # mid-write, as far as it knows
    writer.wait(10)
    (folder,) = [p for p in spool.iterdir() if p.is_dir()]
    segment = max(folder.glob("*.seg"))
    with open(segment, "r+b") as fh:  # the write the kill cut short: a torn last record
        fh.truncate(segment.stat().st_size - 7)
    expected = _spooled_values(folder)
    assert len(expected) > 1_000
    server = LiveServer(app, port)
    try:
        done = subprocess.run([sys.executable, str(script), base, str(spool), "deliver"],
                              env=env, capture_output=True, text=True, timeout=180)
    finally:
        server.stop()
    assert done.returncode == 0, done.stderr[-2000:]
    corrupt, dropped = map(int, done.stdout.split("STATS")[1].split())
    assert corrupt >= 1 and dropped == 0
    total, distinct, values = _exports(store, "torn")
    assert values == expected and total == distinct == len(expected)
    assert not list(spool.rglob("*.seg"))  # the dead process's folder is done with
