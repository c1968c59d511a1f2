"""What heron's pytest plugin adds to a test suite's run time at ``--heron-times 1``.

Runs a selection of heron's own test suite (``HERON_BENCH_TESTS``, default: the unit tests
and four integration files, SQLite and PostgreSQL) with the plugin off and on, alternating,
``HERON_BENCH_ROUNDS`` times each (default 3), and prints each run's wall time, the medians
and the ratio. The plugin's run writes its local report only (no upload). Issue 21's goal:
under +5%.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = os.environ.get("HERON_BENCH_TESTS", "tests/unit tests/integration/test_web.py "
                       "tests/integration/test_store.py tests/integration/test_dashboard.py "
                       "tests/integration/test_logs.py").split()
ROUNDS = int(os.environ.get("HERON_BENCH_ROUNDS", "3"))


def run(plugin: bool, report: Path) -> tuple[float, str]:
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *TESTS]
    if plugin:
        args += ["--heron-times", "1", "--heron-report", str(report)]
    started = time.perf_counter()
    done = subprocess.run(args, cwd=ROOT, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    last = (done.stdout.strip().splitlines() or [""])[-1]
    if done.returncode != 0:
        sys.exit(f"the suite failed ({'with' if plugin else 'without'} the plugin):\n"
                 f"{done.stdout[-3000:]}")
    return elapsed, last


def main() -> None:
    times: dict[bool, list[float]] = {False: [], True: []}
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "report.json"
        for round_no in range(ROUNDS):
            for plugin in (False, True):
                elapsed, last = run(plugin, report)
                times[plugin].append(elapsed)
                print(f"round {round_no + 1}, plugin {'on ' if plugin else 'off'}: "
                      f"{elapsed:6.1f} s  ({last})", flush=True)
        tests = len(__import__("json").loads(report.read_text())["tests"])
    off, on = statistics.median(times[False]), statistics.median(times[True])
    print(f"{tests} tests; median wall: plugin off {off:.1f} s, on (--heron-times 1) "
          f"{on:.1f} s: {(on / off - 1) * 100:+.1f}% (goal: under +5%)")


if __name__ == "__main__":
    main()
