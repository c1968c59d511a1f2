"""heron's pytest plugin: time a service's tests per build, with the endpoints each covers.

Installed with heron (entry point ``pytest11``), it does nothing until a test run asks for
it: ``--heron``, ``--heron-url``, ``--heron-times``, ``--heron-build`` or ``--heron-report``
on the command line, the same settings in the ``[pytest]`` ini section (``heron_url``,
...), or ``HERON_URL``, ``HERON_TIMES``, ``HERON_BUILD``, ``HERON_REPORT`` in the
environment. Until then it adds options and nothing else: no hook runs per test.

Turned on, it

* runs each test's call phase ``--heron-times`` times (fixtures are set up once) and keeps
  each duration; a repeat that fails fails the test, as it would have failed alone;
* notes the endpoints the test requested of any app heron monitors in this process (a
  Flask app after ``heron.bind(app)``, an ASGI app in ``heron.web.ASGIMiddleware``):
  no change to the tests;
* identifies the build (:mod:`heron.testmonitor.ci`) and writes a local report
  (``heron-tests.json`` in the rootdir, or ``--heron-report``);
* with ``--heron-url``, sends the results in one batch at the end
  (:mod:`heron.testmonitor.upload`). A failed upload prints one warning and never changes
  pytest's exit status; the results wait in the spool and go with the next run.
"""

from __future__ import annotations

import os
import statistics
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

#: setting -> (command-line option, ini name, environment variable, help)
SETTINGS: dict[str, tuple[str, str, str, str]] = {
    "url": ("--heron-url", "heron_url", "HERON_URL",
            "heron server to send the test results to (its dashboard's URL works too)"),
    "token": ("--heron-token", "heron_token", "HERON_TOKEN", "the server's ingest token"),
    "times": ("--heron-times", "heron_times", "HERON_TIMES",
              "run each test's call this many times (default 1)"),
    "build": ("--heron-build", "heron_build", "HERON_BUILD",
              "build id (default: the CI's build number, else the git commit)"),
    "app": ("--heron-app", "heron_app", "HERON_APP",
            "app the results belong to (default: the monitored app the tests requested)"),
    "report": ("--heron-report", "heron_report", "HERON_REPORT",
               "where to write the local report (default: heron-tests.json in the rootdir)"),
}
#: Settings that turn the plugin on when given (a token or an app alone do not).
TURN_ON = ("url", "times", "build", "report")

OUTCOMES = ("passed", "failed", "error", "skipped", "xfailed", "xpassed")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("heron", "heron Test Monitor: time tests per build")
    group.addoption("--heron", action="store_true", dest="heron_on", default=False,
                    help="time the tests for heron's Test Monitor (any --heron-* option "
                         "does too)")
    for name, (option, ini, env, text) in SETTINGS.items():
        group.addoption(option, dest=f"heron_{name}", default=None,
                        help=f"{text} [ini: {ini}, environment: {env}]")
        parser.addini(ini, text)


def settings_of(config: pytest.Config) -> dict[str, str | None]:
    """Each setting from the command line, else the environment, else the ini file."""
    out: dict[str, str | None] = {}
    for name, (_option, ini, env, _text) in SETTINGS.items():
        value = config.getoption(f"heron_{name}")
        if value in (None, ""):
            value = os.environ.get(env) or None
        if value in (None, ""):
            value = str(config.getini(ini) or "").strip() or None
        out[name] = value
    return out


def pytest_configure(config: pytest.Config) -> None:
    settings = settings_of(config)
    if not config.getoption("heron_on") and not any(settings[k] for k in TURN_ON):
        return
    if hasattr(config, "workerinput"):  # a pytest-xdist worker: the controller reports
        return
    monitor = TestMonitor(settings, Path(str(config.rootpath)))
    config.pluginmanager.register(monitor, "heron-testmonitor")


def parse_times(value: str | None) -> int:
    if value is None:
        return 1
    try:
        times = int(value)
    except ValueError:
        raise pytest.UsageError(f"--heron-times must be a whole number of runs, not "
                                f"{value!r}") from None
    if not 1 <= times <= 1000:
        raise pytest.UsageError(f"--heron-times must be between 1 and 1000, not {times}")
    return times


@dataclass
class Result:
    """One test of this run."""

    test_name: str
    suite: str
    outcome: str = "passed"
    durations_ms: list[float] = field(default_factory=list)
    endpoints: set[str] = field(default_factory=set)
    ts: float = 0.0

    @property
    def duration_ms(self) -> float:
        return statistics.median(self.durations_ms) if self.durations_ms else 0.0


class TestMonitor:
    """The plugin's state for one test session (registered only when turned on)."""

    __test__ = False  # not a test class

    def __init__(self, settings: dict[str, str | None], root: Path):
        from heron.testmonitor import ci, upload

        self.times = parse_times(settings["times"])
        self.url = upload.server_url(settings["url"]) if settings["url"] else None
        self.token = settings["token"]
        self.app = settings["app"]
        self.report_path = Path(settings["report"] or root / "heron-tests.json")
        self.build = ci.detect(os.environ, root, settings["build"])
        self.run_id = uuid.uuid4().hex
        self.results: dict[str, Result] = {}
        self.apps: Counter[str] = Counter()
        self.versions: dict[str, str] = {}
        self.outcome_note: str | None = None  # what happened to the results, for the summary
        self.warning: str | None = None
        self._current: Result | None = None
        self._previous_observer: Any = None

    # -- what the monitored apps tell -------------------------------------------------------
    def observe(self, app: str, endpoint: str, version: str | None) -> None:
        from heron.events import UNMATCHED

        self.apps[app] += 1
        if version:
            self.versions[app] = version
        current = self._current
        if current is not None and endpoint != UNMATCHED:
            current.endpoints.add(endpoint)

    # -- pytest's hooks -----------------------------------------------------------------
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        from heron.web import observe

        self._previous_observer = observe.observer
        observe.observer = self.observe

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item, nextitem: pytest.Item | None
                                ) -> Any:
        result = Result(item.nodeid, item.location[0])
        self.results[item.nodeid] = result
        self._current = result
        try:
            return (yield)
        finally:
            self._current = None
            result.ts = time.time()

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Any:
        """Time the call; repeat it (fixtures stay set up) when it passed."""
        result = self.results.get(item.nodeid)
        started = time.perf_counter()
        try:
            value = yield
        finally:
            if result is not None:
                result.durations_ms.append((time.perf_counter() - started) * 1000)
        for _ in range(self.times - 1):
            started = time.perf_counter()
            try:
                item.runtest()
            finally:
                if result is not None:
                    result.durations_ms.append((time.perf_counter() - started) * 1000)
        return value

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self.results.get(report.nodeid)
        if result is None:  # run elsewhere (a pytest-xdist worker): its report is what we see
            result = self.results[report.nodeid] = Result(report.nodeid, report.location[0])
            result.ts = time.time()
            if report.when == "call":
                result.durations_ms.append(report.duration * 1000)
        if report.when == "call":
            if hasattr(report, "wasxfail"):
                result.outcome = "xfailed" if report.skipped else "xpassed"
            else:
                result.outcome = report.outcome  # passed, failed, skipped
        elif report.failed:  # setup or teardown
            result.outcome = "error"
        elif report.skipped and report.when == "setup":
            result.outcome = "xfailed" if hasattr(report, "wasxfail") else "skipped"

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        from heron.web import observe

        observe.observer = self._previous_observer
        try:
            self._finish()
        except Exception as exc:  # noqa: BLE001 - never change the run's exit status
            self.warning = f"heron: the Test Monitor's results were not kept: {exc!r}"

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.outcome_note:
            terminalreporter.write_line(self.outcome_note)
        if self.warning:
            terminalreporter.write_line(self.warning, yellow=True, bold=True)

    # -- the end of the run -------------------------------------------------------------
    def app_id(self) -> str:
        if self.app:
            return self.app
        if self.apps:
            return self.apps.most_common(1)[0][0]
        return self.report_path.parent.name or "default"

    def events(self) -> list[Any]:
        from heron import events as ev

        app = self.app_id()
        version = self.versions.get(app) or os.environ.get("HERON_VERSION") or None
        return [ev.TestResult(
            app=app, ts=r.ts or time.time(), test_name=r.test_name[:500],
            suite=r.suite[:500], outcome=r.outcome, duration_ms=r.duration_ms,
            durations_ms=r.durations_ms[:1000], endpoints=sorted(r.endpoints)[:1000],
            build=self.build.id[:500], commit=self.build.commit, version=version,
            run_id=self.run_id) for r in self.results.values()]

    def _finish(self) -> None:
        from heron.testmonitor import upload

        events = self.events()
        if not events:
            return
        upload.write_report(self.report_path, self, events)
        counts = Counter(e.outcome for e in events)
        head = (f"heron: {len(events)} tests timed ×{self.times} for app "
                f"{events[0].app!r}, build {self.build.id}"
                f"{f' ({self.build.ci})' if self.build.ci else ''}: "
                + ", ".join(f"{counts[o]} {o}" for o in OUTCOMES if counts[o]))
        if self.url is None:
            self.outcome_note = f"{head}; report in {self.report_path}"
            return
        sent = upload.send(self.url, self.token, events)
        if sent.ok:
            self.outcome_note = f"{head}; sent to {self.url}"
        else:
            self.outcome_note = f"{head}; report in {self.report_path}"
            self.warning = (f"heron: WARNING the test results could not be sent to "
                            f"{self.url} ({sent.reason}); they wait in {sent.spool} and go "
                            "with the next run")
