"""What heron's writer process spends storing one request, apart from the app.

A bound app's requests reach its writer process (``heron.sinks.writer_process``) as
MessagePack batches of the monitor's ``put()`` tuples. Here one process does what the
writer does with them: decode a batch, make the rows, ingest them into a SQLite store in
one transaction, batch after batch. The requests are a hello-world app's: one endpoint, no
version and no user (two ``None`` in every row), durations spread over 40–100 µs.

Two set-ups, measured in the same run:

* ``writer``: the store opened as the writer process opens it
  (:func:`heron.sinks.writer_process.open_writer_store`: ``None`` bound through an adapter,
  the collector frozen after start-up and run every 10,000 allocations);
* ``plain``: the same code with the store opened by ``open_store`` alone, the interpreter
  left as it starts (the writer before issue 16's last round).

Default: CPU µs per request (``process_time`` over the measured batches; each set-up in
its own process, rounds interleaved, median). ``HERON_BENCH_INSTRUCTIONS=1``: instructions
per request, counted by callgrind (deterministic where time on a shared machine is not):
(count with 12 measured batches − count with 2) / 10 batches. ``HERON_BENCH_SIZES`` sets
the batch sizes (default ``2000,500``): the difference shows each batch's fixed work.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SETUPS = ("plain", "writer")
SIZES = [int(n) for n in os.environ.get("HERON_BENCH_SIZES", "2000,500").split(",")]
ROUNDS = int(os.environ.get("HERON_BENCH_ROUNDS", "5"))
WARM = 2  # batches stored before measuring: statements compiled, caches filled
MEASURED = 20


def payloads(size: int, count: int) -> list[bytes]:
    """``count`` batches of ``size`` request tuples as the app's recorder sends them."""
    import random

    import msgspec

    from heron.web.monitor import REQUEST

    rng = random.Random(1)
    start = 1_780_000_000.0
    out = []
    for n in range(count):
        items = [(REQUEST, "hello", None, "index", "GET", 200, rng.randint(40_000, 100_000),
                  start + n + i * 4e-5, "127.0.0.1", None, None, None) for i in range(size)]
        out.append(msgspec.msgpack.encode([1_000_000 * n, items]))
    return out


def child(setup: str, size: int, measured: int, folder: str) -> None:
    """Store ``WARM + measured`` batches of ``size`` as the writer does; print CPU µs per
    request of the measured ones."""
    import msgspec

    from heron.sinks.writer_process import open_writer_store, store_batch
    from heron.store import open_store

    batches = payloads(size, WARM + MEASURED)[:WARM + measured]  # made alike for any count
    url = f"sqlite:///{folder}/heron.db"
    store = open_writer_store(url, "heron_") if setup == "writer" else open_store(url)
    decode = msgspec.msgpack.decode
    for payload in batches[:WARM]:
        base, items = decode(payload)
        store_batch(store, items, base)
    started = time.process_time()
    for payload in batches[WARM:]:
        base, items = decode(payload)
        store_batch(store, items, base)
    cpu = time.process_time() - started
    store.dispose()
    print(json.dumps({"us": cpu / max(1, measured * size) * 1e6}))


def run_child(setup: str, size: int, measured: int, callgrind: bool = False) -> Any:
    with tempfile.TemporaryDirectory() as folder:
        from heron.store import open_store

        open_store(f"sqlite:///{folder}/heron.db").dispose()  # migrated, as deployed
        command = [sys.executable, __file__, "child", setup, str(size), str(measured), folder]
        if callgrind:
            command = ["valgrind", "--tool=callgrind",
                       f"--callgrind-out-file={Path(folder) / 'callgrind.out'}", *command]
        done = subprocess.run(command, capture_output=True, text=True, timeout=1800)
        if done.returncode != 0:
            raise RuntimeError(f"{setup} failed:\n{done.stderr[-2000:]}")
        if not callgrind:
            return json.loads(done.stdout.strip().splitlines()[-1])["us"]
        for line in done.stderr.splitlines():
            if "Collected :" in line:
                return int(line.split(":")[-1].strip().replace(",", ""))
        raise RuntimeError(f"callgrind gave no count:\n{done.stderr[-2000:]}")


def main() -> None:
    if len(sys.argv) == 6 and sys.argv[1] == "child":
        child(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5])
        return
    counting = bool(os.environ.get("HERON_BENCH_INSTRUCTIONS"))
    results: dict[tuple[str, int], float] = {}
    for size in SIZES:
        if counting:
            for setup in SETUPS:
                few, many = (run_child(setup, size, n, callgrind=True) for n in (2, 12))
                results[(setup, size)] = (many - few) / (10 * size)
            continue
        samples: dict[str, list[float]] = {s: [] for s in SETUPS}
        for _ in range(ROUNDS):  # interleaved, so machine noise hits both alike
            for setup in SETUPS:
                samples[setup].append(run_child(setup, size, MEASURED))
        for setup in SETUPS:
            results[(setup, size)] = statistics.median(samples[setup])
    unit = "instructions" if counting else "CPU µs"
    print(f"heron's writer, hello-world requests into SQLite: {unit} per request "
          f"({'callgrind' if counting else f'median of {ROUNDS} rounds'})")
    print(f"{'batch size':>10} " + " ".join(f"{s:>12}" for s in SETUPS) + f" {'writer/plain':>13}")
    for size in SIZES:
        plain, writer = results[("plain", size)], results[("writer", size)]
        figure = "{:12,.0f}" if counting else "{:12.2f}"
        print(f"{size:>10,} " + " ".join(figure.format(results[(s, size)]) for s in SETUPS)
              + f" {writer / plain - 1:+13.1%}")


if __name__ == "__main__":
    main()
