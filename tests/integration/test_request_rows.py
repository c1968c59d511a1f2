"""Requests kept once by their own unique id, without ledger rows (issue 16's CPU goal), on
both stores: retries, duplicates, pruned requests replayed, the writer process's rows made
straight from the monitor's tuples, the home page's latest events, the 0006 migration."""

from __future__ import annotations

import time

from sqlalchemy import func, select

from heron import events as ev
from heron.sinks.writer_process import make_events, store_batch
from heron.store import Store, open_store
from heron.store.queries.apps import app_summaries, events_per_bucket, recent_events
from heron.store.retention import prune
from heron.web.monitor import REQUEST


def count(store: Store, table: str, **where: str) -> int:
    t = store.table(table)
    query = select(func.count()).select_from(t)
    for name, value in where.items():
        query = query.where(t.c[name] == value)
    with store.read() as conn:
        return int(conn.execute(query).scalar_one())


def rollup_total(store: Store) -> int:
    t = store.table("rollup_request")
    with store.read() as conn:
        return int(conn.execute(select(func.coalesce(func.sum(t.c.count), 0))).scalar_one())


def monitor_tuple(ts: float, endpoint: str = "index", status: object = "200 OK",
                  request_id: str | None = None) -> tuple:  # type: ignore[type-arg]
    """A finished request as heron's monitor queues it (``Recorder.put``)."""
    return (REQUEST, "shop", "1.0", endpoint, "GET", status, 2_500_000, ts, "127.0.0.1",
            (2, 0.5), request_id, "alice")


def test_a_retried_request_batch_is_stored_once_with_no_ledger_rows(store: Store) -> None:
    now = time.time()
    batch = [ev.Request(app="svc", endpoint=f"e{i % 3}", duration_ms=i, ts=now - i)
             for i in range(500)]
    assert store.ingest(batch).stored == 500
    again = store.ingest(batch)
    assert (again.stored, again.duplicates) == (0, 500)
    assert count(store, "request") == 500
    assert count(store, "event", kind="request") == 0  # the request table keeps them once
    assert rollup_total(store) == 500  # a retry adds nothing to the rollups either
    (summary,) = app_summaries(store)
    assert summary.kinds == {"request": 500}
    chart = events_per_bucket(store, 3600, now=now)
    assert sum(chart["series"]["request"]) == 500


def test_a_batch_overlapping_what_is_stored_counts_only_its_new_requests(store: Store
                                                                         ) -> None:
    """Chunks with some rows stored before, some not, and all new around them: the new
    ones are found exactly (SQLite reads them by rowid, not RETURNING)."""
    now = time.time()
    batch = [ev.Request(app="svc", endpoint=f"e{i % 4}", duration_ms=i % 50 + 1,
                        ts=now - i, id=f"req-{i:05d}") for i in range(700)]
    assert store.ingest(batch[::3]).stored == len(batch[::3])
    result = store.ingest(batch)
    assert (result.stored, result.duplicates) == (700 - len(batch[::3]), len(batch[::3]))
    assert count(store, "request") == 700
    assert rollup_total(store) == 700
    t = store.table("rollup_request")
    with store.read() as conn:
        per_endpoint = dict(conn.execute(select(t.c.endpoint, func.sum(t.c.count))
                                         .group_by(t.c.endpoint)).all())
    assert per_endpoint == {f"e{k}": 175 for k in range(4)}
    assert store.ingest(batch).stored == 0


def test_a_batch_repeating_a_request_and_mixing_kinds(store: Store) -> None:
    request = ev.Request(app="svc", endpoint="e", duration_ms=1)
    log = ev.Log(app="svc", message="hi")
    result = store.ingest([request, log, request, log])
    assert (result.stored, result.duplicates) == (2, 2)
    assert count(store, "request") == 1 and count(store, "log") == 1
    assert count(store, "event") == 1  # the log line's ledger row only


def test_a_pruned_request_replayed_later_is_not_stored_again(store: Store) -> None:
    now = time.time()
    old = [ev.Request(app="svc", endpoint="e", duration_ms=5, ts=now - 40 * 86400 + i)
           for i in range(20)]
    fresh = [ev.Request(app="svc", endpoint="e", duration_ms=5, ts=now - i) for i in range(5)]
    store.ingest(old + fresh)
    assert prune(store, now - 30 * 86400) == {"request": 20, "outlier": 0, "profile": 0,
                                               "exception": 0}
    replay = store.ingest(old + fresh)  # a client's spool sent it all once more
    assert (replay.stored, replay.duplicates) == (0, 25)
    assert count(store, "request") == 5
    assert rollup_total(store) == 25
    late = ev.Request(app="svc", endpoint="e", duration_ms=5, ts=now - 35 * 86400)
    assert store.ingest([late]).stored == 1  # old, but never stored: it is new
    assert store.ingest([late]).stored == 0


def test_writer_process_rows_match_the_events_the_monitor_would_make(store: Store,
                                                                     tmp_path) -> None:  # type: ignore[no-untyped-def]
    now = time.time()
    items = [monitor_tuple(now - 3), monitor_tuple(now - 2, status="404 NOT FOUND"),
             monitor_tuple(now - 1, status=None, request_id="r-linked"),
             ["web.request", "shop"],  # a tuple its maker cannot read: set aside alone
             ev.Log(app="shop", message="beside the requests")]
    made, origins, problems = make_events(items, 1234)
    assert origins == [0, 1, 2, 4]
    assert [index for index, _ in problems] == [3]
    again, _, _ = make_events(items, 1234)  # the same batch makes the same ids
    assert [m[0] if isinstance(m, tuple) else m.id for m in made] == \
           [m[0] if isinstance(m, tuple) else m.id for m in again]
    assert [index for index, _ in store_batch(store, items, 1234)] == [3]
    assert store_batch(store, items, 1234) == problems  # a retry: nothing stored twice
    reference = open_store(f"sqlite:///{tmp_path / 'reference.db'}", "heron_")
    reference.ingest([request_event(item) for item in items[:3]])
    columns = ("app", "ts", "endpoint", "method", "status", "duration_ms", "version",
               "group_by", "ip", "sql_count", "sql_ms")

    def rows(s: Store) -> list[tuple]:  # type: ignore[type-arg]
        t = s.table("request")
        with s.read() as conn:
            return [tuple(r) for r in conn.execute(select(*(t.c[c] for c in columns))
                                                   .order_by(t.c.ts))]

    assert rows(store) == rows(reference)
    assert [r[4] for r in rows(store)] == [200, 404, 500]
    assert count(store, "request", id="r-linked") == 1  # an outlier's link kept its id
    assert count(store, "log") == 1
    reference.dispose()


def request_event(item: tuple) -> ev.Event:  # type: ignore[type-arg]
    from heron.recorder import MAKERS

    return MAKERS[REQUEST](item)


def test_latest_events_list_requests_next_to_other_kinds(store: Store) -> None:
    now = time.time()
    store.ingest([ev.Request(app="svc", endpoint="e", duration_ms=1, ts=now - 5),
                  ev.Log(app="svc", message="m", ts=now - 10),
                  ev.Request(app="lab", endpoint="e", duration_ms=1, ts=now - 1)])
    latest = recent_events(store, limit=10)
    # by receipt: the log line now, the requests when they happened
    assert [(e["kind"], e["app"]) for e in latest] == [("log", "svc"), ("request", "lab"),
                                                       ("request", "svc")]
    assert [e["kind"] for e in recent_events(store, "svc")] == ["log", "request"]
    assert len(recent_events(store, limit=2)) == 2


def test_upgrade_to_0006_keeps_one_row_of_a_repeated_request_id(db_url) -> None:  # type: ignore[no-untyped-def]
    from heron.store import Store as BareStore
    from heron.store.engine import make_engine
    from heron.store.migrate import upgrade

    url, prefix = db_url
    old = BareStore(make_engine(url), prefix)
    upgrade(old.engine, prefix, "0005")
    with old.write() as conn:
        for endpoint in ("first", "second"):
            conn.exec_driver_sql(
                f"INSERT INTO {prefix}request (id, app, ts, endpoint, method, status, "
                "duration_ms, sql_count, sql_ms) VALUES ('same', 'a', 1, "
                f"'{endpoint}', 'GET', 200, 1, 0, 0)")
    old.dispose()
    new = open_store(url, prefix)
    t = new.table("request")
    with new.read() as conn:
        assert conn.execute(select(t.c.endpoint)).scalars().all() == ["first"]
    # the same event again (an event's id and time travel together: on PostgreSQL the
    # unique key is (id, ts) since the raw tables are partitioned by time)
    assert new.ingest([ev.Request(id="same", app="a", endpoint="x", duration_ms=1, ts=1)]
                      ).stored == 0
    new.dispose()


def test_a_request_row_keeps_odd_values_in_range() -> None:
    from heron.web.monitor import _request_row

    def row(**changes: object) -> tuple:  # type: ignore[type-arg]
        item = list(monitor_tuple(1.0))
        names = ["key", "app", "version", "endpoint", "method", "status", "duration_ns",
                 "ts", "ip", "sql", "request_id", "group"]
        for name, value in changes.items():
            item[names.index(name)] = value
        return _request_row(item, 7)

    assert row()[5] == 200 and row()[0]  # "200 OK" read; an id made from the serial
    assert row(status=1000)[5] == 500 and row(status=-1)[5] == 500
    assert row(status="999 ODD")[5] == 999 and row(status="nope")[5] == 500
    assert row(method="X" * 40)[4] == "X" * 16
    assert row(ip=12345)[9] == "12345" and row(ip="1" * 100)[9] == "1" * 64
    assert row(sql=None)[10:] == (0, 0.0) and row(sql=[3, 1.5])[10:] == (3, 1.5)
    assert row(request_id="kept")[0] == "kept"
