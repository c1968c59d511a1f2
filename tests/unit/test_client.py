"""Run contexts, export() and the kill switch, recorded into a MemorySink."""

from __future__ import annotations

import asyncio
import contextvars
import json
import logging
import threading
import time
from pathlib import Path

import pytest

import heron
from heron import events as ev
from heron.errors import ConfigError, NoRunError
from heron.sinks.memory import MemorySink


@pytest.fixture
def sink(tmp_path: Path) -> MemorySink:
    memory = MemorySink()
    heron.init(app="algo", sink=memory, client_config_file=str(tmp_path / "switch.json"))
    return memory


def recorded(sink: MemorySink, kind: type[ev.Event]) -> list:  # type: ignore[type-arg]
    heron.flush(5)
    return [e for e in sink.events if isinstance(e, kind)]


def test_run_records_start_end_and_outcome(sink: MemorySink) -> None:
    with heron.run("classify", source="web") as run:
        assert heron.current_run_id() == run.id
        heron.export({"confidence": 0.9})
    (start,) = recorded(sink, ev.RunStart)
    (end,) = recorded(sink, ev.RunEnd)
    (export,) = recorded(sink, ev.Export)
    assert (start.run_id, start.run_class, start.dimensions) == (
        run.id, "classify", {"source": "web", "version": "1.0"})  # APP_VERSION is added
    assert (end.run_id, end.outcome) == (run.id, "ok")
    assert end.ts >= start.ts and run.end is not None
    assert export.run_id == run.id and export.app == "algo"
    assert heron.current_run_id() is None


def test_exception_is_recorded_and_propagates(sink: MemorySink) -> None:
    with pytest.raises(KeyError):
        with heron.run("classify"):
            raise KeyError("missing feature")
    (end,) = recorded(sink, ev.RunEnd)
    assert (end.outcome, end.error_type, end.error_message) == ("error", "KeyError",
                                                                 "'missing feature'")


def test_run_inside_run_is_a_separate_root(sink: MemorySink) -> None:
    with heron.run("outer") as outer:
        with heron.run("inner") as inner:
            assert heron.current_run_id() == inner.id
            assert inner.parent_id is None and inner.id != outer.id
        assert heron.current_run_id() == outer.id
    starts = {s.run_class: s for s in recorded(sink, ev.RunStart)}
    assert starts["inner"].parent_id is None


def test_sub_runs_nest_with_hierarchical_ids(sink: MemorySink) -> None:
    with heron.run("pipeline") as root:
        with heron.sub_run("features") as features:
            assert features.id.startswith(root.id + ".")
            with heron.sub_run("embedding") as embedding:
                assert heron.current_run_id() == embedding.id
                assert embedding.id.startswith(features.id + ".")
                assert embedding.id.count(".") == 2
                heron.export({"dim": 128})
            assert heron.current_run_id() == features.id
    (export,) = recorded(sink, ev.Export)
    assert export.run_id == embedding.id
    parents = {s.run_id: s.parent_id for s in recorded(sink, ev.RunStart)}
    assert parents == {root.id: None, features.id: root.id, embedding.id: features.id}


def test_sub_run_outside_a_run_is_a_clear_error(sink: MemorySink) -> None:
    with pytest.raises(NoRunError, match=r"sub_run\('x'\) needs an open run"):
        with heron.sub_run("x"):
            pass


def test_new_threads_start_empty_context_threads_carry_it(sink: MemorySink) -> None:
    seen: dict[str, str | None] = {}
    with heron.run("main") as run:
        plain = threading.Thread(target=lambda: seen.update(plain=heron.current_run_id()))
        carried = heron.ContextThread(
            target=lambda: seen.update(carried=heron.current_run_id()))
        plain.start()
        carried.start()
        plain.join()
        carried.join()
        copied = contextvars.copy_context().run(heron.current_run_id)
    assert seen == {"plain": None, "carried": run.id}
    assert copied == run.id


def test_asyncio_tasks_inherit_and_keep_their_own(sink: MemorySink) -> None:
    async def child(name: str) -> tuple[str | None, str | None]:
        inherited = heron.current_run_id()
        with heron.sub_run(name) as sub:
            await asyncio.sleep(0.01)
            return inherited, sub.id if heron.current_run_id() == sub.id else None

    async def main() -> tuple[str, list]:  # type: ignore[type-arg]
        with heron.run("async") as run:
            results = await asyncio.gather(child("a"), child("b"))
            return run.id, results

    # a fresh thread: no event loop of another library (Playwright) is running there
    out: list = []  # type: ignore[type-arg]
    runner = threading.Thread(target=lambda: out.append(asyncio.run(main())))
    runner.start()
    runner.join(10)
    run_id, results = out[0]
    for inherited, sub_id in results:
        assert inherited == run_id
        assert sub_id is not None and sub_id.startswith(run_id + ".")
    assert results[0][1] != results[1][1]


def test_export_splits_metrics_and_dimensions(sink: MemorySink) -> None:
    heron.export({"confidence": 0.75, "count": 3, "source": "web", "cached": False,
                  "model": {"name": "v2", "layers": {"n": 12}}, "tags": ["a", "b"]})
    (export,) = recorded(sink, ev.Export)
    assert export.metrics == {"confidence": 0.75, "count": 3, "model.layers.n": 12}
    assert export.dimensions == {"source": "web", "cached": False, "model.name": "v2",
                                 "tags": ["a", "b"]}
    assert export.run_id is None  # outside a run: recorded into no run


def test_timestamp_override_keeps_microseconds(sink: MemorySink) -> None:
    heron.export({"x": 1}, timestamp=1_600_000_000.123456)
    (export,) = recorded(sink, ev.Export)
    assert export.ts == 1_600_000_000.123456
    heron.export({"x": 2}, timestamp="not a time")
    later = recorded(sink, ev.Export)[-1]
    assert abs(later.ts - time.time()) < 5


def test_reserved_prefix_dropped_with_one_warning_per_name(
        sink: MemorySink, caplog: pytest.LogCaptureFixture) -> None:
    for _ in range(3):
        heron.export({"HERON_secret": 1, "HERON_other": "x", "kept": 2})
    exports = recorded(sink, ev.Export)
    assert [e.metrics for e in exports] == [{"kept": 2}] * 3
    warnings = [r.getMessage() for r in caplog.records if "reserved" in r.getMessage()]
    assert sorted(warnings) == [
        "heron: field 'HERON_other' is dropped: names starting with HERON_ are reserved",
        "heron: field 'HERON_secret' is dropped: names starting with HERON_ are reserved"]


def test_unserialisable_values_dropped_rest_kept(sink: MemorySink,
                                                 caplog: pytest.LogCaptureFixture) -> None:
    heron.export({"obj": object(), "nan": float("nan"), "ok": 1.5, "name": "x"})
    (export,) = recorded(sink, ev.Export)
    assert export.metrics == {"ok": 1.5} and export.dimensions == {"name": "x"}
    text = caplog.text
    assert "field 'obj' is dropped: a object is not JSON-serialisable" in text
    assert "field 'nan' is dropped" in text


def test_export_never_raises(sink: MemorySink) -> None:
    heron.export("not a dict")  # type: ignore[arg-type]
    heron.export({1: 2, (1, 2): 3})  # type: ignore[dict-item]
    assert [e.metrics for e in recorded(sink, ev.Export)] == [{"1": 2, "(1, 2)": 3}]


def test_kill_switch_file_turns_recording_off_and_on(sink: MemorySink, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from heron.client import killswitch

    monkeypatch.setattr(killswitch, "CHECK_INTERVAL", 0.05)
    switch = tmp_path / "switch.json"
    stop = threading.Event()
    exported = [0]

    def loop() -> None:
        while not stop.is_set():
            with heron.run("loop"):
                heron.export({"i": exported[0]})
            exported[0] += 1
            time.sleep(0.002)

    worker = threading.Thread(target=loop)
    worker.start()
    time.sleep(0.3)
    switch.write_text(json.dumps({"disable_all": True}))
    time.sleep(0.3)
    heron.flush(5)
    during_off = len(recorded(sink, ev.Export))
    time.sleep(0.3)
    heron.flush(5)
    assert len(recorded(sink, ev.Export)) == during_off  # nothing while off
    switch.write_text("{\"disable_all\": tr")  # half written: keeps the last good setting
    time.sleep(0.3)
    heron.flush(5)
    assert len(recorded(sink, ev.Export)) == during_off
    switch.write_text(json.dumps({"disable_all": False}))
    time.sleep(0.3)
    stop.set()
    worker.join()
    assert len(recorded(sink, ev.Export)) > during_off  # on again
    starts, ends = recorded(sink, ev.RunStart), recorded(sink, ev.RunEnd)
    assert {s.run_id for s in starts} == {e.run_id for e in ends}  # no half-recorded runs
    assert exported[0] > len(recorded(sink, ev.Export))


def test_disable_all_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERON_DISABLE_ALL", "yes")
    memory = MemorySink()
    heron.init(app="x", sink=memory)
    with heron.run("r"):
        with heron.sub_run("s"):
            heron.export({"a": 1})
    with heron.sub_run("outside"):  # a no-op, not an error, while disabled
        pass
    heron.flush(5)
    assert memory.events == []


def test_disable_all_is_parsed_strictly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HERON_DISABLE_ALL", "maybe")
    with pytest.raises(ConfigError, match="DISABLE_ALL: 'maybe' is not a boolean"):
        heron.init(app="x", sink=MemorySink())
    for off in ("0", "false", "no", ""):
        monkeypatch.setenv("HERON_DISABLE_ALL", off)
        heron.init(app="x", sink=MemorySink())
        from heron.client import state
        assert not state.disabled()
        heron.shutdown()


def test_kill_switch_path_is_logged(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="heron")
    heron.init(app="x", sink=MemorySink(), client_config_file=str(tmp_path / "k.json"))
    assert f"heron kill switch: {tmp_path / 'k.json'}" in caplog.text


def test_logging_settings(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture) -> None:  # type: ignore[type-arg]
    monkeypatch.setenv("HERON_LOGGING_LEVEL", "20")
    monkeypatch.setenv("HERON_PRINT_LOGS", "true")
    heron.init(app="x", sink=MemorySink())
    assert logging.getLogger("heron").level == logging.INFO
    assert "heron recording for app 'x'" in capsys.readouterr().out
    heron.shutdown()
    monkeypatch.setenv("HERON_PRINT_LOGS", "false")
    monkeypatch.setenv("HERON_LOGGING_LEVEL", "WARNING")
    heron.init(app="x", sink=MemorySink())
    assert capsys.readouterr().out == ""
    assert logging.getLogger("heron").level == logging.WARNING


def test_init_twice_same_and_different(tmp_path: Path) -> None:
    spool = str(tmp_path / "spool")
    first = heron.init("http://127.0.0.1:9", token="t", app="a", spool_dir=spool)
    assert heron.init("http://127.0.0.1:9", token="t", app="a", spool_dir=spool) is first
    with pytest.raises(ConfigError, match="already called with other settings"):
        heron.init("http://127.0.0.1:10", token="t", app="a", spool_dir=spool)


def test_init_reads_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from heron.sinks.http import HttpSink

    monkeypatch.setenv("HERON_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("HERON_TOKEN", "tok")
    monkeypatch.setenv("HERON_APP", "from-env")
    monkeypatch.setenv("HERON_SPOOL_DIR", str(tmp_path / "spool"))
    recorder = heron.init()
    assert isinstance(recorder.sink, HttpSink)
    assert recorder.sink.url == "http://127.0.0.1:9/api/v1/events"
    assert recorder.sink.headers["Authorization"] == "Bearer tok"
    with pytest.raises(ConfigError, match="URL: 'ftp://x' is not an http"):
        heron.shutdown()
        monkeypatch.setenv("HERON_URL", "ftp://x")
        heron.init()


def test_stats_before_and_after(sink: MemorySink) -> None:
    for i in range(10):
        heron.export({"i": i})
    heron.flush(5)
    stats = heron.stats()
    assert stats["emitted"] == 10 and stats["written"] == 10 and stats["dropped"] == 0


def test_gevent_greenlets_keep_their_own_context(sink: MemorySink) -> None:
    import gevent

    def work(name: str) -> tuple[str, str | None]:
        with heron.run(name) as run:
            gevent.sleep(0.01)  # switch to the other greenlet mid-run
            with heron.sub_run("step"):
                gevent.sleep(0.01)
            return run.id, heron.current_run_id()

    jobs = [gevent.spawn(work, name) for name in ("a", "b")]
    gevent.joinall(jobs, timeout=5)
    (a_id, a_seen), (b_id, b_seen) = (job.value for job in jobs)
    assert a_seen == a_id and b_seen == b_id and a_id != b_id
    assert heron.current_run_id() is None
