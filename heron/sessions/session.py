"""One experiment session: a folder, a log, metadata, pipeline steps, resource samples,
and — whatever happens — a complete record at the end.

Layout (as the OpenScope launcher's, so its users find their files)::

    <output_dir>/<subject>_<YYYY-MM-DD_HH-MM-SS>/launcher_metadata/
        launcher.log  input_parameters.json  processed_parameters.json
        command_line_arguments.json  git_revisions.json  resource_usage.jsonl
        pipeline.json  end_state.json  notes.txt  debug_state.json (on failure)
"""

from __future__ import annotations

import json
import logging
import os
import platform
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from collections import deque
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from heron import emitting
from heron import events as ev
from heron.client.context import ContextThread
from heron.errors import ConfigError, HeronError
from heron.logs import handler as log_handler
from heron.logs.handler import LogHandler
from heron.sessions import pipeline
from heron.sessions.crash import CrashReportConfig, Failure, Reporter, fingerprint
from heron.sessions.files import METADATA, IsoFormatter, git_revision, write_json, write_text
from heron.sessions.resources import ResourceSampler

STAGES = ("setup", "pre_acquisition", "acquisition", "post_acquisition", "cleanup")
DEFAULT_ON_FAILURE = {"pre_acquisition": "abort", "post_acquisition": "continue"}
TAIL_LINES = 50


class SessionFailed(HeronError):
    """A pipeline module or child process failed in a way that stops the session."""


class SessionTerminated(BaseException):
    """SIGTERM arrived: the session ends through its normal finalisation."""


class _Tail(logging.Handler):
    """Keeps the session's last log lines for debug_state.json."""

    def __init__(self) -> None:
        super().__init__()
        self.lines: deque[str] = deque(maxlen=TAIL_LINES)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.lines.append(self.format(record))
        except Exception:  # noqa: BLE001 - logging must never break the session
            self.handleError(record)


class Session:
    """Use with ``with heron.session(output_dir, subject_id=..., ...) as s:``."""

    def __init__(self, output_dir: str | os.PathLike[str], *, subject_id: str = "unknown",
                 user_id: str | None = None, params: dict[str, Any] | None = None,
                 name: str = "session", app: str | None = None,
                 centralized_log_directory: str | os.PathLike[str] | None = None,
                 mirror_interval: float | None = None, resource_interval: float = 5.0,
                 low_disk_gb: float = 5.0, prompt_notes: bool = False,
                 log_level: str | int = "INFO", repositories: Sequence[str] = (),
                 input_params: dict[str, Any] | None = None,
                 crash_report: dict[str, Any] | None = None):
        if resource_interval <= 0:
            raise ConfigError(f"resource_interval must be positive, got {resource_interval}")
        if mirror_interval is not None and mirror_interval <= 0:
            raise ConfigError(f"mirror_interval must be positive, got {mirror_interval}")
        self.output_dir = Path(output_dir).expanduser()
        self.subject_id = str(subject_id)
        self.user_id = user_id
        self.params = dict(params or {})
        self.input_params = dict(input_params if input_params is not None else self.params)
        self.name = name
        self.app = app or emitting.app or "default"
        self.central = Path(centralized_log_directory).expanduser() \
            if centralized_log_directory else None
        self.mirror_interval = mirror_interval
        self.resource_interval = resource_interval
        self.low_disk_bytes = int(low_disk_gb * 1e9)
        self.prompt_notes = prompt_notes
        self.log_level = logging.getLevelName(log_level) if isinstance(log_level, str) \
            else int(log_level)
        if not isinstance(self.log_level, int):
            raise ConfigError(f"log_level {log_level!r} is not a logging level")
        self.repositories = list(repositories)
        config = CrashReportConfig.parse(crash_report)
        self.reporter = Reporter(config, self.output_dir) if config else None
        self._failures: list[Failure] = []
        self.id = ev.new_id()
        # not under "heron.": heron's own logger level (LOGGING_LEVEL) must not mute the
        # experiment's session log
        self.log = logging.getLogger(f"session.{_safe(name)}")
        self.stage = "setup"
        self.stage_reached = "setup"
        self.outcome = "ok"
        self.error: str | None = None
        self.notes: list[str] = []
        self.steps: list[dict[str, Any]] = []
        self.folder = Path()
        self.metadata = Path()
        self.crash_report: dict[str, Any] | None = None
        #: lines logged at start (``from_params``: keys kept as the experiment's parameters)
        self.start_notes: list[str] = []
        #: the experiment's script, whose repository is recorded (default: the running one;
        #: ``heron session run``: the acquisition script, else the parameter file)
        self.script: Path | None = None
        self._handlers: list[logging.Handler] = []
        self._context_token: Any = None
        self._root_level: int | None = None
        self._start = 0.0
        self._stage_started = 0.0
        self._sampler: ResourceSampler | None = None
        self._tail = _Tail()
        self._previous_sigterm: Any = None
        self._mirror_stop = threading.Event()
        self._children: list[subprocess.Popen[str]] = []

    # ---------------------------------------------------------------- start
    def __enter__(self) -> Session:
        self._start = time.time()
        self.folder = self._make_folder()
        self.metadata = self.folder / METADATA
        self.metadata.mkdir(parents=True)
        self._attach_logging()
        self.log.info("session %s started: subject %s, user %s, folder %s", self.id,
                      self.subject_id, self.user_id, self.folder)
        for note in self.start_notes:
            self.log.warning("%s", note)
        self._stage_started = time.time()
        self.log.info("stage setup started")
        write_json(self.metadata / "input_parameters.json", self.input_params)
        write_json(self.metadata / "processed_parameters.json", self.params)
        write_json(self.metadata / "command_line_arguments.json",
                   {"argv": sys.argv, "executable": sys.executable, "cwd": os.getcwd()})
        script = self.script or (Path(sys.argv[0]).resolve() if sys.argv and sys.argv[0]
                                 else Path.cwd())
        revisions = {"script": str(script), "experiment": git_revision(script),
                     "repositories": [git_revision(Path(r).expanduser())
                                      for r in self.repositories]}
        write_json(self.metadata / "git_revisions.json", revisions)
        for revision in [revisions["experiment"], *revisions["repositories"]]:
            # script and repository information in the log, as the launcher's has it
            self.log.info("script %s, repository %s, commit %s%s", revision["path"],
                          revision.get("repository") or "(none)",
                          revision.get("commit") or "-",
                          " (uncommitted changes)" if revision.get("dirty") else "")
        self._write_pipeline()
        self._write_end_state(final=False)
        if self.reporter is not None:
            try:
                sent = self.reporter.retry_outbox()
                if sent:
                    self.log.info("sent %d crash report(s) kept from earlier sessions", sent)
            except Exception:  # noqa: BLE001 - reporting never stops a session
                self.log.exception("retrying kept crash reports failed")
        self._sampler = ResourceSampler(self.metadata / "resource_usage.jsonl", self.output_dir,
                                        self.resource_interval, self.low_disk_bytes,
                                        self._on_sample)
        self._sampler.start()
        if threading.current_thread() is threading.main_thread():
            self._previous_sigterm = signal.signal(signal.SIGTERM, self._on_sigterm)
        if self.central is not None and self.mirror_interval:
            ContextThread(target=self._mirror_loop, name="heron-session-mirror",
                          daemon=True).start()
        emitting.emit(ev.SessionStart(app=self.app, ts=self._start, session_id=self.id,
                                      name=self.name, subject_id=self.subject_id,
                                      user_id=self.user_id, host=socket.gethostname(),
                                      output_dir=str(self.folder), params=_jsonable(self.params)))
        return self

    def _make_folder(self) -> Path:
        stamp = datetime.fromtimestamp(self._start).strftime("%Y-%m-%d_%H-%M-%S")
        base = f"{_safe(self.subject_id)}_{stamp}"
        self.output_dir.mkdir(parents=True, exist_ok=True)
        for n in range(1000):
            folder = self.output_dir / (base if n == 0 else f"{base}_{n}")
            try:
                folder.mkdir()
                return folder
            except FileExistsError:
                continue
        raise ConfigError(f"cannot make a new session folder under {self.output_dir}")

    def _attach_logging(self) -> None:
        # a line holding a lone surrogate (a file name that is not UTF-8) is written with
        # it escaped, never lost to a "Logging error"
        file_handler = logging.FileHandler(self.metadata / "launcher.log", encoding="utf-8",
                                           errors="backslashreplace")
        formatter = IsoFormatter()
        shipper = LogHandler(app=self.app)  # notes and crash links too
        for handler in (file_handler, self._tail, shipper):
            handler.setLevel(self.log_level)
            handler.setFormatter(formatter)
            self._handlers.append(handler)
        # records logged in this session's code (its thread and the threads it starts)
        self._context_token = log_handler.current_session.set((self.id, self.app))
        root = logging.getLogger()
        self._root_level = root.level
        if root.level == logging.NOTSET or root.level > self.log_level:
            root.setLevel(self.log_level)
        for handler in self._handlers:
            root.addHandler(handler)

    # ---------------------------------------------------------------- stages
    def enter_stage(self, stage: str) -> None:
        """Move to a lifecycle stage, logging the end of the one before."""
        if stage not in STAGES:
            raise ConfigError(f"unknown stage {stage!r}; stages: {', '.join(STAGES)}")
        if stage == self.stage:
            return
        now = time.time()
        self.log.info("stage %s ended after %.1f s", self.stage, now - self._stage_started)
        emitting.emit(ev.SessionStep(app=self.app, session_id=self.id, stage=self.stage,
                                     start_ts=self._stage_started, end_ts=now,
                                     outcome="failed" if self.outcome == "failed" else "ok"))
        self.stage = stage
        if STAGES.index(stage) > STAGES.index(self.stage_reached):
            self.stage_reached = stage
        self._stage_started = now
        self.log.info("stage %s started", stage)

    def run_pipeline(self, stage: str, modules: Iterable[Any]) -> list[dict[str, Any]]:
        """Run ``modules`` in ``stage``; each step is logged and kept in pipeline.json.

        A failing module stops the session (raises :class:`SessionFailed`) when its
        ``on_failure`` is abort (the default in pre_acquisition), or prompt without an
        answer of "c"; otherwise the next module runs.
        """
        resolved = [pipeline.resolve(m) for m in modules]  # a bad entry fails before any runs
        self.enter_stage(stage)
        results = []
        for module in resolved:
            step = self._run_module(stage, module)
            results.append(step)
            if step["outcome"] == "ok":
                continue
            self._failures.append(Failure(
                stage, module.name, step.get("traceback") or f"{module.name}: {step['error']}",
                stage, fingerprint(stage, f"{module.name}|{step['error']}")))
            policy = module.on_failure or DEFAULT_ON_FAILURE.get(stage, "continue")
            if policy == "prompt":
                policy = "continue" if _ask(f"{module.name} failed in {stage}. Continue? "
                                            "[c]ontinue / [a]bort: ") == "c" else "abort"
            if policy == "abort":
                raise SessionFailed(f"{stage} module {module.name} failed: {step['error']}")
            self.log.warning("%s failed; continuing (on_failure: continue)", module.name)
        return results

    def _run_module(self, stage: str, module: pipeline.Module) -> dict[str, Any]:
        self.log.info("module %s started", module.name)
        start = time.time()
        step: dict[str, Any] = {"name": module.name, "stage": stage, "start": start}
        try:
            if module.kind == "script":
                param_file = self.metadata / f"params_{_safe(module.name)}.json"
                write_json(param_file, {**self.params, **module.parameters})
                code = self.spawn(pipeline.script_command(module, str(param_file)),
                                  check=False)
                result: Any = code
            else:
                result = pipeline.call(module, self, self.params)
            ok = pipeline.succeeded(result)
            step.update(outcome="ok" if ok else "failed", result=_jsonable(result),
                        error=None if ok else f"returned {result!r}")
            if ok:
                self.log.info("module %s succeeded", module.name)
            else:
                self.log.error("module %s failed: returned %r", module.name, result)
        except Exception as exc:  # noqa: BLE001 - a module's failure is recorded, not fatal
            self.log.exception("module %s failed", module.name)
            step.update(outcome="failed", result=None, error=f"{type(exc).__name__}: {exc}")
            step["traceback"] = "".join(traceback.format_exception(exc))
        step["end"] = time.time()
        self.steps.append(step)
        self._write_pipeline()
        emitting.emit(ev.SessionStep(app=self.app, session_id=self.id, stage=stage,
                                     module=module.name, outcome=step["outcome"], start_ts=start,
                                     end_ts=step["end"], result=step["result"],
                                     error=step["error"]))
        return step

    # ---------------------------------------------------------------- child processes
    def spawn(self, command: Sequence[str], *, check: bool = True, env: dict[str, str] |
              None = None, cwd: str | os.PathLike[str] | None = None) -> int:
        """Run a child process to its end; its stdout is logged at INFO, its stderr at
        WARNING. Outside a pipeline this is the acquisition stage. With ``check``, a
        non-zero exit fails the session (raises :class:`SessionFailed`)."""
        if self.stage in ("setup", "pre_acquisition") and not self._in_module():
            self.enter_stage("acquisition")
        name = Path(str(command[0])).name if command else "?"
        child_log = logging.getLogger(f"session.child.{_safe(name)}")
        process = subprocess.Popen(list(map(str, command)), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, bufsize=1,
                                   env={**os.environ, **(env or {})}, cwd=cwd)
        self._children.append(process)
        self.log.info("child process %d started: %s", process.pid,
                      " ".join(map(str, command)))
        readers = [ContextThread(target=_pump, args=(stream, child_log, level), daemon=True)
                   for stream, level in ((process.stdout, logging.INFO),
                                         (process.stderr, logging.WARNING))]
        for reader in readers:
            reader.start()
        code = process.wait()
        for reader in readers:
            reader.join(10)
        self._children.remove(process)
        level = logging.INFO if code == 0 else logging.ERROR
        self.log.log(level, "child process %d exited with status %d", process.pid, code)
        if code != 0 and check:
            raise SessionFailed(f"child process {' '.join(map(str, command))} exited with "
                                f"status {code}")
        return code

    def _in_module(self) -> bool:
        return any(f.f_code.co_name == "_run_module" for f in _frames())

    # ---------------------------------------------------------------- notes
    def note(self, text: str) -> None:
        """Keep a note with the session (notes.txt)."""
        stamp = datetime.now().astimezone().isoformat(timespec="seconds")
        self.notes.append(f"{stamp} {text}")
        self.log.info("note: %s", text, extra={"heron_note": text})
        self._write_notes()

    def _write_notes(self) -> None:
        if self.notes:
            write_text(self.metadata / "notes.txt", "\n".join(self.notes) + "\n")

    # ---------------------------------------------------------------- the end
    def _on_sigterm(self, signum: int, frame: Any) -> None:
        raise SessionTerminated("SIGTERM")

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> bool:
        failed_in = self.stage
        if exc is not None:
            self.outcome = "terminated" if isinstance(exc, SessionTerminated | KeyboardInterrupt) \
                else "failed"
            self.error = f"{type(exc).__name__}: {exc}"
            self.log.error("session %s: %s in stage %s", self.outcome, self.error, self.stage,
                           exc_info=(exc_type, exc, tb))
            for child in list(self._children):
                if child.poll() is None:
                    self.log.warning("terminating child process %d", child.pid)
                    child.terminate()
        try:
            self.enter_stage("cleanup")
        except Exception:  # noqa: BLE001 - finalisation goes on
            pass
        if exc is not None:
            text = "".join(traceback.format_exception(type(exc), exc, tb))
            self._failures.insert(0, Failure("exception", type(exc).__name__, text, failed_in,
                                             fingerprint("exception", text)))
            self._write_debug_state(exc, tb, failed_in)
        self._finish()
        return False  # an exception goes on to the caller, after the record is complete

    def _finish(self) -> None:
        if self.prompt_notes and sys.stdin is not None and sys.stdin.isatty():
            text = _ask("Notes for this session (empty for none): ")
            if text:
                self.note(text)
        if self._sampler is not None:
            try:
                self._sampler.stop()
            except Exception:  # noqa: BLE001
                self.log.exception("last resource sample failed")
        stop = time.time()
        usage = self._sampler.summary() if self._sampler is not None else {}
        if usage:  # the resource summary closes the log, as the launcher's does
            self.log.info("resources over the session: %d samples, CPU at most %.0f%%, "
                          "memory at most %.0f MB, disk free at least %.1f GB",
                          usage["samples"], usage["max_cpu_percent"],
                          usage["max_rss_bytes"] / 2**20,
                          usage["min_disk_free_bytes"] / 2**30)
        self.log.info("session %s ended: %s after %.1f s", self.id, self.outcome,
                      stop - self._start)
        self._write_end_state(final=True, stop=stop)
        self._write_notes()
        emitting.emit(ev.SessionStep(app=self.app, session_id=self.id, stage="cleanup",
                                     start_ts=self._stage_started, end_ts=stop))
        emitting.emit(ev.SessionEnd(app=self.app, ts=stop, session_id=self.id,
                                    outcome=self.outcome, stage=self.stage_reached,
                                    error=self.error))
        self._report()
        self._mirror_stop.set()
        root = logging.getLogger()
        if self._context_token is not None:
            try:
                log_handler.current_session.reset(self._context_token)
            except ValueError:  # finished from another context (a signal handler)
                log_handler.current_session.set(None)
            self._context_token = None
        for handler in self._handlers:
            root.removeHandler(handler)
            handler.flush()
            handler.close()
        if self._root_level is not None:
            root.setLevel(self._root_level)
        if self._previous_sigterm is not None:
            signal.signal(signal.SIGTERM, self._previous_sigterm)
        self.mirror()

    def _report(self) -> None:
        """Send a crash report for the first failure the configuration reports on."""
        if self.reporter is None:
            return
        matching = [f for f in self._failures if f.kind in self.reporter.config.report_on]
        if not matching:
            return
        failure = matching[0]
        if failure.kind != "exception":  # a pipeline: every module that failed in it
            same = [f for f in matching if f.kind == failure.kind]
            names = [f.title_subject for f in same]
            failure = Failure(failure.kind, ", ".join(names),
                              "\n\n".join(f"{f.title_subject}:\n{f.traceback}" for f in same),
                              failure.stage, fingerprint(failure.kind, "|".join(names)))
        try:
            for handler in self._handlers:
                handler.flush()
            log_text = (self.metadata / "launcher.log").read_text(encoding="utf-8",
                                                                  errors="replace")
            report = self.reporter.build(self, failure, log_text)
            result = self.reporter.send(report)
            self.crash_report = result or {"sent": False, "kept_for_retry": True}
            path = self.metadata / "debug_state.json"
            try:
                state = json.loads(path.read_text())
            except (OSError, ValueError):
                state = {"exception": None, "traceback": failure.traceback,
                         "stage": failure.stage, "stage_reached": self.stage_reached,
                         "last_log_lines": list(self._tail.lines),
                         "parameters": _jsonable(self.params),
                         "resources": self._sampler.summary() if self._sampler else {}}
            state["crash_report"] = self.crash_report
            if self.crash_report.get("issue_url"):  # where the launcher's docs say it is
                state["github"] = {"issue_url": self.crash_report["issue_url"]}
            write_json(path, state)
        except Exception:  # noqa: BLE001 - reporting never changes the session's outcome
            self.log.exception("crash report failed")

    def _write_end_state(self, *, final: bool, stop: float | None = None) -> None:
        from heron._version import __version__

        stop = stop if stop is not None else time.time()
        write_json(self.metadata / "end_state.json", {
            "session_id": self.id, "name": self.name, "start_time": _iso(self._start),
            "stop_time": _iso(stop), "duration_s": round(stop - self._start, 3),
            "finished": final, "outcome": self.outcome if final else "running",
            "stage_reached": self.stage_reached, "error": self.error,
            "subject_id": self.subject_id, "user_id": self.user_id,
            "host": socket.gethostname(), "platform": platform.platform(),
            "python": sys.version.split()[0], "heron": __version__,
            "folder": str(self.folder), "notes": len(self.notes)})

    def _write_pipeline(self) -> None:
        write_json(self.metadata / "pipeline.json", {"steps": self.steps})

    def _write_debug_state(self, exc: BaseException, tb: Any, stage: str) -> None:
        state = {
            "exception": f"{type(exc).__name__}: {exc}",
            "traceback": "".join(traceback.format_exception(type(exc), exc, tb)),
            "crash_info": {"exception_type": type(exc).__name__, "message": str(exc),
                           "crash_time": _iso(time.time())},
            "stage": stage, "stage_reached": self.stage_reached,
            "last_log_lines": list(self._tail.lines), "parameters": _jsonable(self.params),
            "resources": self._sampler.summary() if self._sampler else {},
        }
        if self.crash_report is not None:
            state["crash_report"] = self.crash_report
        try:
            write_json(self.metadata / "debug_state.json", state)
        except Exception:  # noqa: BLE001 - the session still finalises
            self.log.exception("could not write debug_state.json")

    # ---------------------------------------------------------------- central mirror
    def mirror(self) -> Path | None:
        """Copy the log and end state to ``<central>/YYYY/MM/DD/<session id>/``."""
        if self.central is None:
            return None
        day = datetime.fromtimestamp(self._start)
        target = self.central / f"{day:%Y}" / f"{day:%m}" / f"{day:%d}" / self.id
        try:
            target.mkdir(parents=True, exist_ok=True)
            for name in ("launcher.log", "end_state.json"):
                source = self.metadata / name
                if source.exists():
                    write_text(target / name, source.read_text(encoding="utf-8",
                                                               errors="replace"))
        except OSError as exc:
            logging.getLogger("session").warning(
                "could not copy the session log to %s: %s", target, exc)
            return None
        return target

    def _mirror_loop(self) -> None:
        assert self.mirror_interval is not None
        while not self._mirror_stop.wait(self.mirror_interval):
            self._write_end_state(final=False)
            self.mirror()

    def _on_sample(self, sample: dict[str, Any]) -> None:
        # the log carries resource usage too, as the launcher's does (one line a sample)
        self.log.info("resources: CPU %.0f%% (machine %.0f%%), memory %.0f MB (machine "
                      "%.0f%%), disk free %.1f GB", sample["cpu_percent"],
                      sample["sys_cpu_percent"], sample["rss_bytes"] / 2**20,
                      sample["sys_memory_percent"], sample["disk_free_bytes"] / 2**30)
        emitting.emit(ev.Resource(app=self.app, ts=sample["ts"], session_id=self.id,
                                  cpu_percent=sample["cpu_percent"], rss_bytes=sample["rss_bytes"],
                                  sys_cpu_percent=sample["sys_cpu_percent"],
                                  sys_memory_percent=sample["sys_memory_percent"],
                                  disk_free_bytes=sample["disk_free_bytes"]))


def _pump(stream: Any, log: logging.Logger, level: int) -> None:
    for line in stream:
        log.log(level, "%s", line.rstrip("\n"))
    stream.close()


def _frames() -> Iterable[Any]:
    frame = sys._getframe(1)
    while frame is not None:
        yield frame
        frame = frame.f_back


def _ask(prompt: str) -> str:
    if sys.stdin is None or not sys.stdin.isatty():
        return ""  # never block a session that has no one at the terminal
    try:
        return input(prompt).strip().lower()
    except EOFError:
        return ""


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts).astimezone().isoformat(timespec="milliseconds")


def _safe(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "-" for c in text)[:80] or "session"


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except (TypeError, ValueError):
        return json.loads(json.dumps(value, default=str))
