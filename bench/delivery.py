"""1,000,000 events from a client to a local ``heron serve``: events/s into SQLite and
PostgreSQL, end to end (export() in the client → HttpSink → ingest API → store).

The rate is measured from the first export until the server has stored the last event
(read from the store's counters), so it is what a client sustains, not a burst into a
buffer. Goal (issue 3): at least 50,000 events/s.

Beside PostgreSQL's rate: a bare ``COPY`` of the same rows, measured in the same run, as
the engine's own floor. Each event is an ``export`` row and its ledger row, copied with
psycopg into fresh tables shaped like heron's (``LIKE … INCLUDING ALL``: their indexes
too). Issue 23's goal: heron's delivery at least 60% of it.

PostgreSQL is measured with one server, and with two servers on the same store behind
Debian's HAProxy (round robin; as in ``tests/integration/test_fleet.py``), when
``haproxy`` is installed. Client, servers, balancer and database share this machine's
cores, so the second server shows what a fleet costs here, not what it adds on machines
of its own.

PostgreSQL: ``HERON_BENCH_POSTGRES_URL`` or the local test server.
"""

from __future__ import annotations

import os
import secrets
import tempfile
import time
from pathlib import Path

from heron_server import heron_serve
from sqlalchemy import create_engine, text

import heron
from heron.store import open_store
from heron.store.queries.apps import app_summaries

EVENTS = int(os.environ.get("HERON_BENCH_EVENTS", "1000000"))
TOKEN = "bench-token"
POSTGRES = os.environ.get("HERON_BENCH_POSTGRES_URL",
                          "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def stored(store, app: str) -> int:  # type: ignore[no-untyped-def]
    summaries = app_summaries(store, app)
    return summaries[0].kinds.get("export", 0) if summaries else 0


def run_one(label: str, database: str, prefix: str, tmp: Path) -> tuple[float, dict]:
    with heron_serve(database, prefix, TOKEN) as port:
        return _deliver(label, f"http://127.0.0.1:{port}", database, prefix, tmp)


def run_two(label: str, database: str, prefix: str, tmp: Path) -> tuple[float, dict] | None:
    """Two servers on one store behind HAProxy; None without HAProxy."""
    import shutil
    import subprocess

    from heron_server import free_port

    haproxy = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin")
    if haproxy is None:
        return None
    with heron_serve(database, prefix, TOKEN) as first, \
            heron_serve(database, prefix, TOKEN) as second:
        port = free_port()
        config = tmp / "haproxy.cfg"
        config.write_text(f"""
defaults
    mode http
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend bench
    bind 127.0.0.1:{port}
    default_backend heron
backend heron
    balance roundrobin
    server a 127.0.0.1:{first}
    server b 127.0.0.1:{second}
""", encoding="utf-8")
        balancer = subprocess.Popen([haproxy, "-db", "-f", str(config)],
                                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            time.sleep(0.5)
            return _deliver(label, f"http://127.0.0.1:{port}", database, prefix, tmp)
        finally:
            balancer.terminate()
            balancer.wait(10)


def _deliver(label: str, base: str, database: str, prefix: str, tmp: Path
             ) -> tuple[float, dict]:
    store = open_store(database, prefix)
    app = f"bench-{label}"
    try:
        heron.init(base, token=TOKEN, app=app, spool_dir=str(tmp / f"spool-{label}"))
        start = time.perf_counter()
        with heron.run("delivery"):
            for i in range(EVENTS):
                heron.export({"i": i, "source": "bench"})
        exported = time.perf_counter() - start
        while stored(store, app) < EVENTS:
            time.sleep(0.05)
            if time.perf_counter() - start > 600:
                raise SystemExit(f"{label}: only {stored(store, app)} of {EVENTS} stored")
        elapsed = time.perf_counter() - start
        stats = heron.stats()
        heron.shutdown()
        stats["export_s"] = round(exported, 2)
        return EVENTS / elapsed, stats
    finally:
        store.dispose()


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    rows = []
    rate, stats = run_one("sqlite", f"sqlite:///{tmp / 'bench.db'}", "heron_", tmp)
    rows.append(("SQLite", rate, stats))
    prefix = f"bench{secrets.token_hex(3)}_"
    try:
        rate, stats = run_one("postgresql", POSTGRES, prefix, tmp)
        rows.append(("PostgreSQL", rate, stats))
        two = run_two("postgresql-2", POSTGRES, prefix, tmp)
        if two is not None:
            rows.append(("PostgreSQL, 2 servers", *two))
        baseline = copy_baseline(prefix)
    finally:
        engine = create_engine(POSTGRES)
        with engine.begin() as conn:
            names = conn.execute(text("SELECT tablename FROM pg_tables WHERE tablename LIKE "
                                      ":p"), {"p": prefix + "%"}).scalars().all()
            for name in names:
                conn.execute(text(f'DROP TABLE "{name}" CASCADE'))
        engine.dispose()
    print(f"{EVENTS:,} events, one client process, one server worker, on this machine")
    print(f"{'store':22} {'events/s':>10} {'of COPY':>8} {'export loop s':>14} "
          f"{'spooled':>10} {'dropped':>8}")
    for label, rate, stats in rows:
        share = f"{rate / baseline:8.0%}" if label.startswith("PostgreSQL") else f"{'':8}"
        print(f"{label:22} {rate:10,.0f} {share} {stats['export_s']:14} "
              f"{stats['spooled']:10,} {stats['dropped']:8,}")
    print(f"bare COPY of the same rows into PostgreSQL (export and ledger tables with their "
          f"indexes): {baseline:,.0f} events/s (issue 23's goal: heron's delivery at least "
          "60% of it)")


def copy_baseline(prefix: str) -> float:
    """Events/s of a bare COPY of EVENTS export rows and their ledger rows into tables
    shaped like heron's, with their indexes."""
    import json
    import uuid

    import psycopg

    url = POSTGRES.replace("postgresql+psycopg://", "postgresql://")
    now = time.time()
    exports = [(uuid.uuid4().hex, "bench-copy", now + i * 1e-6, "run-copy",
                json.dumps({"i": i}), json.dumps({"source": "bench"})) for i in range(EVENTS)]
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        for name in ("export", "event"):
            cur.execute(f'CREATE TEMP TABLE copy_{name} (LIKE "{prefix}{name}" INCLUDING ALL)')
        started = time.perf_counter()
        with cur.copy("COPY copy_export (id, app, ts, run_id, metrics, dimensions) "
                      "FROM STDIN") as copy:
            for row in exports:
                copy.write_row(row)
        with cur.copy("COPY copy_event (id, kind, app, ts, received_at) FROM STDIN") as copy:
            for row in exports:
                copy.write_row((row[0], "export", row[1], row[2], now))
        conn.commit()
        return EVENTS / (time.perf_counter() - started)


if __name__ == "__main__":
    main()
