"""HttpSink against a real heron server: exactly once, spooled while it is away."""

from __future__ import annotations

import gzip
import io
import json
import threading
import time
from pathlib import Path

import pytest

import heron
from heron.store import Store
from heron.store.queries.apps import app_summaries
from tests.conftest import LiveServer, free_port

TOKEN = "ingest-secret-1"


def count(store: Store, app: str, kind: str = "export") -> int:
    summaries = app_summaries(store, app)
    return summaries[0].kinds.get(kind, 0) if summaries else 0


def wait_until(predicate, timeout: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError("condition not reached in time")


class FailFirst:
    """WSGI middleware: answer the first ``n`` event posts with ``status``."""

    def __init__(self, app, n: int, status: str = "503 Service Unavailable"):  # type: ignore[no-untyped-def]
        self.app, self.n, self.status, self.seen = app, n, status, 0

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        if environ["PATH_INFO"] == "/api/v1/events" and self.seen < self.n:
            self.seen += 1
            environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
            start_response(self.status, [("Content-Type", "application/json")])
            return [b'{"error": "try later"}']
        return self.app(environ, start_response)


def test_delivers_every_event_once(live_server, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    heron.init(live_server.url, token=TOKEN, app="deliver", spool_dir=str(tmp_path / "sp"))
    with heron.run("batch"):
        for i in range(5_000):
            heron.export({"i": i})
    heron.flush(10)
    stats = heron.stats()
    assert stats["sent"] == 5_002 and stats["dropped"] == 0 and stats["spool_bytes"] == 0
    assert count(store, "deliver") == 5_000
    assert count(store, "deliver", "run_start") == 1


def test_exporting_faster_than_the_spool_loses_nothing(live_server, store,  # type: ignore[no-untyped-def]
                                                       tmp_path: Path) -> None:
    # A tight export loop outruns the one thread that encodes and spools batches; with a
    # small in-memory buffer it fills at once. In front of the spool the loop is slowed
    # down instead: only a full spool may drop events.
    heron.init(live_server.url, token=TOKEN, app="fast", spool_dir=str(tmp_path / "sp"))
    heron.api.recorder().max_buffer = 300  # type: ignore[union-attr]
    for i in range(30_000):
        heron.export({"i": i})
    assert heron.flush(60)
    stats = heron.stats()
    assert stats["dropped"] == 0 and stats["spooled"] == 30_000
    wait_until(lambda: count(store, "fast") == 30_000)
    exported = _all_exports(store, "fast")
    assert sorted(e["metrics"]["i"] for e in exported) == list(range(30_000))


def test_server_away_then_back(app, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    port = free_port()
    heron.init(f"http://127.0.0.1:{port}", token=TOKEN, app="away",
               spool_dir=str(tmp_path / "sp"))
    for i in range(1_000):
        heron.export({"i": i})
    assert heron.flush(10)  # written to the spool, though the server is not there
    stats = heron.stats()
    assert stats["spooled"] == 1_000 and stats["sent"] == 0 and stats["spool_bytes"] > 0
    assert stats["retried"] >= 1 and stats["dropped"] == 0
    server = LiveServer(app, port)
    try:
        wait_until(lambda: heron.stats()["spool_bytes"] == 0)
        assert count(store, "away") == 1_000
    finally:
        server.stop()


def test_5xx_answers_are_retried(app, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    failing = FailFirst(app.wsgi_app, 3)
    app.wsgi_app = failing
    server = LiveServer(app)
    try:
        heron.init(server.url, token=TOKEN, app="flaky", spool_dir=str(tmp_path / "sp"))
        for i in range(300):
            heron.export({"i": i})
        heron.flush(10)
        wait_until(lambda: heron.stats()["spool_bytes"] == 0)
        assert failing.seen == 3
        assert heron.stats()["retried"] >= 3
        assert count(store, "flaky") == 300
    finally:
        server.stop()


def test_wrong_token_keeps_events_until_fixed(live_server, store, tmp_path: Path,
                                              caplog: pytest.LogCaptureFixture) -> None:  # type: ignore[no-untyped-def]
    spool = str(tmp_path / "sp")
    heron.init(live_server.url, token="wrong", app="tok", spool_dir=spool)
    for i in range(100):
        heron.export({"i": i})
    heron.flush(10)
    assert count(store, "tok") == 0
    assert "the server refused the token (401)" in caplog.text
    heron.shutdown(timeout=2)  # the events stay in the spool on disk
    heron.init(live_server.url, token=TOKEN, app="tok", spool_dir=spool)
    heron.export({"after": "fix"})
    heron.flush(10)
    wait_until(lambda: count(store, "tok") == 101)


def test_batch_over_the_limit_is_split(config_for, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from heron.server import create_app, prepare

    cfg = config_for(ingest_token=TOKEN, max_batch_events=100)
    prepare(store, cfg)
    server = LiveServer(create_app(cfg, store=store))
    try:
        heron.init(server.url, token=TOKEN, app="split", spool_dir=str(tmp_path / "sp"))
        for i in range(1_000):
            heron.export({"i": i})
        heron.flush(20)
        assert count(store, "split") == 1_000
        assert heron.stats()["rejected"] == 0
    finally:
        server.stop()


def test_split_down_to_single_events_delivers_each_and_sets_aside_only_the_too_large(
        config_for, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from heron import events as ev
    from heron.server import create_app, prepare

    cfg = config_for(ingest_token=TOKEN, max_batch_events=1, max_body_bytes=4_000)
    prepare(store, cfg)
    server = LiveServer(create_app(cfg, store=store))
    try:
        heron.init(server.url, token=TOKEN, app="single", spool_dir=str(tmp_path / "sp"))
        for i in range(7):
            heron.export({"i": i})
        heron.emit(ev.Log(app="single", message="x" * 50_000))  # over the body limit alone
        heron.flush(20)
        wait_until(lambda: heron.stats()["spool_bytes"] == 0)
        assert count(store, "single") == 7
        assert count(store, "single", "log") == 0
        assert heron.stats()["rejected"] == 1
    finally:
        server.stop()


def _all_exports(store: Store, app: str = "loss") -> list[dict]:  # type: ignore[type-arg]
    from heron.store.queries.export import export_page

    rows, cursor = [], None
    while True:
        page = export_page(store, "export", app=app, limit=10_000, cursor=cursor)
        rows.extend(page.items)
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


class FailBatch:
    """WSGI middleware: answer the first post of the batch holding event ``marker`` with
    503, after holding it until the batch sent beside it was answered; record every
    answer's ``stored`` and ``duplicates``."""

    def __init__(self, app, marker: int):  # type: ignore[no-untyped-def]
        self.app, self.marker, self.failed = app, marker, 0
        self.answers: list[tuple[int, int, int]] = []  # (first i, stored, duplicates)
        self.other_answered = threading.Event()

    def __call__(self, environ, start_response):  # type: ignore[no-untyped-def]
        if environ["PATH_INFO"] != "/api/v1/events":
            return self.app(environ, start_response)
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        items = json.loads(gzip.decompress(body))
        first = min(item["metrics"]["i"] for item in items)
        if first == self.marker and not self.failed:
            self.failed += 1
            assert self.other_answered.wait(10), "the next batch was not sent beside it"
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"error": "try later"}']
        environ["wsgi.input"] = io.BytesIO(body)
        answer = b"".join(self.app(environ, start_response))
        data = json.loads(answer)
        self.answers.append((first, data["stored"], data["duplicates"]))
        if first != self.marker:
            self.other_answered.set()
        return [answer]


def test_two_batches_in_flight_the_oldest_failing(app, store, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The spool's oldest batch and the next go out together; the oldest is refused while
    the next is stored: the next is committed only after the oldest, so it is sent again
    (the server counts it as duplicates) and every event is stored once, in order."""
    from heron import events as ev
    from heron.sinks.http import HttpSink

    failing = FailBatch(app.wsgi_app, marker=0)
    app.wsgi_app = failing
    server = LiveServer(app)
    sink = HttpSink(server.url, TOKEN, app="pair", spool_dir=str(tmp_path / "sp"))
    try:
        batches = [[ev.Export(app="pair", metrics={"i": float(i)}) for i in range(n, n + 100)]
                   for n in (0, 100)]
        for batch in batches:
            ev.ensure_ids(batch)
            sink.spool.append(gzip.compress(ev.encode(batch)), len(batch))
        sink._drain(time.monotonic() + 5)  # both in flight: the oldest fails
        assert failing.failed == 1
        assert failing.answers == [(100, 100, 0)]  # the next was stored meanwhile
        assert sink.pending_bytes() > 0  # but neither is committed
        sink._retry_at = 0.0
        sink._drain(time.monotonic() + 5)
        assert sink.pending_bytes() == 0
        assert failing.answers[1:] == [(0, 100, 0), (100, 0, 100)]
        assert count(store, "pair") == 200
        assert sink.stats.sent == 200 and sink.stats.retried == 1
    finally:
        sink.close()
        server.stop()
