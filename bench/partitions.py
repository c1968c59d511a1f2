"""Retention and ingest on PostgreSQL, plain tables (migration 0009) against time-partitioned
ones (0010), measured in one run (issue 23).

Each store gets ``HERON_BENCH_ROWS`` request rows (default 10,000,000) spread evenly over
ten days, written by PostgreSQL itself (``generate_series``), then:

* **retention of the oldest day:** ``prune()`` to the end of that day. Plain tables delete
  its rows in chunks, copying their ids into the ledger; partitioned ones drop the day's
  partition;
* **ingest:** ``Store.ingest`` of 200,000 new requests in batches of 5,000 (request rows,
  as a bound app's writer hands them over), events/s.

PostgreSQL: ``HERON_BENCH_POSTGRES_URL`` or the local test server.
"""

from __future__ import annotations

import os
import secrets
import time

from sqlalchemy import create_engine, text

from heron import events as ev
from heron.store import Store, open_store
from heron.store.engine import make_engine
from heron.store.migrate import upgrade
from heron.store.partitions import ensure
from heron.store.retention import prune

ROWS = int(os.environ.get("HERON_BENCH_ROWS", "10000000"))
POSTGRES = os.environ.get("HERON_BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
DAY = 86_400
DAYS = 10
NEW = 200_000


def store_at(revision: str, prefix: str) -> Store:
    if revision == "0009":
        store = Store(make_engine(POSTGRES), prefix)
        upgrade(store.engine, prefix, "0009")
        return store
    return open_store(POSTGRES, prefix)


def fill(store: Store, start: float) -> float:
    """ROWS requests over DAYS days from ``start``, by PostgreSQL; seconds it took."""
    began = time.perf_counter()
    table = store.table("request").name
    with store.write() as conn:
        conn.exec_driver_sql(
            f"INSERT INTO {table} (id, app, ts, endpoint, method, status, duration_ms, "
            "sql_count, sql_ms) SELECT md5(g::text) || 'b', 'bench', "
            f"%s + g * {DAYS * DAY / ROWS!r}, 'e' || (g %% 20), 'GET', 200, 5.0, 0, 0 "
            "FROM generate_series(0, %s) AS g", (start, ROWS - 1))
        conn.exec_driver_sql(
            f"INSERT INTO {store.table('endpoint').name} (app, endpoint, monitor_level, "
            "first_ts, last_ts) SELECT 'bench', 'e' || g, 1, %s, %s FROM generate_series(0, 19) g "
            "ON CONFLICT DO NOTHING", (start, start + DAYS * DAY))
    with store.write() as conn:
        conn.exec_driver_sql(f"ANALYZE {table}")
    return time.perf_counter() - began


def ingest_rate(store: Store) -> float:
    now = time.time()
    batches = [[ev.Request(app="bench", endpoint=f"e{i % 20}", duration_ms=5.0,
                           ts=now + i * 1e-4) for i in range(b, b + 5_000)]
               for b in range(0, NEW, 5_000)]
    for batch in batches:
        ev.ensure_ids(batch)
    began = time.perf_counter()
    for batch in batches:
        store.ingest(batch)
    return NEW / (time.perf_counter() - began)


def main() -> None:
    start = (time.time() - (DAYS + 1) * DAY) // DAY * DAY  # ten whole days, ended yesterday
    results = []
    prefixes = []
    try:
        for label, revision in (("plain tables (0009)", "0009"),
                                ("partitioned (0010)", "0010")):
            prefix = f"bpart{secrets.token_hex(3)}_"
            prefixes.append(prefix)
            store = store_at(revision, prefix)
            if revision == "0010":  # the ten days' partitions, as a running server made them
                for day in range(DAYS + 1):
                    ensure(store, now=start + day * DAY, ahead=0)
            filled = fill(store, start)
            began = time.perf_counter()
            removed = prune(store, start + DAY, kinds=("request",))["request"]
            pruned = time.perf_counter() - began
            rate = ingest_rate(store)
            results.append((label, filled, removed, pruned, rate))
            print(f"{label}: filled {ROWS:,} rows in {filled:.1f} s; retention of one day: "
                  f"{removed:,} rows in {pruned:.2f} s; ingest {rate:,.0f} requests/s",
                  flush=True)
            store.dispose()
    finally:
        engine = create_engine(POSTGRES)
        with engine.begin() as conn:
            for prefix in prefixes:
                names = conn.execute(text(
                    "SELECT tablename FROM pg_tables WHERE tablename LIKE :p AND tablename "
                    "NOT LIKE '%\\_p2%'"), {"p": prefix + "%"}).scalars().all()
                for name in names:
                    conn.execute(text(f'DROP TABLE IF EXISTS "{name}" CASCADE'))
        engine.dispose()
    print()
    print(f"{ROWS:,} requests over {DAYS} days; retention of the oldest day; ingest of "
          f"{NEW:,} requests in batches of 5,000")
    print(f"{'store':22} {'retention s':>12} {'rows':>10} {'ingest/s':>10}")
    for label, _, removed, pruned, rate in results:
        print(f"{label:22} {pruned:12.2f} {removed:10,} {rate:10,.0f}")
    if len(results) == 2:
        print(f"retention {results[0][3] / max(results[1][3], 1e-9):,.0f}× faster with "
              f"partitions; ingest {results[1][4] / results[0][4]:.2f}× of plain tables")


if __name__ == "__main__":
    main()
