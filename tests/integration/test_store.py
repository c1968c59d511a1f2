"""The store on SQLite and PostgreSQL: migrations, exactly-once ingest, upserts, export."""

from __future__ import annotations

import time

from sqlalchemy import inspect, select

from heron import events as ev
from heron.store import Store, open_store
from heron.store.migrate import head_revision
from heron.store.queries.apps import app_summaries, events_per_bucket, recent_events
from heron.store.queries.export import export_page
from heron.store.writer import IngestResult


def test_migrations_create_every_table_under_the_prefix(store: Store) -> None:
    names = set(inspect(store.engine).get_table_names())
    expected = {t.name for t in store.metadata.sorted_tables}
    assert expected <= names
    assert all(name.startswith(store.prefix) for name in expected)
    assert f"{store.prefix}alembic_version" in names
    assert store.revision() == head_revision()


def test_migrated_schema_matches_the_models(store: Store) -> None:
    from heron.store.schema import DIALECT_COLUMNS

    inspector = inspect(store.engine)
    extra = DIALECT_COLUMNS.get(store.dialect, {})
    for table in store.metadata.sorted_tables:
        columns = {c["name"] for c in inspector.get_columns(table.name)}
        name = table.name[len(store.prefix):]
        assert columns == set(table.c.keys()) | extra.get(name, set()), table.name


def test_upgrade_again_is_harmless(store: Store, db_url) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    again = open_store(url, prefix)
    assert again.revision() == head_revision()
    again.dispose()


def test_head_is_the_newest_migration_script() -> None:
    from heron.store.migrate import HEAD, script_head

    assert script_head() == HEAD


def test_opening_an_up_to_date_store_leaves_alembic_unloaded(store: Store, db_url) -> None:  # type: ignore[no-untyped-def]
    # The store fixture migrated it; a new process only reads its revision. Alembic,
    # Mako and Pygments would otherwise live in every bound app's heap.
    import subprocess
    import sys

    url, prefix = db_url
    probe = ("import sys; from heron.store import open_store; "
             f"s = open_store({url!r}, {prefix!r}); "
             "print(s.revision(), 'alembic' in sys.modules, 'mako' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True)
    assert done.stdout.split() == [head_revision(), "False", "False"]


def test_sqlite_runs_in_wal_mode(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = open_store(f"sqlite:///{tmp_path / 'wal.db'}")
    with s.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    s.dispose()


def test_batches_of_any_size_are_stored_once_with_every_field(store: Store) -> None:
    # Rows go in as multi-row statements in chunks (powers of two on SQLite): every size
    # around a chunk boundary must store each event once, field for field, and a batch
    # half seen before must store only its new half.
    seen: list[ev.Request] = []
    for size in (1, 3, 127, 128, 129, 255, 2_001):
        batch = [ev.Request(app="svc", endpoint=f"e{size}", duration_ms=i + 0.25,
                            status=200 + i % 3, ip=f"10.0.0.{i % 250}", ts=1_700_000_000 + i)
                 for i in range(size)]
        assert store.ingest(batch) == IngestResult(stored=size, duplicates=0)
        seen += batch
    mixed = seen[-100:] + [ev.Request(app="svc", endpoint="late", duration_ms=1.0)
                           for _ in range(60)]
    assert store.ingest(mixed) == IngestResult(stored=60, duplicates=100)
    table = store.table("request")
    with store.read() as conn:
        rows = {r.id: r for r in conn.execute(select(table))}
    assert len(rows) == len(seen) + 60
    for event in seen:
        row = rows[event.id]
        assert (row.endpoint, row.duration_ms, row.status, row.ip, row.ts) == \
            (event.endpoint, event.duration_ms, event.status, event.ip, event.ts)


def test_ten_thousand_events_twice_are_stored_once(store: Store) -> None:
    batch = [ev.Request(app="svc", endpoint=f"e{i % 7}", duration_ms=i / 10)
             for i in range(10_000)]
    first = store.ingest(batch)
    second = store.ingest(batch)
    assert (first.stored, first.duplicates) == (10_000, 0)
    assert (second.stored, second.duplicates) == (0, 10_000)
    table = store.table("request")
    with store.read() as conn:
        assert conn.execute(select(table.c.id)).all().__len__() == 10_000
    (summary,) = app_summaries(store)
    assert summary.kinds == {"request": 10_000}


def test_duplicates_within_one_batch(store: Store) -> None:
    event = ev.Log(message="once")
    result = store.ingest([event, event, event])
    assert (result.stored, result.duplicates) == (1, 2)


def test_entity_upserts_change_only_given_fields(store: Store) -> None:
    t0 = time.time()
    store.ingest([ev.Participant(app="exp", participant_id="p1", worker_id="W1", ts=t0)])
    store.ingest([ev.Participant(app="exp", participant_id="p1", status="approved",
                                 ts=t0 + 1)])
    store.ingest([ev.Participant(app="other", participant_id="p1", status=104, ts=t0)])
    rows = {(r["app"], r["participant_id"]): r for r in export_page(store, "participant").items}
    assert rows[("exp", "p1")]["worker_id"] == "W1"
    assert rows[("exp", "p1")]["status"] == "approved"
    assert rows[("exp", "p1")]["ts"] == t0  # first seen is kept
    assert rows[("other", "p1")]["status"] == "104"  # ids are unique per app only


def test_an_older_update_does_not_undo_a_newer_one(store: Store) -> None:
    t0 = time.time()
    store.ingest([ev.Participant(app="exp", participant_id="p1", status="approved",
                                 ts=t0 + 10)])
    # a batch that waited in a client's spool arrives late
    store.ingest([ev.Participant(app="exp", participant_id="p1", status="working", ts=t0)])
    (row,) = export_page(store, "participant").items
    assert row["status"] == "approved"


def test_run_end_before_run_start_still_makes_one_run(store: Store) -> None:
    t0 = time.time()
    store.ingest([ev.RunEnd(run_id="r1", outcome="error", error_type="KeyError", ts=t0 + 2)])
    store.ingest([ev.RunStart(run_id="r1", run_class="ranker", ts=t0,
                              dimensions={"source": "web"})])
    (run,) = export_page(store, "run").items
    assert (run["run_class"], run["outcome"], run["error_type"]) == ("ranker", "error",
                                                                      "KeyError")
    assert (run["ts"], run["end_ts"], run["dimensions"]) == (t0, t0 + 2, {"source": "web"})


def test_export_pages_are_stable_and_complete(store: Store) -> None:
    base = 1_700_000_000.0
    store.ingest([ev.Log(app="a" if i % 2 else "b", message=f"m{i}", ts=base + i)
                  for i in range(2_500)])
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = export_page(store, "log", limit=1_000, cursor=cursor)
        seen.extend(item["message"] for item in page.items)
        pages += 1
        if page.next_cursor is None:
            break
        cursor = page.next_cursor
    assert pages == 3
    assert sorted(seen) == sorted(f"m{i}" for i in range(2_500))
    assert len(seen) == len(set(seen))
    only_a = export_page(store, "log", app="a", since=base + 100, until=base + 200,
                         limit=10_000).items
    assert len(only_a) == 50 and all(item["app"] == "a" for item in only_a)


def test_home_queries(store: Store) -> None:
    now = time.time()
    store.ingest([ev.Log(app="lab", message="x", ts=now - 30),
                  ev.Request(app="lab", endpoint="e", duration_ms=1, ts=now - 90),
                  ev.Log(app="svc", message="y", ts=now)])
    apps = {s.app: s for s in app_summaries(store)}
    assert apps["lab"].kinds == {"log": 1, "request": 1} and apps["lab"].total == 2
    assert [e["app"] for e in recent_events(store, "svc")] == ["svc"]
    chart = events_per_bucket(store, 900, now=now)
    assert sum(sum(v) for v in chart["series"].values()) == 3
    assert set(chart["series"]) == {"log", "request"}


def test_upgrade_from_the_first_revision_keeps_data(db_url) -> None:  # type: ignore[no-untyped-def]
    from heron.store import Store
    from heron.store.engine import make_engine
    from heron.store.migrate import head_revision, upgrade

    url, prefix = db_url
    old = Store(make_engine(url), prefix)
    upgrade(old.engine, prefix, "0001")
    with old.write() as conn:  # a participant stored by the first release
        conn.exec_driver_sql(
            f"INSERT INTO {prefix}participant (app, participant_id, ts, updated_ts, "
            "last_event_id, status, failed, details) VALUES ('a', 'p1', 1, 1, 'e1', "
            "'working', false, '{}')")
    old.dispose()
    new = open_store(url, prefix)
    assert new.revision() == head_revision()
    (row,) = export_page(new, "participant").items
    assert row["participant_id"] == "p1" and row["failed_reason"] is None
    new.dispose()


def test_upgrade_to_0004_indexes_old_logs_and_rolls_up_old_requests(db_url) -> None:  # type: ignore[no-untyped-def]
    from heron.logs.query import parse
    from heron.store import Store
    from heron.store.engine import make_engine
    from heron.store.migrate import upgrade
    from heron.store.queries.logs import search

    url, prefix = db_url
    old = Store(make_engine(url), prefix)
    upgrade(old.engine, prefix, "0003")
    with old.write() as conn:  # a log line and a request stored before log search existed
        conn.exec_driver_sql(
            f"INSERT INTO {prefix}log (id, app, ts, level, logger, message, extra) VALUES "
            "('l1', 'a', 1, 40, 'x', 'legacy quasar line', '{}')")
        conn.exec_driver_sql(
            f"INSERT INTO {prefix}request (id, app, ts, endpoint, method, status, duration_ms, "
            "version, group_by, ip, sql_count, sql_ms) VALUES ('r1', 'a', 7200.5, 'e', 'GET', "
            "500, 12.5, '1.0', 'u1', '10.0.0.1', 0, 0)")
    old.dispose()
    new = open_store(url, prefix)
    assert [r["message"] for r in search(new, parse("quasar"))] == ["legacy quasar line"]
    with new.read() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT dim, key, bucket, count, sum_ms FROM {prefix}rollup_group ORDER BY dim"
        ).all()
    assert [tuple(r) for r in rows] == [("ip", "10.0.0.1", 7200, 1, 12.5),
                                        ("status", "500", 7200, 1, 12.5),
                                        ("user", "u1", 7200, 1, 12.5)]
    new.dispose()
