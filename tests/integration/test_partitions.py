"""Time partitions of the raw tables on PostgreSQL (issue 23): migration 0010 both ways
with data, partitions made ahead, rows moved out of the default partition, retention by
dropping partitions, exactly once across them; SQLite keeps plain tables."""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from heron import events as ev
from heron.cli import cli
from heron.store import Store, open_store
from heron.store import partitions as parts
from heron.store.engine import make_engine
from heron.store.migrate import downgrade, upgrade
from heron.store.requests import request_key
from heron.store.retention import prune
from tests.conftest import POSTGRES_URL, _drop_prefixed, _require_postgres

DAY = 86_400
NOW = time.time()
TODAY = NOW // DAY * DAY


@pytest.fixture
def prefix() -> Iterator[str]:
    _require_postgres()
    name = f"part{secrets.token_hex(3)}_"
    yield name
    _drop_prefixed(POSTGRES_URL, name)


def fill(store: Store, days: list[float]) -> None:
    """A request, a log line and an export at each of ``days`` (days before now)."""
    store.ingest(
        [ev.Request(app="a", endpoint="e", method="GET", status=200, duration_ms=5.0,
                    ts=NOW - d * DAY) for d in days]
        + [ev.Log(app="a", level=40, logger="x", message=f"line {d}", ts=NOW - d * DAY)
           for d in days]
        + [ev.Export(app="a", metrics={"d": float(d)}, ts=NOW - d * DAY) for d in days])


def counts(store: Store) -> dict[str, int]:
    with store.read() as conn:
        return {kind: int(conn.exec_driver_sql(
            f'SELECT count(*) FROM "{store.table(kind).name}"').scalar() or 0)
            for kind in ("request", "log", "export", "event")}


def names(store: Store, kind: str) -> list[str]:
    with store.read() as conn:
        return [p.name for p in parts.partitions(conn, store.table(kind).name)]


def day_name(store: Store, kind: str, ts: float) -> str:
    return f"{store.table(kind).name}_p{datetime.fromtimestamp(ts, UTC):%Y%m%d}"


def test_migration_0010_both_ways_with_data(prefix: str) -> None:
    old = Store(make_engine(POSTGRES_URL), prefix)
    upgrade(old.engine, prefix, "0009")
    fill(old, [0, 1, 2, 40, 400])  # this week, a month ago, a year ago
    before = counts(old)
    assert not old.partitioned and request_key(old) == ("id",)
    old.dispose()

    store = open_store(POSTGRES_URL, prefix)  # upgrades: converted in place
    assert store.revision() == "0010" and store.partitioned
    assert request_key(store) == ("id", "ts")
    assert "event_p" not in " ".join(names(store, "export"))
    assert counts(store) == before
    request_parts = names(store, "request")
    assert request_parts[-1].endswith("_pdefault")
    for ahead in range(4):  # today and the next three days, one each
        assert day_name(store, "request", TODAY + ahead * DAY) in request_parts
    # the past: one partition per month with rows, not one per day
    year_ago = datetime.fromtimestamp(NOW - 400 * DAY, UTC).replace(day=1)
    assert day_name(store, "request", year_ago.timestamp()) in request_parts
    assert len(request_parts) <= 4 + 3 + 2 + 1
    # everything still works on the partitioned tables
    with store.read() as conn:
        found = conn.exec_driver_sql(
            f"SELECT count(*) FROM {prefix}log WHERE search @@ to_tsquery('simple', '400')"
        ).scalar()
        in_default = conn.exec_driver_sql(f"SELECT count(*) FROM {prefix}request_pdefault"
                                          ).scalar()
    assert found == 1 and in_default == 0
    again = [ev.Request(id="r-fixed", app="a", endpoint="e", duration_ms=1.0, ts=NOW - DAY)]
    assert store.ingest(again).stored == 1
    assert store.ingest(again).duplicates == 1  # exactly once: (id, ts)
    log = [ev.Log(id="l-fixed", app="a", level=20, logger="x", message="m", ts=NOW - 40 * DAY)]
    assert store.ingest(log).stored == 1 and store.ingest(log).duplicates == 1
    after = counts(store)
    store.dispose()

    # and back: plain tables, rows, keys and indexes as before 0010
    bare = Store(make_engine(POSTGRES_URL), prefix)
    assert downgrade(bare.engine, prefix, "0009") == "0009"
    bare._partitioned = None
    assert not bare.partitioned and counts(bare) == after
    with bare.read() as conn:
        indexes = conn.exec_driver_sql(
            "SELECT indexdef FROM pg_indexes WHERE tablename = %s", (f"{prefix}request",)
        ).scalars().all()
        key = conn.exec_driver_sql(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE contype = 'p' "
            "AND conrelid = to_regclass(%s)", (f"{prefix}event",)).scalar()
    assert any("UNIQUE INDEX" in i and i.endswith("(id)") for i in indexes)
    assert key == "PRIMARY KEY (id)"  # the ledger: never partitioned
    assert bare.ingest(again).duplicates == 1
    bare.dispose()
    reopened = open_store(POSTGRES_URL, prefix)  # a heron starting on it upgrades again
    assert reopened.partitioned and counts(reopened) == after
    reopened.dispose()


def test_rows_beyond_the_partitions_wait_in_the_default_one(prefix: str) -> None:
    store = open_store(POSTGRES_URL, prefix)
    far = TODAY + 10 * DAY + 3600  # a clock ten days ahead
    store.ingest([ev.Request(app="a", endpoint="e", duration_ms=1.0, ts=far),
                  ev.Log(app="a", level=20, logger="x", message="early", ts=far)])
    with store.read() as conn:
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {prefix}request_pdefault"
                                    ).scalar() == 1
    made = parts.ensure(store, now=far, days=2)  # later, the server makes that day's
    assert f"{prefix}request_p{datetime.fromtimestamp(far // (2 * DAY) * 2 * DAY, UTC):%Y%m%d}" \
        in made
    with store.read() as conn:
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {prefix}request_pdefault"
                                    ).scalar() == 0
        assert conn.exec_driver_sql(f"SELECT count(*) FROM {prefix}request WHERE ts = %s",
                                    (far,)).scalar() == 1
    assert parts.ensure(store, now=far, days=2) == []  # nothing twice
    store.dispose()


def test_retention_drops_whole_partitions_and_stores_nothing_twice(prefix: str) -> None:
    store = open_store(POSTGRES_URL, prefix)
    for day in range(1, 6):  # days 1..5 ago, each in a partition of its own
        parts.ensure(store, now=NOW - day * DAY, ahead=0)
    fill(store, [1, 2, 3, 4, 5])
    old_request = ev.Request(id="r-old", app="a", endpoint="e", duration_ms=1.0,
                             ts=NOW - 5 * DAY)
    old_log = ev.Log(id="l-old", app="a", level=20, logger="x", message="old",
                     ts=NOW - 5 * DAY)
    assert store.ingest([old_request, old_log]).stored == 2
    five_days_ago = day_name(store, "request", NOW - 5 * DAY)
    assert five_days_ago in names(store, "request")

    # the scheduled retention's cut-off: moved back to a partition's start
    cutoff = parts.boundary(store, "request", NOW - 3 * DAY)
    assert cutoff == TODAY - 3 * DAY
    removed = prune(store, cutoff)
    assert removed["request"] == 3  # days 4 and 5 (two rows on day 5), no row deleted alone
    assert five_days_ago not in names(store, "request")
    assert prune(store, cutoff, kinds=("log",)) == {"log": 3}
    left = counts(store)
    assert left["request"] == 3 and left["log"] == 3
    # a client replaying them stores neither again
    replay = store.ingest([old_request, old_log])
    assert (replay.stored, replay.duplicates) == (0, 2)
    assert counts(store) == left
    # a prune to any other time deletes the rest row by row, as on SQLite
    assert prune(store, NOW - 1.5 * DAY)["request"] == 2
    store.dispose()


def test_sqlite_keeps_plain_tables(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = open_store(f"sqlite:///{tmp_path}/h.db")
    assert not store.partitioned and request_key(store) == ("id",)
    assert parts.ensure(store) == []
    assert parts.boundary(store, "request", 1234.5) == 1234.5
    fill(store, [0, 10])
    assert prune(store, NOW - 5 * DAY)["request"] == 1
    store.dispose()


def test_cli_downgrade(prefix: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    open_store(POSTGRES_URL, prefix).dispose()
    env = {"HERON_DATABASE": POSTGRES_URL, "HERON_TABLE_PREFIX": prefix}
    runner = CliRunner()
    bad = runner.invoke(cli, ["db", "downgrade", "latest"], env=env)
    assert bad.exit_code != 0 and "is not a revision" in bad.output
    ahead = runner.invoke(cli, ["db", "downgrade", "0011"], env=env)
    assert ahead.exit_code != 0 and "use heron db upgrade" in ahead.output
    done = runner.invoke(cli, ["db", "downgrade", "0009"], env=env)
    assert done.exit_code == 0, done.output
    assert "Store downgraded from 0010 to revision 0009." in done.output
    up = runner.invoke(cli, ["db", "upgrade"], env=env)
    assert up.exit_code == 0 and "0009 to revision 0010" in up.output


def test_a_request_sent_twice_without_its_time_is_stored_once(prefix: str) -> None:
    """The API gives a request without ``ts`` the time it arrived; on partitioned tables
    (unique (id, ts)) a re-sent one is kept once by its id, through the ledger."""
    from heron import config as heron_config
    from heron.server import create_app, prepare

    store = open_store(POSTGRES_URL, prefix)
    config = heron_config.Config.load(environ={}, database=POSTGRES_URL, table_prefix=prefix,
                                      ingest_token="tok-123")
    prepare(store, config)
    client = create_app(config, store=store).test_client()
    batch = [{"kind": "request", "id": "no-time-1", "app": "a", "endpoint": "e",
              "duration_ms": 3.0},
             {"kind": "log", "id": "no-time-2", "app": "a", "message": "m"}]
    headers = {"Authorization": "Bearer tok-123"}
    first = client.post("/api/v1/events", json=batch, headers=headers).get_json()
    time.sleep(0.01)
    again = client.post("/api/v1/events", json=batch, headers=headers).get_json()
    assert (first["stored"], first["duplicates"]) == (2, 0)
    assert (again["stored"], again["duplicates"]) == (0, 2)
    assert counts(store)["request"] == 1 and counts(store)["log"] == 1
    store.dispose()
