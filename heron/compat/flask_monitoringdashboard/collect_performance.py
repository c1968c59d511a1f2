"""Flask-MonitoringDashboard's test-performance command, on heron's pytest plugin::

    python -m heron.compat.flask_monitoringdashboard.collect_performance \\
        --test_folder=./tests --times=5 --url=https://yourdomain.org/dashboard

All three are optional, with FMD's defaults: the tests in the current folder, 5 runs of
each, and without ``--url`` the results are measured (and written to ``heron-tests.json``)
but not sent. pytest runs the folder's tests, ``unittest`` suites included, through
:mod:`heron.testmonitor.plugin`; the build is the CI's (Travis, GitHub Actions, GitLab CI,
Jenkins), as FMD identified a run by the Travis build number. The ingest token, when the
server wants one, comes from ``HERON_TOKEN``. Exits with pytest's status.
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m heron.compat.flask_monitoringdashboard.collect_performance",
        description="Run the service's unit tests several times and send their timing "
                    "(and the endpoints each requests) to heron's Test Monitor.")
    parser.add_argument("--test_folder", default="./",
                        help="folder with the unit tests (default: the current folder)")
    parser.add_argument("--times", default="5",
                        help="how many times to run each test (default: 5)")
    parser.add_argument("--url", default=None,
                        help="the dashboard to send the results to; without it they are "
                             "measured but not sent")
    args, extra = parser.parse_known_args(argv)
    try:
        times = int(args.times)
    except ValueError:
        parser.error(f"--times must be a whole number, not {args.times!r}")
    if times < 1:
        parser.error(f"--times must be 1 or more, not {times}")
    import pytest

    options = [args.test_folder, "--heron", f"--heron-times={times}", *extra]
    import os

    if os.environ.get("PYTEST_DISABLE_PLUGIN_AUTOLOAD"):  # then it is not loaded by itself
        options[:0] = ["-p", "heron.testmonitor.plugin"]
    if args.url:
        options.append(f"--heron-url={args.url}")
    return int(pytest.main(options))


if __name__ == "__main__":
    sys.exit(main())
