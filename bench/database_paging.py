"""The Database view's server-side paging with 1,000,000 participants, on SQLite and
PostgreSQL: time per request of the page the grid asks for (first page, a deep page, sorted,
searched, filtered), measured through the dashboard's own API.

Baseline, measured in the same run: fetching the first page with no count at all (what a
page costs when nothing else is asked), so the figures read as a ratio to the cheapest call.

PostgreSQL: ``HERON_BENCH_POSTGRES_URL`` or the local test server.
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import create_engine, text

from heron import events as ev
from heron.store import Store, open_store
from heron.store.queries.experiment import table_page

ROWS = int(os.environ.get("HERON_BENCH_PARTICIPANTS", "1000000"))
POSTGRES = os.environ.get("HERON_BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STATUSES = ["working", "submitted", "approved", "approved", "approved", "returned"]


def fill(store: Store) -> float:
    started = time.perf_counter()
    batch = 20_000
    for start in range(0, ROWS, batch):
        store.ingest([ev.Participant(app="big", participant_id=f"p{i}",
                                     status=STATUSES[i % len(STATUSES)],
                                     worker_id=f"W{i:07d}", mode="live", base_pay=1.0)
                      for i in range(start, min(ROWS, start + batch))])
    return time.perf_counter() - started


def timed(call: Callable[[], object], repeat: int = 5) -> float:
    call()  # warm caches, as a person paging does
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples) * 1000


def measure(name: str, url: str, prefix: str) -> None:
    store = open_store(url, prefix)
    try:
        seconds = fill(store)
        print(f"\n{name}: {ROWS:,} participants stored in {seconds:.1f} s "
              f"({ROWS / seconds:,.0f}/s)")
        table = store.table("participant")
        with store.read() as conn:
            baseline = timed(lambda: conn.execute(
                text(f"SELECT * FROM {table.name} WHERE app = 'big' ORDER BY seq LIMIT 25")
            ).fetchall())
        cases = {
            "first page (25 rows + counts)": lambda: table_page(store, "big", length=25),
            f"last page (offset {ROWS - 25:,})": lambda: table_page(
                store, "big", start=ROWS - 25, length=25),
            "sorted by worker_id, desc": lambda: table_page(
                store, "big", length=25, order_column="worker_id", order_dir="desc"),
            "global search 'w0999'": lambda: table_page(
                store, "big", length=25, search_value="w0999"),
            "filter participant_id = p123456": lambda: table_page(
                store, "big", length=25, column_filters={"participant_id": "p123456"}),
            "filter status = returned": lambda: table_page(
                store, "big", length=25, column_filters={"status": "returned"}),
        }
        print(f"  {'request':40} {'median ms':>10} {'× baseline':>11}")
        print(f"  {'baseline: 25 rows, no counts':40} {baseline:10.1f} {1:11.1f}")
        for label, call in cases.items():
            ms = timed(call, repeat=3)
            print(f"  {label:40} {ms:10.1f} {ms / baseline:11.1f}")
    finally:
        store.dispose()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        measure("SQLite", f"sqlite:///{Path(tmp) / 'bench.db'}", "heron_")
    prefix = f"b{secrets.token_hex(4)}_"
    try:
        measure("PostgreSQL", POSTGRES, prefix)
    finally:
        engine = create_engine(POSTGRES)
        with engine.begin() as conn:
            names = conn.execute(text("SELECT tablename FROM pg_tables WHERE tablename LIKE "
                                      ":p"), {"p": prefix + "%"}).scalars().all()
            for table_name in names:
                conn.execute(text(f'DROP TABLE IF EXISTS "{table_name}" CASCADE'))
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
