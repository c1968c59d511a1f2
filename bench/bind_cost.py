"""What ``heron.bind(app)`` costs when a process binds many apps, as test suites do
(an app per test: Flask-Login's suite makes 160).

One process makes 100 small Flask apps, binds each to heron recording into a fresh SQLite
store with PASSWORD set, and serves one request from each. Printed: the time of the 1st,
2nd, 10th and 100th ``bind``, the median of the last ten, the time to make the app itself
(the baseline measured in the same run) and the threads heron left alive.

Store setup, the dashboard's URL rules and password hashing happen once per process and
store (issue 16's goal: the hundredth bind under 20 ms).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

APPS = 100


def make_app(n: int):  # type: ignore[no-untyped-def]
    from flask import Flask

    app = Flask(f"app{n}")
    for route in range(10):
        app.add_url_rule(f"/r{route}/<int:item>", f"r{route}", lambda item: str(item))
    return app


def main() -> None:
    import heron

    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'heron.db'}"
        heron.config.configure(database=url, password="a-long-bench-password")
        make_ms: list[float] = []
        bind_ms: list[float] = []
        for n in range(APPS):
            started = time.perf_counter()
            app = make_app(n)
            made = time.perf_counter()
            heron.bind(app)
            bound = time.perf_counter()
            make_ms.append((made - started) * 1000)
            bind_ms.append((bound - made) * 1000)
            assert app.test_client().get("/r1/5").status_code == 200
        assert heron.flush(30)
        threads = sorted(t.name for t in threading.enumerate() if t.name.startswith("heron"))
        heron.shutdown()
    print(f"heron.bind() of {APPS} apps in one process (Python {sys.version.split()[0]})")
    print(f"{'bind':>10} {'ms':>9}")
    for index in (0, 1, 9, APPS - 1):
        print(f"{'#' + str(index + 1):>10} {bind_ms[index]:9.2f}")
    print(f"{'last ten':>10} {statistics.median(bind_ms[-10:]):9.2f}  (median)")
    print(f"making one app with 10 routes (baseline): {statistics.median(make_ms):.2f} ms")
    counted = {name: threads.count(name) for name in sorted(set(threads))}
    print(f"heron threads alive after {APPS} apps: "
          + ", ".join(f"{name} ×{n}" for name, n in counted.items()))


if __name__ == "__main__":
    main()
