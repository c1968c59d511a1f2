"""What watching a large Dallinger experiment costs: heron's watcher before (every row read
and fingerprinted at every poll) and after (only rows written since the last poll's
snapshot, PostgreSQL's ``xmin``), on one database built with Dallinger's own models.

The database is built by ``bench/dallinger_build.py`` in a virtualenv of its own
(``.venv-dallinger``, made here with ``pip install dallinger==12.4.0`` when missing:
Dallinger 12.4 brings SQLAlchemy 1.4 and psycopg2, so it never shares heron's). Each
variant runs in a process of its own and prints:

* first poll: seconds and events for the full copy at start;
* idle poll: median seconds (and CPU seconds) of a poll when nothing changed;
* idle CPU: the watcher's CPU share of one core while polling every 2 s, nothing changing;
* visible after: seconds from a change committed in Dallinger's database to
  ``heron summary``'s numbers showing it (median and worst of 5, default 2 s interval,
  recording into a local heron store);
* restart: seconds and events of a restarted watcher's first poll after 100 changes;
* memory: peak RSS of the watcher's process (MB).

    .venv-bench/bin/python bench/dallinger_watch.py [--participants 50000] [--infos 4]

PostgreSQL: HERON_BENCH_POSTGRES_URL, else postgresql://postgres@127.0.0.1:5432/test.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DALLINGER_VENV = ROOT / ".venv-dallinger"
POSTGRES = os.environ.get("HERON_BENCH_POSTGRES_URL",
                          "postgresql://postgres@127.0.0.1:5432/test")
SCHEMA = "heron_bench_dallinger"


def dallinger_python() -> str:
    python = DALLINGER_VENV / "bin" / "python"
    if not python.exists():
        print("making .venv-dallinger (pip install dallinger==12.4.0) …", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(DALLINGER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "dallinger==12.4.0"],
                       check=True)
    return str(python)


def builder(*args: str) -> None:
    subprocess.run([dallinger_python(), str(ROOT / "bench" / "dallinger_build.py"),
                    POSTGRES, SCHEMA, *args], check=True)


def watched_url() -> str:
    return f"{POSTGRES}?options=-csearch_path%3D{SCHEMA}"


def child(incremental: bool) -> None:
    """One variant; prints one JSON line."""
    import heron
    from heron.experiment.dallinger import DallingerSource
    from heron.store import open_store
    from heron.store.queries.participants import UnknownApp, summary

    state = tempfile.mkdtemp()
    out: dict[str, float] = {}
    sent = [0]

    def count(_event: object) -> None:
        sent[0] += 1

    source = DallingerSource(watched_url(), "dl", emit=count, state_dir=state,
                             incremental=incremental)
    t = time.perf_counter()
    source.poll_once()
    out["first_s"], out["first_events"] = time.perf_counter() - t, sent[0]
    walls, cpus = [], []
    for _ in range(5):
        t, c = time.perf_counter(), time.process_time()
        assert source.poll_once() == {}
        walls.append(time.perf_counter() - t)
        cpus.append(time.process_time() - c)
    out["idle_s"], out["idle_cpu_s"] = statistics.median(walls), statistics.median(cpus)
    # idle CPU share while polling every 2 s
    thread = threading.Thread(target=source.run, daemon=True)
    source.interval = 2.0
    c, t = time.process_time(), time.perf_counter()
    thread.start()
    time.sleep(20)
    out["idle_cpu_share"] = (time.process_time() - c) / (time.perf_counter() - t)
    source.stop()
    # restart after 100 changes (the state file says where the last watcher stopped)
    builder("--change", "100")
    sent[0] = 0
    again = DallingerSource(watched_url(), "dl", emit=count, state_dir=state,
                            incremental=incremental)
    t = time.perf_counter()
    again.poll_once()
    out["restart_s"], out["restart_events"] = time.perf_counter() - t, sent[0]
    again.stop()
    # a change committed in Dallinger's database, visible in `heron summary`
    store_url = f"sqlite:///{tempfile.mkdtemp()}/heron.db"
    heron.init(app="dl", database=store_url)
    watcher = DallingerSource(watched_url(), "dl", interval=2.0, state_dir=tempfile.mkdtemp(),
                              incremental=incremental).start()
    store = open_store(store_url)

    def working() -> int:  # participants in heron's summary (a change adds one)
        try:
            return int(sum(summary(store, "dl").counts.values()))
        except UnknownApp:
            return -1

    latencies = []
    deadline = time.monotonic() + 900
    while (working() <= 0 or watcher.polls < 2) and time.monotonic() < deadline:
        time.sleep(0.5)  # the first copy into heron's store
    heron.flush(900)
    for _ in range(5):
        before = working()
        builder("--change", "1")  # one approved, one new participant
        t = time.perf_counter()
        while working() == before and time.perf_counter() - t < 120:
            time.sleep(0.05)
        latencies.append(time.perf_counter() - t)
    out["visible_median_s"], out["visible_max_s"] = statistics.median(latencies), \
        max(latencies)
    watcher.stop()
    heron.shutdown()
    store.dispose()
    out["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(out), flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--participants", type=int, default=50_000)
    parser.add_argument("--infos", type=int, default=4, help="infos per node")
    parser.add_argument("--variants", default="before,after",
                        help="which to run (before, after, or both)")
    parser.add_argument("--child", choices=["before", "after"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child == "after")
        return
    results = {}
    variants = [v for v in ("before", "after") if v in args.variants.split(",")]
    for variant in variants:
        builder(str(args.participants), str(args.infos))  # the same database for each
        run = subprocess.run([sys.executable, __file__, "--child", variant],
                             capture_output=True, text=True, check=False)
        if run.returncode != 0:
            raise SystemExit(f"{variant} failed:\n{run.stderr[-3000:]}")
        results[variant] = json.loads(run.stdout.strip().splitlines()[-1])
    rows = [("first poll (s, events)", "first_s", "first_events"),
            ("idle poll (s, CPU s)", "idle_s", "idle_cpu_s"),
            ("idle CPU, share of a core", "idle_cpu_share", None),
            ("restart after 100 changes (s, events)", "restart_s", "restart_events"),
            ("visible in summary (median, worst s)", "visible_median_s", "visible_max_s"),
            ("peak memory (MB)", "rss_mb", None)]
    print(f"\nDallinger 12.4 database, {args.participants:,} participants, "
          f"{args.infos} infos per node (PostgreSQL)")
    print(f"{'':42}" + "".join(f" {v:>22}" for v in variants))
    for label, a, b in rows:
        cells = []
        for variant in variants:
            r = results[variant]
            cell = f"{r[a]:.3f}" if isinstance(r[a], float) and r[a] < 10 else f"{r[a]:,.1f}"
            if b is not None:
                cell += f", {r[b]:,.3f}" if isinstance(r[b], float) and r[b] < 10 \
                    else f", {r[b]:,.0f}"
            cells.append(cell)
        print(f"{label:42}" + "".join(f" {c:>22}" for c in cells))
    print("goals (after): idle poll ≤ 0.3 s, idle CPU ≤ 2%, visible ≤ 3 s, restart sends only "
          "what changed, memory ≤ 100 MB")


if __name__ == "__main__":
    main()
