"""Experiment sessions: the folder and its files, one log for everything, pipeline
outcomes, failure records, SIGTERM, the central mirror, parameter files, the CLI."""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import sys
import textwrap
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

import heron
from heron.cli import cli
from heron.errors import ConfigError
from heron.sessions import SessionFailed, from_params, load_params
from tests.procs import Proc

LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d (DEBUG|INFO|WARNING|"
                  r"ERROR|CRITICAL) \S+: ")


def check_rig(session) -> bool:  # type: ignore[no-untyped-def]
    logging.getLogger("rig").info("rig checked for %s", session.subject_id)
    return True


def calibrate(trials: int) -> int:
    logging.getLogger("rig.calibration").info("calibrated with %d trials", trials)
    return 0


def copy_data() -> None:
    raise OSError("disk not mounted")


def read(folder: Path, name: str):  # type: ignore[no-untyped-def]
    return json.loads((folder / "launcher_metadata" / name).read_text())


def test_a_session_leaves_a_complete_folder(tmp_path: Path) -> None:
    child = "import sys; print('frame 1 shown'); print('late frame', file=sys.stderr)"
    with heron.session(tmp_path, subject_id="mouse-42", user_id="ana", params={"trials": 3},
                       name="grating", resource_interval=0.2) as s:
        s.run_pipeline("pre_acquisition", [check_rig, calibrate])
        s.log.info("stimulus started")
        s.spawn([sys.executable, "-c", child])
        time.sleep(0.5)
        s.run_pipeline("post_acquisition", [copy_data])  # continue is the default here
        s.note("animal was restless in the first minute")
    folder = s.folder
    assert re.fullmatch(r"mouse-42_\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d", folder.name)
    meta = folder / "launcher_metadata"
    log = (meta / "launcher.log").read_text().splitlines()
    records = [line for line in log if line[:2] == "20"]  # the rest: traceback lines
    assert len(records) > 15 and all(LINE.match(line) for line in records)
    text = "\n".join(log)
    for expected in ("INFO rig: rig checked for mouse-42", "calibrated with 3 trials",
                     "stimulus started", "INFO session.child.python", "frame 1 shown",
                     "WARNING session.child.python", "late frame",
                     "module copy_data failed", "OSError: disk not mounted",
                     "stage pre_acquisition started", "stage acquisition started",
                     "stage post_acquisition ended", "stage cleanup started"):
        assert expected in text, expected
    assert read(folder, "input_parameters.json") == {"trials": 3}
    assert read(folder, "command_line_arguments.json")["argv"] == sys.argv
    assert "experiment" in read(folder, "git_revisions.json")
    steps = read(folder, "pipeline.json")["steps"]
    assert [(st["name"], st["stage"], st["outcome"]) for st in steps] == [
        ("check_rig", "pre_acquisition", "ok"), ("calibrate", "pre_acquisition", "ok"),
        ("copy_data", "post_acquisition", "failed")]
    assert steps[2]["error"] == "OSError: disk not mounted"
    end = read(folder, "end_state.json")
    assert end["outcome"] == "ok" and end["finished"] and end["stop_time"]
    assert end["stage_reached"] == "cleanup" and end["subject_id"] == "mouse-42"
    assert end["user_id"] == "ana" and end["python"] and end["heron"]
    assert "restless" in (meta / "notes.txt").read_text()
    samples = [json.loads(x) for x in (meta / "resource_usage.jsonl").read_text().splitlines()]
    assert len(samples) >= 2 and samples[0]["rss_bytes"] > 0 and samples[0]["disk_free_bytes"] > 0
    assert not (meta / "debug_state.json").exists()
    assert not (meta / ".end_state.json.tmp").exists()


def test_an_exception_writes_debug_state_and_is_raised_again(tmp_path: Path) -> None:
    with pytest.raises(ZeroDivisionError), \
            heron.session(tmp_path, subject_id="m1", params={"secret_sauce": 1}) as s:
        s.run_pipeline("pre_acquisition", [check_rig])
        s.log.info("about to divide")
        1 / 0  # noqa: B018
    debug = read(s.folder, "debug_state.json")
    assert debug["crash_info"]["exception_type"] == "ZeroDivisionError"
    assert "1 / 0" in debug["traceback"] and debug["stage"] == "pre_acquisition"
    assert any("about to divide" in line for line in debug["last_log_lines"])
    assert debug["parameters"] == {"secret_sauce": 1} and "samples" in debug["resources"]
    end = read(s.folder, "end_state.json")
    assert end["outcome"] == "failed" and end["finished"] and end["stop_time"]
    assert end["error"] == "ZeroDivisionError: division by zero"


def test_failing_pre_acquisition_aborts_unless_told_to_continue(tmp_path: Path) -> None:
    with pytest.raises(SessionFailed, match="pre_acquisition module bad failed"), \
            heron.session(tmp_path) as s:
        s.run_pipeline("pre_acquisition", [{"module_type": "launcher_module", "name": "bad",
                                            "module_path": "tests.integration.test_sessions:fails"},
                                           check_rig])
    assert [st["name"] for st in s.steps] == ["bad"]  # check_rig never ran
    assert read(s.folder, "end_state.json")["outcome"] == "failed"
    with heron.session(tmp_path) as s2:
        s2.run_pipeline("pre_acquisition", [
            {"module_path": "tests.integration.test_sessions:fails", "on_failure": "continue"},
            check_rig])
    assert [st["outcome"] for st in s2.steps] == ["failed", "ok"]


def fails() -> bool:
    return False


def test_a_failing_acquisition_child_fails_the_session(tmp_path: Path) -> None:
    with pytest.raises(SessionFailed, match="exited with status 3"), \
            heron.session(tmp_path) as s:
        s.spawn([sys.executable, "-c", "import sys; sys.exit(3)"])
    assert read(s.folder, "debug_state.json")["stage"] == "acquisition"


def test_two_sessions_never_write_into_each_other(tmp_path: Path) -> None:
    before = list(logging.getLogger().handlers)
    with heron.session(tmp_path, subject_id="a") as first:
        first.log.info("first only")
    with heron.session(tmp_path, subject_id="b") as second:
        second.log.info("second only")
    logging.getLogger("after").warning("after both")
    one = (first.metadata / "launcher.log").read_text()
    two = (second.metadata / "launcher.log").read_text()
    assert "first only" in one and "second only" not in one and "after both" not in one
    assert "second only" in two and "first only" not in two
    assert logging.getLogger().handlers == before


def test_sigterm_finalises_the_session(tmp_path: Path) -> None:
    script = tmp_path / "rig.py"
    script.write_text(textwrap.dedent(f"""
        import sys, heron
        with heron.session({str(tmp_path / 'out')!r}, subject_id="m9") as s:
            print("ready", flush=True)
            s.spawn([sys.executable, "-c", "import time; time.sleep(60)"])
        """))
    proc = Proc([sys.executable, str(script)], raw=True)
    proc.wait_for_line("^ready$")
    time.sleep(1.0)  # the child is running
    proc.stop(signal.SIGTERM)
    folder = next((tmp_path / "out").iterdir())
    end = read(folder, "end_state.json")
    assert end["finished"] and end["outcome"] == "terminated" and end["stop_time"]
    log = (folder / "launcher_metadata" / "launcher.log").read_text()
    assert "terminating child process" in log
    assert log.rstrip().splitlines()[-1].endswith("ended: terminated after " +
                                                  log.rstrip().split("after ")[-1])
    assert "ended: terminated" in log


def test_central_mirror_has_one_folder_per_session(tmp_path: Path) -> None:
    central = tmp_path / "central"
    with heron.session(tmp_path / "rig", centralized_log_directory=central) as s:
        s.log.info("mirrored line")
    day = time.localtime(s._start)
    target = central / f"{day.tm_year:04d}" / f"{day.tm_mon:02d}" / f"{day.tm_mday:02d}" / s.id
    assert "mirrored line" in (target / "launcher.log").read_text()
    assert json.loads((target / "end_state.json").read_text())["finished"]


def test_log_records_reach_the_store_tagged_with_the_session(tmp_path: Path) -> None:
    from heron.store.queries.export import export_page

    heron.init(app="rig-1", database=f"sqlite:///{tmp_path / 'h.db'}")
    with heron.session(tmp_path / "out", subject_id="m3") as s:
        s.log.warning("check the water")
    assert heron.flush(10)
    store = heron.api.local_store()
    logs = [r for r in export_page(store, "log").items if r["session_id"] == s.id]
    assert any(r["message"] == "check the water" and r["level"] == 30 for r in logs)
    sessions = export_page(store, "session").items
    assert sessions[0]["outcome"] == "ok" and sessions[0]["subject_id"] == "m3"


def test_from_params_is_reachable_as_heron_session_from_params(tmp_path: Path) -> None:
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"output_dir": str(tmp_path / "out"), "subject_id": "m5"}))
    with heron.session.from_params(params) as s:  # type: ignore[attr-defined]
        pass
    assert s.folder.name.startswith("m5_")


def test_parameter_files_and_their_errors(tmp_path: Path) -> None:
    params = tmp_path / "p.toml"
    params.write_text(textwrap.dedent(f"""
        output_dir = {str(tmp_path / 'out')!r}
        subject_id = "mouse-7"
        [params]
        contrast = 0.8
        """))
    rig = {"user_id": "rig-operator", "resource_interval": 1.0, "params": {"contrast": 0.1}}
    merged = load_params(params, rig, {"params.trials": 5})
    assert merged["user_id"] == "rig-operator" and merged["params"] == {"contrast": 0.8,
                                                                       "trials": 5}
    session = from_params(params, rig)
    assert session.subject_id == "mouse-7" and session.params == {"contrast": 0.8}
    # issue 20: keys heron does not know are the experiment's own parameters, as in the
    # OpenScope launcher's files; a typo of heron's own keys is named with the key it meant
    extra = tmp_path / "extra.json"
    extra.write_text('{"output_dir": "x", "subjcet_id": "typo", "stimulus": "gratings"}')
    kept = from_params(extra)
    assert kept.params == {"subjcet_id": "typo", "stimulus": "gratings"}
    assert kept.start_notes == ["parameters heron does not know, kept as the experiment's "
                                "own: stimulus, subjcet_id (did you mean subject_id?)"]
    broken = tmp_path / "broken.json"
    broken.write_text('{"output_dir": ')
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_params(broken)
    missing = tmp_path / "m.json"
    missing.write_text('{"subject_id": "x"}')
    with pytest.raises(ConfigError, match="output_dir is required"):
        load_params(missing)
    with pytest.raises(ConfigError, match="cannot read"):
        load_params(tmp_path / "nope.json")


def test_session_run_command(tmp_path: Path) -> None:
    acquisition = tmp_path / "acquire.py"
    acquisition.write_text("print('acquiring 10 frames')\n")
    params = tmp_path / "p.json"
    params.write_text(json.dumps({
        "output_dir": str(tmp_path / "out"), "subject_id": "mouse-1",
        "pre_acquisition": ["tests.integration.test_sessions:check_rig"],
        "acquisition": str(acquisition),
        "post_acquisition": [{"module_type": "script_module", "module_path": str(acquisition)}],
        "params": {"trials": 2}}))
    runner = CliRunner()
    done = runner.invoke(cli, ["session", "run", str(params), "--set", "params.trials=4"],
                         env={"HERON_DATABASE": f"sqlite:///{tmp_path / 'h.db'}"})
    assert done.exit_code == 0, done.output
    folder = next((tmp_path / "out").iterdir())
    assert read(folder, "processed_parameters.json") == {"trials": 4}
    log = (folder / "launcher_metadata" / "launcher.log").read_text()
    assert log.count("acquiring 10 frames") == 2
    # resource usage in the log: a line a sample and a summary at the end (issue 20)
    assert "resources: CPU" in log and "resources over the session:" in log
    # the experiment's script, not heron's executable, and its repository, in the log too
    assert read(folder, "git_revisions.json")["script"] == str(acquisition.resolve())
    assert f"script {acquisition.resolve()}, repository" in log
    failing = tmp_path / "f.json"
    failing.write_text(json.dumps({"output_dir": str(tmp_path / "out2"),
                                   "acquisition": [sys.executable, "-c", "raise SystemExit(2)"]}))
    done = runner.invoke(cli, ["session", "run", str(failing)],
                         env={"HERON_DATABASE": f"sqlite:///{tmp_path / 'h.db'}"})
    assert done.exit_code == 1 and "session failed" in done.output
    wrong = runner.invoke(cli, ["session", "run", str(params), "--set", "oops"])
    assert wrong.exit_code == 2 and "KEY=VALUE" in wrong.output


def test_sessions_tab_and_session_page(admin_client, db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from tests.browser.test_dashboard_browser import record_session

    session_id = record_session(db_url, tmp_path)
    listing = admin_client.get("/dashboard/sessions?window=24h").get_data(as_text=True)
    assert f'data-session="{session_id}"' in listing and "mouse-42" in listing
    filtered = admin_client.get("/dashboard/sessions?window=24h&subject=nobody")
    assert session_id not in filtered.get_data(as_text=True)
    page = admin_client.get(f"/dashboard/sessions/{session_id}").get_data(as_text=True)
    assert "failing_qc" in page and "post_acquisition" in page
    assert "water &lt;i&gt;level&lt;/i&gt; ok" in page  # the note, escaped
    data = admin_client.get(f"/dashboard/api/sessions/{session_id}").get_json()
    assert not data["running"] and data["outcome"] == "ok"
    assert len(data["resources"]) >= 2
    messages = [line["message"] for line in data["log"]]
    assert "stimulus <b>started</b>" in messages and "frame 1" in messages
    newer = admin_client.get(f"/dashboard/api/sessions/{session_id}"
                             f"?after={data['log'][-1]['seq']}").get_json()
    assert newer["log"] == []
    assert admin_client.get("/dashboard/sessions/nope").status_code == 404


def test_a_long_session_without_an_app_keeps_every_event(db_url, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # issue 17 #3: started without an app (the CLI, heron.init() bare), the session's start
    # and end land in different batches; the default app is stored as an app all the same
    from heron.store.queries.export import export_page

    url, prefix = db_url
    heron.init(database=url, table_prefix=prefix)
    with heron.session(tmp_path / "out", subject_id="m9") as s:
        s.log.warning("first")
        time.sleep(1.2)  # longer than the recorder's batches
        s.log.warning("second")
        s.log.warning("camera %s", os.fsdecode(b"cam-\xff.avi"))  # not UTF-8: a surrogate
    started = time.monotonic()
    assert heron.flush(10)
    assert time.monotonic() - started < 5
    stats = heron.stats()
    assert stats["rejected"] == 0 and stats["dropped"] == 0 and stats["buffered"] == 0
    store = heron.api.local_store()
    (row,) = [r for r in export_page(store, "session").items if r["session_id"] == s.id]
    assert row["app"] == "default" and row["outcome"] == "ok" and row["subject_id"] == "m9"
    logs = {r["message"] for r in export_page(store, "log").items if r["session_id"] == s.id}
    assert {"first", "second", "camera cam-\ufffd.avi"} <= logs  # repaired, not lost
    assert stats["repaired"] == 1
    launcher_log = (s.folder / "launcher_metadata" / "launcher.log").read_text()
    assert "could not write" not in launcher_log and "set aside" not in launcher_log
    assert "camera cam-\\udcff.avi" in launcher_log  # the session's own log keeps it too
