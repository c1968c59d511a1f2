"""Log search with 5,000,000 lines on SQLite and PostgreSQL: p50 and p95 of the Logs tab's
newest-first page (100 lines) for a common word, a rare word, a phrase, an exclusion and a
level + time filter, through heron's own search (``heron.store.queries.logs.search``).

Baseline, measured in the same run on SQLite: the bare FTS5 query a hand-written tool
would run (``SELECT rowid FROM log_fts WHERE log_fts MATCH 'word' ORDER BY rowid DESC
LIMIT 100``), so heron's figures read as a ratio to the index's own cost.

Lines are loaded in bulk (the bench measures search, not ingest; ``bench/delivery.py``
measures ingest). ``HERON_BENCH_LOG_LINES`` (default 5,000,000), ``HERON_BENCH_DBS``
(``sqlite,postgresql``), PostgreSQL at ``HERON_BENCH_POSTGRES_URL`` or the local server.
"""

from __future__ import annotations

import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from sqlalchemy import create_engine, text

from heron.logs.query import parse
from heron.store import Store, open_store
from heron.store.queries.logs import LogFilter, search

LINES = int(os.environ.get("HERON_BENCH_LOG_LINES", "5000000"))
DBS = os.environ.get("HERON_BENCH_DBS", "sqlite,postgresql").split(",")
POSTGRES = os.environ.get("HERON_BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
REPEAT = 40
SPAN_S = 30 * 86400  # lines spread over 30 days

WORDS = ("served request for user in ms cache hit miss ranked candidates session trial "
         "stimulus frame camera stage module started finished queue worker job").split()
QUERIES = {
    "common word": ("request", None),
    "rare word": ("quasar", None),               # 1 line in 100,000
    "phrase": ('"connection reset"', None),       # 1 line in 100
    "exclusion": ("request -miss", None),
    "level + time": ("level:error", 3600),       # errors of the last hour
}


def lines(now: float) -> Iterator[tuple]:
    rng = random.Random(7)
    for i in range(LINES):
        words = rng.choices(WORDS, k=8)
        if i % 100 == 0:
            words[2:4] = ["connection", "reset"]
        if i % 100_000 == 0:
            words[5] = "quasar"
        level = 40 if i % 50 == 0 else 30 if i % 10 == 0 else 20
        yield (f"b{i:030d}", "bench", now - SPAN_S + SPAN_S * i / LINES, level,
               f"bench.{words[0]}", " ".join(words))


def load(store: Store, now: float) -> float:
    started = time.perf_counter()
    table = f"{store.prefix}log"
    columns = "id, app, ts, level, logger, message, extra"
    if store.dialect == "sqlite":
        raw = store.engine.raw_connection()
        try:
            cur = raw.cursor()
            batch: list[tuple] = []
            for row in lines(now):
                batch.append((*row, "{}"))
                if len(batch) == 50_000:
                    cur.executemany(f"INSERT INTO {table} ({columns}) VALUES "
                                    "(?, ?, ?, ?, ?, ?, ?)", batch)
                    batch = []
            if batch:
                cur.executemany(f"INSERT INTO {table} ({columns}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                                batch)
            raw.commit()
            cur.execute(f"INSERT INTO {store.prefix}log_fts({store.prefix}log_fts) "
                        "VALUES ('optimize')")
            raw.commit()
        finally:
            raw.close()
    else:
        raw = store.engine.raw_connection()
        try:
            cur = raw.cursor()
            cur.execute(f"DROP INDEX {store.prefix}log_search")  # built once, after the copy
            with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in lines(now):
                    copy.write_row((*row, "{}"))
            cur.execute(f"CREATE INDEX {store.prefix}log_search ON {table} USING gin (search)")
            raw.commit()
            cur.execute(f"ANALYZE {table}")
            raw.commit()
        finally:
            raw.close()
    return time.perf_counter() - started


def timed(call: Callable[[], object]) -> tuple[float, float]:
    call()
    samples = []
    for _ in range(REPEAT):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def measure(name: str, url: str, prefix: str) -> None:
    store = open_store(url, prefix)
    try:
        now = time.time()
        seconds = load(store, now)
        print(f"\n{name}: {LINES:,} log lines loaded in {seconds:.0f} s")
        if store.dialect == "sqlite":
            with store.engine.connect() as conn:
                sql = text(f"SELECT rowid FROM {prefix}log_fts WHERE {prefix}log_fts MATCH "
                           "'request' ORDER BY rowid DESC LIMIT 100")
                p50, p95 = timed(lambda: conn.execute(sql).all())
            print(f"  {'baseline: bare FTS5 page':<28} p50 {p50:8.2f} ms   p95 {p95:8.2f} ms")
        print(f"  {'search (100 newest)':<28} {'p50':>12} {'p95':>15}   lines")
        for label, (q, window) in QUERIES.items():
            query = parse(q)
            where = LogFilter(since=now - window) if window else LogFilter()
            found = len(search(store, query, where))
            p50, p95 = timed(lambda query=query, where=where: search(store, query, where))
            print(f"  {label + ' ' + repr(q):<28} {p50:9.2f} ms {p95:12.2f} ms   {found}")
    finally:
        store.dispose()


def main() -> None:
    print(f"Log search, {LINES:,} lines, {REPEAT} runs each (p50 / p95), heron "
          f"{sys.version.split()[0]}")
    if "sqlite" in DBS:
        with tempfile.TemporaryDirectory() as folder:
            measure("SQLite", f"sqlite:///{Path(folder) / 'logs.db'}", "heron_")
    if "postgresql" in DBS:
        prefix = f"b{secrets.token_hex(3)}_"
        try:
            measure("PostgreSQL", POSTGRES, prefix)
        finally:
            engine = create_engine(POSTGRES)
            with engine.begin() as conn:
                names = conn.execute(text(
                    "SELECT tablename FROM pg_tables WHERE tablename LIKE :p"),
                    {"p": prefix.replace("_", r"\_") + "%"}).scalars().all()
                for table in names:
                    conn.execute(text(f'DROP TABLE IF EXISTS "{table}" CASCADE'))
            engine.dispose()


if __name__ == "__main__":
    main()
