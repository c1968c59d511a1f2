"""The writer process (WRITER=process, the default for web monitoring): batches stored by a
process of heron's own, exactly once, one bad item set aside, nothing left running."""

from __future__ import annotations

import json
import os
import signal
import sys

import psutil
import pytest
from flask import Flask

import heron
from heron import events as ev
from heron.errors import ConfigError
from heron.sinks import process
from heron.store import open_store
from heron.store.queries.export import export_page


def writers() -> list[psutil.Process]:
    return [p for p in psutil.Process().children()
            if "heron.sinks.writer_process" in " ".join(p.cmdline())]


def stored(url: str, prefix: str, kind: str = "request") -> list[dict]:  # type: ignore[type-arg]
    store = open_store(url, prefix)
    try:
        return export_page(store, kind, limit=10_000).items
    finally:
        store.dispose()


def bound_app(db_url) -> Flask:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    app = Flask("shop")
    app.add_url_rule("/", "index", lambda: "hello")
    return heron.bind(app, database=url, table_prefix=prefix, password="a-long-password")


def test_a_bound_app_writes_through_its_own_writer_process(db_url) -> None:  # type: ignore[no-untyped-def]
    app = bound_app(db_url)
    client = app.test_client()
    for _ in range(300):
        assert client.get("/").status_code == 200
    assert heron.flush(20)
    assert isinstance(heron.api.recorder().sink, process.ProcessSink)  # type: ignore[union-attr]
    (writer,) = writers()
    assert len(stored(*db_url)) == 300
    assert heron.stats()["dropped"] == 0
    heron.shutdown()
    assert not writer.is_running() or writer.status() == psutil.STATUS_ZOMBIE
    assert writers() == []


def test_values_left_out_are_stored_as_null_and_the_app_keeps_its_driver_settings(
        db_url) -> None:  # type: ignore[no-untyped-def]
    import sqlite3

    app = bound_app(db_url)  # no user: a None in every request's row
    client = app.test_client()
    for _ in range(50):
        client.get("/")
    client.get("/", environ_base={"REMOTE_ADDR": None})  # a server that gives no address
    assert heron.flush(20)
    rows = stored(*db_url)
    assert len(rows) == 51
    assert {r["group_by"] for r in rows} == {None}
    assert sorted(r["ip"] is None for r in rows) == [False] * 50 + [True]
    # the writer process binds None through an adapter of its own (a process-wide driver
    # setting): the app's process never gets it
    assert (type(None), sqlite3.PrepareProtocol) not in sqlite3.adapters


def test_a_killed_writer_loses_nothing_and_doubles_nothing(db_url) -> None:  # type: ignore[no-untyped-def]
    app = bound_app(db_url)
    client = app.test_client()
    for _ in range(100):
        client.get("/")
    assert heron.flush(20)
    (writer,) = writers()
    os.kill(writer.pid, signal.SIGKILL)
    writer.wait(5)
    for _ in range(100):
        client.get("/")
    assert heron.flush(30)  # the batch fails once, is retried with a new writer
    rows = stored(*db_url)
    assert len(rows) == 200
    assert len({r["id"] for r in rows}) == 200
    assert len(writers()) == 1


def test_a_batch_sent_again_is_stored_once(db_url) -> None:  # type: ignore[no-untyped-def]
    # The writer committed, then died before answering: the recorder sends the very same
    # batch again (same bytes, same id base), and the ledger keeps one copy.
    url, prefix = db_url
    store = open_store(url, prefix)
    sink = process.ProcessSink(store)
    try:
        batch = [ev.Export(app="a", run_id="r", metrics={"n": n}) for n in range(50)]
        _, first, _, _ = process._encode(batch)
        for _ in range(2):
            sink._last = (batch, batch, first)  # as the recorder retries after a lost answer
            sink.write(batch)
    finally:
        sink.close()
        store.dispose()
    rows = stored(url, prefix, "export")
    assert len(rows) == 50
    assert sorted(r["metrics"]["n"] for r in rows) == list(range(50))


def test_one_bad_item_is_set_aside_and_counted(db_url) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    heron.init(database=url, table_prefix=prefix, writer="process")
    heron.export({"good": 1})
    recorder = heron.api.recorder()
    assert recorder is not None
    recorder.put(("web.request", "shop", None, "index", "GET", 200, 1000, 1.0, None,
                  object(), None, None))  # cannot be encoded
    recorder.put(("no.such.maker", 1))  # cannot be made
    heron.export({"good": 2})
    assert heron.flush(20)
    assert sorted(r["metrics"]["good"] for r in stored(url, prefix, "export")) == [1, 2]
    assert heron.stats()["rejected"] == 2
    assert heron.stats()["dropped"] == 0


def test_writer_setting_is_checked(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConfigError, match="WRITER='elsewhere'.*auto, thread, process"):
        heron.init(database=f"sqlite:///{tmp_path / 'w.db'}", writer="elsewhere")
    heron.init(database=f"sqlite:///{tmp_path / 'w.db'}", writer="thread")
    assert not isinstance(heron.api.recorder().sink, process.ProcessSink)  # type: ignore[union-attr]


def test_without_a_python_executable_batches_are_written_here(db_url, monkeypatch, caplog) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(sys, "executable", "")
    app = bound_app(db_url)
    app.test_client().get("/")
    assert heron.flush(20)
    assert len(stored(*db_url)) == 1
    assert writers() == []
    assert "no writer process could be started" in caplog.text


def test_a_forked_worker_starts_its_own_writer(db_url) -> None:  # type: ignore[no-untyped-def]
    # gunicorn forks its workers after the app (and heron) are loaded
    app = bound_app(db_url)
    client = app.test_client()
    client.get("/")
    assert heron.flush(20)
    pid = os.fork()
    if pid == 0:  # the worker
        code = 2
        try:
            app.test_client().get("/")
            code = 0 if heron.flush(20) else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    client.get("/")
    assert heron.flush(20)
    assert len(stored(*db_url)) == 3
    assert len(writers()) == 1  # the worker's writer ended with it


def test_an_event_the_database_refuses_is_set_aside_not_retried_forever(db_url, tmp_path) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    heron.init(database=url, table_prefix=prefix, writer="process",
               spool_dir=str(tmp_path / "spool"))
    recorder = heron.api.recorder()
    assert recorder is not None
    heron.export({"good": 1})
    # an SQL count past 64-bit range: encodable, but no database column holds it
    recorder.put(("web.request", "shop", None, "index", "GET", 200, 1000, 1.0, None,
                  [2**63, 1.0], None, None))
    recorder.put(("web.request", "shop", None, "index", "GET", 200, 1000, 1.0, None,
                  None, None, None))
    heron.emitting.emit(ev.Log(app="shop", message="bad line \udcff"))  # a lone surrogate
    heron.export({"good": 2})
    assert heron.flush(30)
    assert sorted(r["metrics"]["good"] for r in stored(url, prefix, "export")) == [1, 2]
    assert len(stored(url, prefix)) == 1
    # the surrogate is replaced (U+FFFD) and the line kept; the count is set aside
    assert [r["message"] for r in stored(url, prefix, "log")] == ["bad line \ufffd"]
    assert heron.stats()["rejected"] == 1
    assert heron.stats()["repaired"] == 1
    assert heron.stats()["dropped"] == 0
    (letters,) = (tmp_path / "spool" / "rejected").glob("*.jsonl")
    (line,) = [json.loads(text) for text in letters.read_text().splitlines()]
    assert "int" in line["reason"].lower() or "range" in line["reason"].lower()
    assert line["event"][9] == [2**63, 1.0]  # the put() tuple as queued, sql totals included
