"""The compatibility suite: other projects' own test suites, plain and with heron attached.

heron's first promise is that it changes nothing the app it is bound to does. This runs
the test suites of real projects, downloaded as sdists at pinned versions from the package
index, three times each: plain, with heron at monitor level 1, and at level 3
(``heron_attach.py`` attaches heron generically, with no per-suite code). It fails when

* any test's outcome differs from the plain run's,
* heron stored a different number of requests than the app served,
* an endpoint was stored with an empty name,
* more than one ``heron-levels`` thread (or profiler thread) was alive at the end.

Run it with ``make compat``; ``.ci/run`` runs it after ``make test``. Each environment is a
virtualenv of its own (``.venv-compat*``) with heron installed from this checkout.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[2]
WORK = ROOT / ".compat"
HERE = Path(__file__).resolve().parent

FASTAPI_TESTS = [
    "test_bigger_applications", "test_first_steps", "test_path_params", "test_query_params",
    "test_body", "test_handling_errors", "test_background_tasks", "test_events",
    "test_sub_applications", "test_middleware", "test_stream_data",
    "test_server_sent_events", "test_async_tests", "test_response_cookies",
    "test_static_files", "test_wsgi", "test_testing_dependencies", "test_websockets",
    "test_custom_response", "test_behind_a_proxy", "test_cors",
]
FASTAPI_DEPS = ["inline-snapshot==0.36.1", "dirty-equals==0.11", "anyio[trio]==4.16.0",
                "httpx2==2.16.2", "pytest-xdist==3.8.0", "a2wsgi==1.10.10"]


@dataclass
class Suite:
    name: str
    sdist: str             # requirement downloaded as an sdist: its tests live there
    folder: str            # where pytest runs, inside the unpacked sdist
    tests: list[str]       # what pytest is given, relative to ``folder``
    venv: str              # the environment's name, under ROOT
    install: list[str] = field(default_factory=list)  # pinned requirements
    editable: str | None = None  # a folder of the sdist installed too (flaskr)


SUITES = [
    Suite("Flask-Login", "Flask-Login==0.6.3", "", ["tests"], ".venv-compat",
          ["Flask-Login==0.6.3", "semantic-version==2.10.0"]),
    Suite("Flask-WTF", "Flask-WTF==1.3.0", "", ["tests"], ".venv-compat",
          ["Flask-WTF==1.3.0", "WTForms==3.3.2"]),
    Suite("flaskr (Flask tutorial)", "Flask==3.1.3", "examples/tutorial", ["tests"],
          ".venv-compat", editable="examples/tutorial"),
    Suite("FastAPI tutorial", "fastapi==0.165.0", "",
          [f"tests/test_tutorial/{t}" for t in FASTAPI_TESTS], ".venv-compat",
          ["fastapi==0.165.0", *FASTAPI_DEPS]),
    Suite("FastAPI 0.136 tutorial", "fastapi==0.136.0", "",
          [f"tests/test_tutorial/{t}" for t in FASTAPI_TESTS], ".venv-compat-fastapi-0.136",
          ["fastapi==0.136.0", *FASTAPI_DEPS]),
]
MODES = ["plain", "1", "3"]


def run(cmd: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, check=True, text=True, **kwargs)  # type: ignore[call-overload]


def unpack(suite: Suite) -> Path:
    """The suite's sdist, downloaded once and unpacked under .compat/."""
    downloads = WORK / "sdists"
    downloads.mkdir(parents=True, exist_ok=True)
    name, version = suite.sdist.split("==")
    found = _sdist(downloads, name, version)
    if found is None:
        run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--no-binary", ":all:", suite.sdist, "-d", str(downloads)])
        found = _sdist(downloads, name, version)
        if found is None:
            raise SystemExit(f"compat: pip downloaded no sdist for {suite.sdist}")
    target = WORK / "src"
    with tarfile.open(found) as archive:
        top = archive.getnames()[0].split("/")[0]
        if not (target / top).exists():
            archive.extractall(target, filter="data")
    return target / top


def _sdist(folder: Path, name: str, version: str) -> Path | None:
    wanted = {f"{name}-{version}.tar.gz".lower(),
              f"{name.replace('-', '_')}-{version}.tar.gz".lower()}
    for path in folder.glob("*.tar.gz"):
        if path.name.lower() in wanted:
            return path
    return None


def environment(suite: Suite, source: Path) -> Path:
    """The suite's virtualenv with heron from this checkout and the suite's pins."""
    venv = ROOT / suite.venv
    python = venv / "bin" / "python"
    stamp = venv / f".installed-{suite.name.replace(' ', '_')}"
    if stamp.exists():
        return python
    if not python.exists():
        run([sys.executable, "-m", "venv", str(venv)])
        run([str(python), "-m", "pip", "install", "--quiet", "--upgrade", "pip"])
    extra = ["-e", str(source / suite.editable)] if suite.editable else []
    run([str(python), "-m", "pip", "install", "--quiet", "-e", f"{ROOT}[test]",
         *suite.install, *extra])
    stamp.touch()
    return python


def run_suite(suite: Suite, python: Path, source: Path, mode: str) -> dict:  # type: ignore[type-arg]
    reports = WORK / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    slug = f"{suite.name.replace(' ', '_')}-{mode}"
    report = reports / f"{slug}.json"
    database = reports / f"{slug}.db"
    for stale in (report, database):
        stale.unlink(missing_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HERON_")}
    env.update(HERON_COMPAT_MODE=mode, HERON_COMPAT_REPORT=str(report),
               HERON_DATABASE=f"sqlite:///{database}",
               HERON_MONITOR_LEVEL="1" if mode == "plain" else mode,
               HERON_PASSWORD="compat-suite-password",
               PYTHONPATH=os.pathsep.join(filter(None, [str(HERE), env.get("PYTHONPATH")])))
    folder = source / suite.folder
    started = time.monotonic()
    done = subprocess.run([str(python), "-m", "pytest", "-p", "heron_attach", "-q",
                           "-p", "no:cacheprovider", *suite.tests], cwd=folder, env=env,
                          text=True, capture_output=True)
    if not report.exists():
        sys.stdout.write(done.stdout[-4000:] + done.stderr[-4000:])
        raise SystemExit(f"compat: {suite.name} ({mode}) wrote no report")
    result = json.loads(report.read_text())
    result["seconds"] = time.monotonic() - started
    last = (done.stdout.strip().splitlines() or [""])[-1]
    result["summary"] = last.strip("= ").rsplit(" in ", 1)[0]  # "113 passed, 1 failed"
    return result


def check(suite: Suite, results: dict[str, dict]) -> list[str]:  # type: ignore[type-arg]
    """What differs from the plain run, in words."""
    problems = []
    plain = results["plain"]["outcomes"]
    if not plain:
        problems.append("the plain run ran no test")
    for mode in MODES[1:]:
        got = results[mode]
        changed = {k: (plain.get(k), v) for k, v in got["outcomes"].items()
                   if plain.get(k) != v}
        changed.update({k: (v, None) for k, v in plain.items() if k not in got["outcomes"]})
        for nodeid, (before, after) in sorted(changed.items()):
            problems.append(f"level {mode}: {nodeid}: {before} plain, {after} with heron")
        if got["routed"] != got["stored"]:
            problems.append(f"level {mode}: {got['routed']} requests served, "
                            f"{got['stored']} stored")
        if "" in got["endpoints"]:
            problems.append(f"level {mode}: {got['endpoints']['']} requests stored "
                            "under an empty endpoint name")
        for name in ("heron-levels", "heron-profiler", "heron-outliers"):
            if got["threads"].count(name) > 1:
                problems.append(f"level {mode}: {got['threads'].count(name)} {name} "
                                "threads alive")
        if not got.get("flushed", False):
            problems.append(f"level {mode}: heron.flush() did not finish")
    return problems


def _threads(names: list[str]) -> str:
    """``levels, profiler ×2, recorder``: heron's threads alive, counted by name."""
    counts: dict[str, int] = {}
    for name in names:
        counts[name.removeprefix("heron-")] = counts.get(name.removeprefix("heron-"), 0) + 1
    return ", ".join(name if n == 1 else f"{name} ×{n}" for name, n in sorted(counts.items()))


def main(names: list[str]) -> int:
    console = Console(width=200)
    table = Table(title="heron compatibility suite: each project's own tests")
    for column in ("suite", "tests", "plain", "level 1", "level 3", "requests served",
                   "stored (1 / 3)", "endpoints", "heron threads (3)", "seconds (plain/1/3)"):
        table.add_column(column)
    failed: list[str] = []
    for suite in SUITES:
        if names and suite.name not in names:
            continue
        source = unpack(suite)
        python = environment(suite, source)
        results = {mode: run_suite(suite, python, source, mode) for mode in MODES}
        problems = check(suite, results)
        failed += [f"{suite.name}: {p}" for p in problems]
        plain = results["plain"]
        table.add_row(
            suite.name, str(len(plain["outcomes"])), plain["summary"],
            results["1"]["summary"], results["3"]["summary"],
            str(results["1"]["routed"]),
            f"{results['1']['stored']} / {results['3']['stored']}",
            str(len(results["3"]["endpoints"])), _threads(results["3"]["threads"]),
            " / ".join(f"{results[m]['seconds']:.1f}" for m in MODES),
            style="red" if problems else None)
    console.print(table)
    for line in failed:
        console.print(f"[red]FAIL[/red] {line}", highlight=False)
    if failed:
        return 1
    console.print("compat: every suite behaves the same with heron attached")
    return 0


if __name__ == "__main__":
    if "--clean" in sys.argv:
        shutil.rmtree(WORK, ignore_errors=True)
    sys.exit(main([a for a in sys.argv[1:] if not a.startswith("--")]))
