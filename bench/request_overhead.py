"""What monitoring adds to each request of a hello-world Flask app, and what it keeps.

Variants: plain Flask; heron at levels 1, 2 and 3 recording into its local SQLite store
(through its writer process, WRITER=auto); heron at level 1 with the writer in the app's
process (WRITER=thread); heron at level 1 with events discarded (what the request path
alone costs);
Flask-MonitoringDashboard (FMD) at levels 1, 2 and 3 (installed in the bench's own
environment, never a heron dependency). Each variant runs in its own process (FMD is a
process-wide singleton), and the rounds are interleaved: round 1 of every variant, then
round 2, … so machine noise hits all alike.

Per variant, for bursts of 2,000 and 20,000 requests (WSGI calls straight into the app, no
network): wall µs per request during the burst; process CPU µs per request during the
burst (every thread); process CPU µs per request until the burst is stored (heron after
``flush()``, FMD after its threads settle: the background writer's catch-up included);
and the share of requests stored. Overheads are against plain Flask in the same run.
heron's store is created (migrated) before its process starts, as a deployed app finds it
after the first start: migrating loads Alembic, which an up-to-date store never does.
A CPU-bound burst keeps the GIL busy, so heron's writer does most of its work after the
burst: the third figure is the whole cost.

Each process collects garbage once after its warm-up, before the bursts, and reports how
long that took. Start-up (imports above all) leaves one full collection due, which walks
the whole heap: heron's imports make it ~45 ms against plain Flask's ~8 ms. It falls on
whichever request comes next, once; after it, full collections are rare (none in five
more bursts of 20,000 in either app). Spread over one burst it read as ~2 µs per request
that a server running for more than a minute never pays again.
"""

from __future__ import annotations

import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

VARIANTS = ["plain", "heron-1", "heron-2", "heron-3", "heronthread-1", "heronpath-1", "fmd-1",
            "fmd-2", "fmd-3"]
LABELS = {"heronpath-1": "heron-1 request path only (events discarded, no store)",
          "heronthread-1": "heron-1 with WRITER=thread (the writer in the app's process)"}
if os.environ.get("HERON_BENCH_VARIANTS"):  # e.g. "plain,heron-1" to rerun a few
    VARIANTS = os.environ["HERON_BENCH_VARIANTS"].split(",")
ROUNDS = int(os.environ.get("HERON_BENCH_ROUNDS", "5"))
BURSTS = (2_000, 20_000)
VARIANT_S = int(os.environ.get("HERON_BENCH_VARIANT_S", "600"))  # FMD at level 3 is slow


def make_app():  # type: ignore[no-untyped-def]
    from flask import Flask

    app = Flask("hello")

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return "Hello, World!"

    return app


def store_url(variant: str, folder: str) -> str:
    return f"sqlite:///{folder}/heron-{variant}.db"


def prepare(variant: str, folder: str) -> None:
    """Create and migrate the variant's store (heron's), as a deployed app finds it."""
    if variant.startswith(("heron-", "heronthread-")):
        from heron.store import open_store

        open_store(store_url(variant, folder)).dispose()


def caller(app: Any) -> Any:
    """A function making one WSGI request of ``GET /`` to ``app`` (no network), its body
    read and closed as a server would."""
    from werkzeug.test import EnvironBuilder

    environ = EnvironBuilder(path="/", method="GET",
                             environ_base={"REMOTE_ADDR": "127.0.0.1"}).get_environ()

    def start_response(status: str, headers: list, exc_info=None):  # type: ignore[no-untyped-def]
        return lambda data: None

    def call() -> None:
        body = app(dict(environ), start_response)
        for _ in body:
            pass
        close = getattr(body, "close", None)
        if close:
            close()

    return call


def child(variant: str, folder: str, counted: int | None = None) -> None:
    """Run one variant: time bursts, then count what was stored; print JSON."""

    app = make_app()
    count = None
    settle = None  # waits until the monitor's background work for the burst is done
    kind, _, level = variant.partition("-")
    if kind in ("heron", "heronthread"):
        import heron
        from heron.store import open_store

        url = store_url(variant, folder)
        heron.bind(app, database=url, monitor_level=int(level), password="bench-password",
                   writer="thread" if kind == "heronthread" else "auto")
        store = open_store(url)

        def count() -> int:  # type: ignore[no-redef]
            heron.flush(120)
            with store.read() as conn:
                return int(conn.exec_driver_sql(
                    "SELECT count(*) FROM heron_request").scalar() or 0)
    elif kind == "heronpath":
        import heron

        class Discard:
            def write(self, events: list) -> None:  # type: ignore[type-arg]
                pass

            def close(self) -> None:
                pass

        heron.init(app="hello", sink=Discard(), monitor_level=int(level))
        heron.bind(app)
        count = None

        def settle() -> None:
            heron.flush(120)
    elif kind == "fmd":
        import flask_monitoringdashboard as dashboard

        db = f"{folder}/fmd-{variant}.db"
        dashboard.config.database_name = f"sqlite:///{db}"
        dashboard.config.monitor_level = int(level)
        dashboard.bind(app)

        def count() -> int:  # type: ignore[no-redef]
            import sqlite3

            previous = -1
            for _ in range(120):  # until its per-request threads have written
                time.sleep(0.5)
                with sqlite3.connect(db) as conn:
                    n = conn.execute("SELECT count(*) FROM Request").fetchone()[0]
                if n == previous:
                    return int(n)
                previous = n
            return int(previous)

    call = caller(app)
    for _ in range(300):  # warm up (and let levels/thresholds settle)
        call()
    if counted is not None:  # under callgrind: these requests, then every write they cause
        if kind in ("heron", "heronthread", "heronpath"):
            # Written once at the end, in the recorder's full batches, as after a real
            # burst: under callgrind's slowdown the 200 ms timer would cut tiny batches.
            import heron

            heron.flush(120)
            heron.api.recorder().interval = 3600.0  # type: ignore[union-attr]
        for _ in range(counted):
            call()
        if count is not None:
            count()
        elif settle is not None:
            settle()
        return
    base = count() if count else 0
    # The full collection that start-up leaves due (the imports' objects, promoted while
    # the app started, are walked once, then rarely): a one-off pause, reported on its own,
    # not spread over the burst's requests. Every variant pays it here, before its bursts.
    started = time.perf_counter()
    gc.collect()
    out: dict[str, Any] = {"startup_gc_ms": (time.perf_counter() - started) * 1e3}
    import psutil

    def writer_cpu() -> float:
        """CPU seconds of heron's writer process, if the app has one (WRITER=process):
        every thread's time on a CPU in nanoseconds from /proc (schedstat), where psutil's
        clock ticks (10 ms: half a µs per request of a burst of 20,000) were too coarse."""
        total = 0.0
        for proc in psutil.Process().children():
            try:
                if "heron.sinks.writer_process" in " ".join(proc.cmdline()):
                    total += _schedstat_seconds(proc.pid) if Path(
                        f"/proc/{proc.pid}/task").exists() else sum(proc.cpu_times()[:2])
            except (psutil.Error, OSError):
                pass
        return total

    for burst in BURSTS:
        writer_started = writer_cpu()
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(burst):
            call()
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_started  # every thread: the writer's share too
        if count is not None:
            stored = count() - base
            cpu_all = time.process_time() - cpu_started
            check = time.process_time()
            count()  # what counting itself costs, taken off again
            cpu_all -= time.process_time() - check
        else:
            if settle is not None:
                settle()
            stored, cpu_all = burst, time.process_time() - cpu_started
        base += stored
        out[str(burst)] = {"us": elapsed / burst * 1e6, "cpu_us": cpu / burst * 1e6,
                           "cpu_all_us": cpu_all / burst * 1e6, "stored": stored / burst,
                           "writer_us": (writer_cpu() - writer_started) / burst * 1e6}
    print(json.dumps(out))


def _schedstat_seconds(pid: int) -> float:
    """Time on a CPU of every thread of process ``pid`` (Linux), in seconds."""
    total = 0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            total += int((task / "schedstat").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            pass
    return total / 1e9


PAIRS = int(os.environ.get("HERON_BENCH_PAIRS", "40"))
PAIR_BURST = 2_000


def child_pairs(folder: str) -> None:
    """Plain Flask and heron at level 1 in one process, burst against burst.

    Separate processes differ by several µs per request on their own (where the
    interpreter and the heap land in memory, the hash seed: plain Flask alone moves by
    ±10% from one process to the next), which is as much as what is measured. Here two
    copies of the same app share one interpreter, one bound (heron at level 1, its writer
    process) and one not, and their bursts alternate (plain, heron, heron, plain, … so
    drift falls on both alike). Each heron burst ends with ``flush()``: its CPU, the app's
    and the writer process's, is counted until the burst is stored. Prints per-pair
    figures as JSON."""

    import heron
    from heron.store import open_store

    plain_app, bound_app = make_app(), make_app()
    url = store_url("heron-1", folder)
    heron.bind(bound_app, database=url, monitor_level=1, password="bench-password")
    store = open_store(url)
    calls = {app: caller(app) for app in (plain_app, bound_app)}

    def burst(app: Any) -> None:
        call = calls[app]
        for _ in range(PAIR_BURST):
            call()

    def writer_cpu() -> float:
        import psutil

        return sum(_schedstat_seconds(p.pid) for p in psutil.Process().children()
                   if "heron.sinks.writer_process" in " ".join(p.cmdline()))

    burst(plain_app)  # warm up both
    burst(bound_app)
    heron.flush(120)
    gc.collect()
    pairs: list[dict[str, float]] = []
    for n in range(PAIRS):
        pair: dict[str, float] = {}
        for name in (("plain", "heron") if n % 2 == 0 else ("heron", "plain")):
            writer_started = writer_cpu()
            started, cpu_started = time.perf_counter(), time.process_time()
            burst(plain_app if name == "plain" else bound_app)
            wall = time.perf_counter() - started
            if name == "heron":
                heron.flush(120)
            cpu = time.process_time() - cpu_started
            pair[f"{name}_us"] = wall / PAIR_BURST * 1e6
            pair[f"{name}_cpu_us"] = cpu / PAIR_BURST * 1e6
            pair[f"{name}_writer_us"] = (writer_cpu() - writer_started) / PAIR_BURST * 1e6
        pairs.append(pair)
    with store.read() as conn:
        stored = int(conn.exec_driver_sql("SELECT count(*) FROM heron_request").scalar() or 0)
    print(json.dumps({"pairs": pairs, "stored": stored / ((PAIRS + 1) * PAIR_BURST)}))


def main_pairs(folder: str) -> None:
    """Run :func:`child_pairs` in its own process and print its figures."""
    prepare("heron-1", folder)
    done = subprocess.run([sys.executable, __file__, "pairs", folder], capture_output=True,
                          text=True, timeout=VARIANT_S)
    if done.returncode != 0:
        print(f"pairs failed:\n{done.stderr[-2000:]}", file=sys.stderr)
        return
    result = json.loads(done.stdout.strip().splitlines()[-1])
    pairs = result["pairs"]

    def med(values: list[float]) -> float:
        return statistics.median(values)

    wall = [p["heron_us"] / p["plain_us"] - 1 for p in pairs]
    cpu = [(p["heron_cpu_us"] + p["heron_writer_us"]) / p["plain_cpu_us"] - 1 for p in pairs]
    print()
    print(f"same process, plain Flask and heron-1 (writer process) burst against burst: "
          f"{len(pairs)} pairs of {PAIR_BURST:,} requests, median over pairs (quartiles)")
    print(f"  plain wall {med([p['plain_us'] for p in pairs]):.1f} µs, heron-1 wall "
          f"{med([p['heron_us'] for p in pairs]):.1f} µs; heron-1 CPU until stored: app "
          f"{med([p['heron_cpu_us'] for p in pairs]):.1f} µs + writer process "
          f"{med([p['heron_writer_us'] for p in pairs]):.1f} µs; stored "
          f"{min(result['stored'], 1.0):.1%}")

    def quartiles(values: list[float]) -> str:
        q = statistics.quantiles(values, n=4)
        return f"{q[1]:+.1%} ({q[0]:+.1%}..{q[2]:+.1%})"

    print(f"  heron-1 wall {quartiles(wall)}   CPU until stored, app + writer "
          f"{quartiles(cpu)}   (issue 16's goal: wall ≤ +10%, CPU ≤ +20%)")


INSTRUCTION_VARIANTS = [v for v in VARIANTS if not v.startswith("fmd")] \
    if os.environ.get("HERON_BENCH_VARIANTS") else \
    ["plain", "heron-1", "heron-2", "heron-3", "heronpath-1"]
COUNTED = 2_000


def instructions(variant: str, folder: str, counted: int) -> int:
    """Instructions the whole process executed (every thread), counted by callgrind."""
    own = Path(folder) / f"{variant}-{counted}"  # a fresh store for every run
    own.mkdir()
    prepare(variant, str(own))
    done = subprocess.run(["valgrind", "--tool=callgrind",
                           f"--callgrind-out-file={own / 'callgrind.out'}",
                           sys.executable, __file__, variant, str(own), str(counted)],
                          capture_output=True, text=True, timeout=VARIANT_S)
    for line in done.stderr.splitlines():
        if "Collected :" in line:
            return int(line.split(":")[-1].strip().replace(",", ""))
    raise RuntimeError(f"callgrind gave no count for {variant}:\n{done.stderr[-2000:]}")


def main_instructions() -> None:
    """Instructions per request, every thread and the writes the requests cause included:
    (count with COUNTED requests − count with none) / COUNTED. Deterministic where wall
    time on a shared machine is not; the µs column converts with plain Flask's own
    µs per instruction, measured in the same run. Under callgrind a program runs about 50
    times slower while heron's timers (the outlier watch and the sampler every 5 ms) keep
    wall time, so levels 2 and 3 are counted with 50 times more timer work per request
    than they really do: an upper bound. heron's writer is held until the end, then writes
    the requests in its full batches, as it does after a burst in real time."""
    from concurrent.futures import ThreadPoolExecutor

    with tempfile.TemporaryDirectory() as folder:
        jobs = [(v, n) for v in INSTRUCTION_VARIANTS for n in (0, COUNTED)]
        with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
            counts = dict(zip(jobs, pool.map(
                lambda job: instructions(job[0], folder, job[1]), jobs), strict=True))
        child_timing = subprocess.run([sys.executable, __file__, "plain", folder],
                                      capture_output=True, text=True, check=True)
        plain_us = json.loads(child_timing.stdout.strip().splitlines()[-1])["20000"]["us"]
    per = {v: (counts[(v, COUNTED)] - counts[(v, 0)]) / COUNTED for v in INSTRUCTION_VARIANTS}
    us_per_instruction = plain_us / per["plain"]
    print(f"instructions per request (callgrind, every thread, writes included), "
          f"{COUNTED:,} requests")
    print(f"{'variant':12} {'instr/req':>10} {'+plain':>9} {'≈ µs':>7}")
    for variant in INSTRUCTION_VARIANTS:
        extra = per[variant] - per["plain"]
        print(f"{variant:12} {per[variant]:10,.0f} {extra:+9,.0f} "
              f"{extra * us_per_instruction:+7.1f}  {LABELS.get(variant, '')}")
    print(f"(plain Flask: {plain_us:.1f} µs per request measured now, so "
          f"{us_per_instruction * 1000:.2f} ns per instruction)")


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "pairs":
        child_pairs(sys.argv[2])
        return
    if len(sys.argv) == 4:
        child(sys.argv[1], sys.argv[2], int(sys.argv[3]))
        return
    if len(sys.argv) == 3:
        child(sys.argv[1], sys.argv[2])
        return
    if os.environ.get("HERON_BENCH_INSTRUCTIONS"):
        main_instructions()
        return
    results: dict[str, list[dict]] = {v: [] for v in VARIANTS}  # type: ignore[type-arg]
    by_round: dict[tuple[str, int], dict] = {}  # type: ignore[type-arg]
    with tempfile.TemporaryDirectory() as folder:
        for round_no in range(ROUNDS):
            for variant in VARIANTS:
                round_dir = Path(folder) / f"r{round_no}"
                round_dir.mkdir(exist_ok=True)
                prepare(variant, str(round_dir))
                try:
                    done = subprocess.run([sys.executable, __file__, variant, str(round_dir)],
                                          capture_output=True, text=True, timeout=VARIANT_S)
                except subprocess.TimeoutExpired:
                    print(f"round {round_no + 1}: {variant} did not finish in {VARIANT_S} s",
                          flush=True)
                    continue
                if done.returncode != 0:
                    print(f"{variant} failed:\n{done.stderr[-2000:]}", file=sys.stderr)
                    continue
                result = json.loads(done.stdout.strip().splitlines()[-1])
                results[variant].append(result)
                by_round[(variant, round_no)] = result
                print(f"round {round_no + 1}: {variant} {json.dumps(result)}", flush=True)
    if not results["plain"]:
        sys.exit("the plain Flask baseline did not run")
    def median(variant: str, key: str) -> float:
        return statistics.median(r["20000"][key] for r in results[variant])

    def paired(variant: str) -> list[float]:
        """Wall µs over plain, round by round: each round's plain against the same round."""
        return sorted(by_round[(variant, n)]["20000"]["us"] - by_round[("plain", n)]["20000"]["us"]
                      for n in range(ROUNDS) if (variant, n) in by_round
                      and ("plain", n) in by_round)

    print(f"hello-world Flask, {ROUNDS} interleaved rounds, burst of 20,000, median of rounds")
    print("  wall: µs per request during the burst (the request path, and whatever background"
          " work got the GIL)")
    print("  cpu: process CPU µs per request during the burst, every thread")
    print("  cpu+after: process CPU µs per request until the burst is stored (background "
          "writer catch-up included)")
    print("  paired: median over rounds of (variant − plain of the same round), wall, with the "
          "rounds' lowest and highest")
    print(f"{'variant':12} {'wall':>7} {'+plain':>7} {'cpu':>7} {'+plain':>7} "
          f"{'cpu+after':>10} {'+plain':>7} {'paired':>7} {'range':>15} "
          f"{'stored 2,000':>13} {'stored 20,000':>14} {'startup GC ms':>14}")
    base = {key: median("plain", key) for key in ("us", "cpu_us", "cpu_all_us")}
    for variant in VARIANTS:
        rows = results[variant]
        if not rows:
            print(f"{variant:12} (did not finish)")
            continue
        figures = " ".join(f"{median(variant, key):7.1f} {median(variant, key) - base[key]:+7.1f}"
                           if key != "cpu_all_us" else
                           f"{median(variant, key):10.1f} {median(variant, key) - base[key]:+7.1f}"
                           for key in ("us", "cpu_us", "cpu_all_us"))
        pairs = paired(variant)
        spread = (f"{statistics.median(pairs):+7.1f} {pairs[0]:+7.1f}..{pairs[-1]:+.1f}"
                  if pairs else f"{'':7} {'':15}")
        small = min(r["2000"]["stored"] for r in rows)
        big = min(r["20000"]["stored"] for r in rows)
        stored = (f"{small:13.1%} {big:14.1%}" if not variant.startswith("heronpath")
                  else f"{'(discarded)':>13} {'(discarded)':>14}")
        startup = statistics.median(r["startup_gc_ms"] for r in rows)
        print(f"{variant:12} {figures} {spread:>23} {stored} {startup:14.1f}  "
              f"{LABELS.get(variant, '')}")
    print()
    print("as a ratio to plain Flask measured in this run (issue 16's goal for heron-1: "
          "wall ≤ +10%, cpu+after ≤ +20%, 100% stored)")
    print("  (writer process: CPU µs per request of heron's writer process, outside the app's "
          "interpreter; app+writer: cpu+after plus that, against plain Flask)")
    print(f"{'variant':12} {'wall':>8} {'cpu':>8} {'cpu+after':>10} {'paired wall':>12} "
          f"{'writer process':>15} {'app+writer':>11}")
    for variant in VARIANTS:
        if not results[variant] or variant == "plain":
            continue
        ratios = [median(variant, key) / base[key] - 1 for key in ("us", "cpu_us", "cpu_all_us")]
        pairs = [by_round[(variant, n)]["20000"]["us"] / by_round[("plain", n)]["20000"]["us"]
                 - 1 for n in range(ROUNDS)
                 if (variant, n) in by_round and ("plain", n) in by_round]
        paired_ratio = f"{statistics.median(pairs):+12.1%}" if pairs else f"{'':12}"
        writer = statistics.median(r["20000"].get("writer_us", 0.0) for r in results[variant])
        both = (median(variant, "cpu_all_us") + writer) / base["cpu_all_us"] - 1
        print(f"{variant:12} {ratios[0]:+8.1%} {ratios[1]:+8.1%} {ratios[2]:+10.1%} "
              f"{paired_ratio} {writer:12.1f} µs {both:+11.1%}")
    if "heron-1" in VARIANTS and PAIRS:
        with tempfile.TemporaryDirectory() as folder:
            main_pairs(folder)

if __name__ == "__main__":
    main()
