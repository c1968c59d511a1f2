from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

import pytest

import heron
from heron.errors import ConfigError
from heron.events import Log
from heron.recorder import Recorder, maker
from heron.sinks.memory import MemorySink


class FlakySink(MemorySink):
    """Refuses the first ``failures`` writes, like a database that is briefly away."""

    def __init__(self, failures: int):
        super().__init__()
        self.failures = failures
        self.attempts = 0

    def write(self, events):  # type: ignore[no-untyped-def]
        self.attempts += 1
        if self.attempts <= self.failures:
            raise ConnectionError("store unavailable")
        super().write(events)


def in_a_child(work: Callable[[], str]) -> str:
    """What ``work`` returns when run in a forked child of this process."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write, work().encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    seen = os.read(read, 1000).decode()
    os.close(read)
    return seen


def test_flush_means_everything_emitted_before_is_written() -> None:
    sink = MemorySink()
    recorder = Recorder(sink, batch_size=100, interval=5.0)
    sent = [Log(message=str(i)) for i in range(1_234)]
    for event in sent:
        recorder.emit(event)
    assert recorder.flush(5)
    assert sink.events == sent
    recorder.close()


def test_batches_by_time_when_batches_do_not_fill() -> None:
    sink = MemorySink()
    recorder = Recorder(sink, batch_size=1_000, interval=0.05)
    recorder.emit(Log(message="one"))
    deadline = time.time() + 3
    while not sink.events and time.time() < deadline:
        time.sleep(0.01)
    assert [e.message for e in sink.events] == ["one"]
    recorder.close()


def test_emit_does_not_block_on_a_stuck_sink() -> None:
    entered, release = threading.Event(), threading.Event()

    class StuckSink(MemorySink):
        def write(self, events):  # type: ignore[no-untyped-def]
            entered.set()
            release.wait(30)
            super().write(events)

    sink = StuckSink()
    recorder = Recorder(sink, batch_size=10)
    recorder.emit(Log(message="first"))
    assert entered.wait(5)  # the flusher is now stuck inside the sink
    for i in range(5_000):  # ...and emitting still returns at once, every time
        recorder.emit(Log(message=str(i)))
    assert recorder.stats.dropped == 0
    release.set()
    assert recorder.flush(10)
    assert len(sink.events) == 5_001
    recorder.close()


def test_failed_writes_are_retried_not_lost(caplog: pytest.LogCaptureFixture) -> None:
    sink = FlakySink(failures=3)
    recorder = Recorder(sink, batch_size=50)
    sent = [Log(message=str(i)) for i in range(200)]
    for event in sent:
        recorder.emit(event)
    assert recorder.flush(10)
    assert sink.events == sent
    assert recorder.stats.failed_writes == 3
    assert "could not write" in caplog.text
    recorder.close()


def test_full_buffer_drops_and_counts(caplog: pytest.LogCaptureFixture) -> None:
    release = threading.Event()

    class BlockedSink(MemorySink):
        def write(self, events):  # type: ignore[no-untyped-def]
            release.wait(5)
            super().write(events)

    sink = BlockedSink()
    recorder = Recorder(sink, max_buffer=100, batch_size=10)
    for i in range(500):
        recorder.emit(Log(message=str(i)))
    assert recorder.stats.dropped > 0
    assert "heron dropped events: buffer is full" in caplog.text
    release.set()
    recorder.flush(5)
    assert len(sink.events) + recorder.stats.dropped == 500
    recorder.close()


class SpoolingSink(MemorySink):
    """A sink that spools (as the HTTP sink does); ``before_write`` runs before each batch."""

    spools = True

    def __init__(self, before_write):  # type: ignore[no-untyped-def]
        super().__init__()
        self.before_write = before_write

    def write(self, events):  # type: ignore[no-untyped-def]
        self.before_write()
        super().write(events)


def test_full_buffer_before_a_spooling_sink_waits_a_bounded_time(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # In front of a sink that spools, a full buffer makes the caller wait for room; a
    # flusher that cannot make room (stuck for longer than ROOM_WAIT_S) means a drop,
    # never a caller stuck for good.
    import heron.recorder as recorder_module

    monkeypatch.setattr(recorder_module, "ROOM_WAIT_S", 0.3)
    release = threading.Event()
    sink = SpoolingSink(lambda: release.wait(5))  # stuck until released
    recorder = Recorder(sink, max_buffer=20, batch_size=10)
    started = time.monotonic()
    for i in range(40):
        recorder.emit(Log(message=str(i)))
    waited = time.monotonic() - started
    assert recorder.stats.dropped > 0
    assert 0.3 <= waited < 1.5  # waited for room once, then dropped at once
    release.set()
    assert recorder.flush(5)
    assert len(sink.events) + recorder.stats.dropped == 40
    recorder.close()


def test_full_buffer_before_a_slow_spooling_sink_loses_nothing() -> None:
    sink = SpoolingSink(lambda: time.sleep(0.002))
    recorder = Recorder(sink, max_buffer=50, batch_size=10)
    for i in range(2_000):
        recorder.emit(Log(message=str(i)))
    assert recorder.flush(10)
    assert recorder.stats.dropped == 0
    assert [e.message for e in sink.events] == [str(i) for i in range(2_000)]
    recorder.close()


def test_emit_after_close_is_counted_as_dropped() -> None:
    recorder = Recorder(MemorySink())
    recorder.close()
    recorder.emit(Log(message="late"))
    assert recorder.stats.dropped == 1


def test_child_after_fork_has_its_own_buffer_and_flusher() -> None:
    sink = MemorySink()
    recorder = Recorder(sink, interval=10)
    recorder.emit(Log(message="parent"))
    def child() -> str:  # write one event and report what the sink saw
        recorder.emit(Log(message="child"))
        recorder.flush(5)
        return ",".join(e.message for e in sink.events)

    assert in_a_child(child) == "child"  # the parent's buffered event is not written twice
    recorder.flush(5)
    assert [e.message for e in sink.events] == ["parent"]
    recorder.close()


def test_public_emit_and_flush_with_init(tmp_path) -> None:  # type: ignore[no-untyped-def]
    sink = MemorySink()
    heron.init(app="lab", sink=sink)
    heron.emit(Log(message="hello"))
    assert heron.flush(5)
    (event,) = sink.events
    assert event.app == "lab" and event.message == "hello"


def test_init_twice() -> None:
    sink = MemorySink()
    first = heron.init(app="lab", sink=sink)
    assert heron.init(app="lab", sink=sink) is first
    with pytest.raises(ConfigError, match="already called with other settings"):
        heron.init(app="other", sink=sink)


def test_init_records_into_the_local_store(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from heron.store import open_store
    from heron.store.queries.export import export_page

    url = f"sqlite:///{tmp_path / 'local.db'}"
    heron.init(app="local-app", database=url)
    heron.emit(Log(message="stored locally"))
    assert heron.flush(5)
    store = open_store(url)
    (row,) = export_page(store, "log").items
    assert row["message"] == "stored locally" and row["app"] == "local-app"
    store.dispose()


def test_closed_recorder_does_not_wait_on_flush_or_close() -> None:
    sink = MemorySink()
    recorder = Recorder(sink)
    recorder.emit(Log(message="one"))
    assert recorder.close()
    # no flusher is left to answer: these must return, not wait (timeout=None would hang)
    assert recorder.flush(timeout=None)
    assert recorder.close(timeout=None)
    assert [e.message for e in sink.events] == ["one"]


def test_put_items_are_made_into_events_on_the_flusher_and_flushed_in_order() -> None:
    sink = MemorySink()
    recorder = Recorder(sink, batch_size=100, interval=5.0)
    made_on: set[str] = set()

    def make_log(item):  # type: ignore[no-untyped-def]
        made_on.add(threading.current_thread().name)
        if item[1] == "bad":
            raise ValueError("cannot be made")
        return Log(message=item[1])

    key = maker("test.log", make_log)
    recorder.emit(Log(message="first"))
    for text in ("a", "bad", "b"):
        recorder.put((key, text))
    recorder.emit(Log(message="last"))
    assert recorder.flush(5)
    assert [e.message for e in sink.events] == ["first", "a", "b", "last"]
    assert made_on == {"heron-recorder"}  # never on the caller's thread
    assert recorder.stats.dropped == 1  # the one that could not be made is counted
    recorder.close()
    recorder.put((key, "after close"))
    assert recorder.stats.dropped == 2


def test_a_sink_that_stays_down_is_warned_about_once_and_close_keeps_its_timeout(
        caplog: pytest.LogCaptureFixture) -> None:
    class DownSink(MemorySink):
        def write(self, events):  # type: ignore[no-untyped-def]
            raise ConnectionError("the database is down")

    recorder = Recorder(DownSink(), batch_size=5)
    for i in range(50):
        recorder.emit(Log(message=str(i)))
    assert not recorder.flush(1.5)  # several retries happen meanwhile
    started = time.monotonic()
    recorder.close(timeout=1.0)
    assert time.monotonic() - started < 1.5
    warnings = [r for r in caplog.records if "could not write" in r.getMessage()]
    assert len(warnings) == 1
    assert "the database is down" in warnings[0].getMessage()
    assert recorder.stats.failed_writes >= 2
    assert recorder.stats.rejected == 0  # a sink that is down sets nothing aside


def test_put_counts_what_it_queues_drops_when_full_and_starts_again_after_a_fork() -> None:
    # put() is a closure over the buffer once the flusher runs (the request path's one
    # call): it must still drop and count on a full buffer, count what it queued, and
    # follow the new buffer after a fork.
    release = threading.Event()

    class BlockedSink(MemorySink):
        def write(self, events):  # type: ignore[no-untyped-def]
            release.wait(5)
            super().write(events)

    key = maker("test.put", lambda item: Log(message=item[1]))
    sink = BlockedSink()
    recorder = Recorder(sink, max_buffer=50, batch_size=10, interval=0.01)
    for i in range(200):
        recorder.put((key, str(i)))
    assert recorder.stats.dropped > 0
    release.set()
    assert recorder.flush(5)
    assert len(sink.events) + recorder.stats.dropped == 200
    assert recorder.emitted == len(sink.events)  # dropped ones were never queued
    def child() -> str:  # its put() must fill its own buffer, written by its own flusher
        before = len(sink.events)
        recorder.put((key, "child"))
        recorder.flush(5)
        return f"{recorder.emitted},{[e.message for e in sink.events[before:]]}"

    assert in_a_child(child) == "1,['child']"
    recorder.close()


def test_a_sink_sets_its_own_batch_size_and_interval_unless_the_caller_does() -> None:
    from heron.sinks.process import ProcessSink

    class Paced(MemorySink):
        batch_size = 7
        interval = 3.0

    recorder = Recorder(Paced())
    assert (recorder.batch_size, recorder.interval) == (7, 3.0)
    recorder.close()
    recorder = Recorder(Paced(), batch_size=5, interval=0.5)
    assert (recorder.batch_size, recorder.interval) == (5, 0.5)
    recorder.close()
    recorder = Recorder(MemorySink())
    assert (recorder.batch_size, recorder.interval) == (2_000, 0.2)
    recorder.close()
    # heron's writer process: fewer, larger batches (each costs it the same fixed work)
    assert (ProcessSink.batch_size, ProcessSink.interval) == (10_000, 1.0)
