"""The Endpoints pages with many requests stored, on SQLite and PostgreSQL: time of each
overview and chart JSON request through the dashboard (logged in, as a browser asks).

Requests go through the normal ingest (so the rollups are maintained as in production),
spread over 7 days, 20 endpoints and 2 versions. Baseline, measured in the same run: the
same pages with 10,000 requests stored. Goal: every page under 200 ms at 10 million.
Size: ``HERON_BENCH_REQUESTS`` (default 10,000,000); databases: ``HERON_BENCH_DBS``
(default ``sqlite,postgresql``).
"""

from __future__ import annotations

import os
import random
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import create_engine, text

from heron import config as heron_config
from heron import events as ev
from heron.server import create_app, prepare
from heron.store import Store, open_store

TOTAL = int(os.environ.get("HERON_BENCH_REQUESTS", "10000000"))
BASELINE = 10_000
POSTGRES = os.environ.get("HERON_BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")
ENDPOINTS = [f"endpoint_{i:02d}" for i in range(20)]
PAGES = {
    "overview page (HTML)": "/dashboard/endpoints?app=shop&window=7d",
    "overview charts (JSON)": "/dashboard/api/web/overview?app=shop&window=7d",
    "endpoint page (HTML)": "/dashboard/endpoints/e/shop/endpoint_00?window=24h",
    "endpoint charts, 24 h (JSON)":
        "/dashboard/api/web/endpoint?app_id=shop&endpoint=endpoint_00&window=24h",
    "reporting, two versions": "/dashboard/endpoints/reporting?app=shop&a=1.0&b=2.0",
}


def fill(store: Store, count: int, app: str) -> float:
    rng = random.Random(1)
    now = time.time()
    started = time.perf_counter()
    batch = 20_000
    for start in range(0, count, batch):
        events: list[ev.Event] = []
        for i in range(start, min(count, start + batch)):
            ts = now - 7 * 86400 * (1 - i / count)
            events.append(ev.Request(app=app, endpoint=ENDPOINTS[i % 20], ts=ts,
                                     version="1.0" if i < count // 2 else "2.0",
                                     duration_ms=rng.lognormvariate(2.5, 0.6),
                                     status=500 if i % 97 == 0 else 200,
                                     group_by=f"user{i % 50}", ip=f"10.0.{i % 7}.{i % 200}"))
        store.ingest(events)
        if start and start % 1_000_000 == 0:
            print(f"  … {start:,} stored", flush=True)
    return time.perf_counter() - started


def analyze(store: Store) -> None:
    """PostgreSQL plans from statistics that autovacuum gathers in the background on a live
    server; after a bulk load they do not exist yet (planned without them, the overview
    took 457 ms instead of under 200), so gather them now, as autovacuum soon would."""
    if store.dialect == "postgresql":
        with store.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))


def time_pages(url: str, prefix: str) -> dict[str, float]:
    cfg = heron_config.Config.load(environ={}, database=url, table_prefix=prefix,
                                   password="bench-password-1", secret_key="x" * 32)
    store = open_store(url, prefix)
    prepare(store, cfg)
    app = create_app(cfg, store=store)
    client = app.test_client()
    page = client.get("/dashboard/login").get_data(as_text=True)
    token = page.split('name="csrf_token" value="')[1].split('"')[0]
    client.post("/dashboard/login", data={"username": "admin", "password": "bench-password-1",
                                          "csrf_token": token})
    out = {}
    for label, path in PAGES.items():
        assert client.get(path).status_code == 200, path  # warm
        samples = []
        for _ in range(3):
            started = time.perf_counter()
            client.get(path)
            samples.append((time.perf_counter() - started) * 1000)
        out[label] = statistics.median(samples)
    store.dispose()
    return out


def measure(name: str, url: str, prefix: str) -> None:
    small_prefix = prefix + "s_"
    store = open_store(url, small_prefix)
    fill(store, BASELINE, "shop")
    analyze(store)
    store.dispose()
    baseline = time_pages(url, small_prefix)
    store = open_store(url, prefix)
    seconds = fill(store, TOTAL, "shop")
    analyze(store)
    store.dispose()
    print(f"\n{name}: {TOTAL:,} requests stored (with rollups) in {seconds:.0f} s "
          f"({TOTAL / seconds:,.0f}/s)")
    big = time_pages(url, prefix)
    print(f"  {'page':34} {f'{BASELINE:,} req':>12} {f'{TOTAL:,} req':>14} {'ratio':>7}")
    for label in PAGES:
        print(f"  {label:34} {baseline[label]:10.1f}ms {big[label]:12.1f}ms "
              f"{big[label] / baseline[label]:7.1f}")


def drop(url: str, prefix: str) -> None:
    engine = create_engine(url)
    with engine.begin() as conn:
        names = conn.execute(text("SELECT tablename FROM pg_tables WHERE tablename LIKE :p"),
                             {"p": prefix + "%"}).scalars().all()
        for table_name in names:
            conn.execute(text(f'DROP TABLE IF EXISTS "{table_name}" CASCADE'))
    engine.dispose()


def main() -> None:
    databases = os.environ.get("HERON_BENCH_DBS", "sqlite,postgresql").split(",")
    if "sqlite" in databases:
        with tempfile.TemporaryDirectory() as tmp:
            measure("SQLite", f"sqlite:///{Path(tmp) / 'scale.db'}", "heron_")
    if "postgresql" not in databases:
        return
    prefix = f"b{secrets.token_hex(4)}_"
    try:
        measure("PostgreSQL", POSTGRES, prefix)
    finally:
        drop(POSTGRES, prefix)


if __name__ == "__main__":
    sys.exit(main())
