"""Web monitoring end to end on a bound Flask app, on SQLite and PostgreSQL: levels,
outliers with redaction, the profiler, SQL timing, exceptions, IPs, rollups."""

from __future__ import annotations

import json
import time

import pytest
from flask import Flask, Response, request
from sqlalchemy import create_engine, text

import heron
from heron import config as heron_config
from heron import events as ev
from heron.store import Store, open_store
from heron.store.queries import web
from heron.store.queries.export import export_page
from heron.web.monitor import Served
from tests.conftest import ADMIN_PASSWORD

SECRETS = ("s3cret-bearer", "cookie-value-42", "tok-9f8e", "hunter2", "apikey-77")


def make_app() -> Flask:
    app = Flask("shop")
    engine = create_engine("sqlite://")

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return "hello"

    @app.post("/slow")
    def slow():  # type: ignore[no-untyped-def]
        if request.args.get("wait"):
            deadline = time.perf_counter() + float(request.args["wait"])
            while time.perf_counter() < deadline:  # busy: the profiler sees this line
                sum(range(200))
        return "done"

    @app.get("/query")
    def query():  # type: ignore[no-untyped-def]
        with engine.connect() as conn:
            for _ in range(3):
                conn.execute(text("SELECT 1"))
        return "ok"

    @app.get("/fail/<int:n>")
    def fail(n: int):  # type: ignore[no-untyped-def]
        return {"x": 1}[f"missing-{n}"]

    @app.get("/stream")
    def stream():  # type: ignore[no-untyped-def]
        def body():  # type: ignore[no-untyped-def]
            yield "a"
            time.sleep(0.05)
            yield "b"
        return Response(body())

    @app.get("/tuple")
    def tuple_view():  # type: ignore[no-untyped-def]
        return "made", 201, {"X-Kind": "tuple"}

    return app


@pytest.fixture
def bound(db_url):  # type: ignore[no-untyped-def]
    url, prefix = db_url
    app = heron.bind(make_app(), database=url, table_prefix=prefix, password=ADMIN_PASSWORD,
                     app_version="2.0", trusted_proxies=["10.0.0.0/8"])
    store = open_store(url, prefix)
    yield app, store
    store.dispose()


def rows(store: Store, kind: str) -> list[dict]:  # type: ignore[type-arg]
    assert heron.flush(10)
    return export_page(store, kind, limit=10_000).items


def monitor_of(app: Flask):  # type: ignore[no-untyped-def]
    return app.extensions["heron"].monitor


def test_levels_decide_what_is_recorded(bound) -> None:  # type: ignore[no-untyped-def]
    app, store = bound
    client = app.test_client()
    client.get("/")
    assert heron.flush(10)
    monitor = monitor_of(app)
    # every route is registered at MONITOR_LEVEL (1) when bound, the app's static too
    levels = web.endpoint_levels(store, "shop")
    assert levels == {"index": 1, "slow": 1, "query": 1, "fail": 1, "stream": 1,
                      "tuple_view": 1, "static": 1}
    assert web.set_level(store, "shop", "index", 0)
    monitor.levels.refresh()
    client.get("/")
    assert [r["endpoint"] for r in rows(store, "request")] == ["index"]  # level 0: nothing
    with pytest.raises(ValueError, match="0, 1, 2 or 3"):
        web.set_level(store, "shop", "index", 7)
    assert not web.set_level(store, "shop", "nope", 2)


def test_status_the_client_received_and_streamed_timing(bound) -> None:  # type: ignore[no-untyped-def]
    app, store = bound
    client = app.test_client()
    assert client.get("/tuple").status_code == 201
    streamed = client.get("/stream")
    assert streamed.get_data(as_text=True) == "ab"
    streamed.close()
    client.get("/fail/1")
    client.get("/no-such-page")
    by_endpoint = {r["endpoint"]: r for r in rows(store, "request")}
    assert by_endpoint["tuple_view"]["status"] == 201
    assert by_endpoint["fail"]["status"] == 500
    assert by_endpoint["stream"]["status"] == 200
    assert by_endpoint["stream"]["duration_ms"] >= 50  # timed to the end of the body
    assert by_endpoint["<unmatched>"]["status"] == 404  # one endpoint for every stray URL
    assert set(by_endpoint) == {"tuple_view", "stream", "fail", "<unmatched>"}


def test_ip_is_the_forwarded_one_only_behind_a_trusted_proxy(bound) -> None:  # type: ignore[no-untyped-def]
    app, store = bound
    client = app.test_client()
    client.get("/", headers={"X-Forwarded-For": "203.0.113.9, 10.0.0.2"},
               environ_base={"REMOTE_ADDR": "10.0.0.2"})
    client.get("/", headers={"X-Forwarded-For": "203.0.113.66"},
               environ_base={"REMOTE_ADDR": "192.0.2.1"})  # not a proxy: spoofed header
    assert sorted(r["ip"] for r in rows(store, "request")) == ["192.0.2.1", "203.0.113.9"]


def test_group_by_is_recorded(bound) -> None:  # type: ignore[no-untyped-def]
    app, store = bound
    heron_config.group_by = lambda: ("User", lambda: 3)
    app.test_client().get("/")
    assert rows(store, "request")[0]["group_by"] == "(User,3)"


def test_sql_time_per_request(bound) -> None:  # type: ignore[no-untyped-def]
    app, store = bound
    app.test_client().get("/query")
    row = rows(store, "request")[0]
    assert row["sql_count"] == 3 and row["sql_ms"] > 0


def test_exceptions_are_grouped(bound) -> None:  # type: ignore[no-untyped-def]
    app, store = bound
    client = app.test_client()
    for n in (1, 2, 3):
        client.get(f"/fail/{n}")
    assert heron.flush(10)
    groups = web.exception_groups(store, "shop", 0, time.time() + 60)
    assert len(groups) == 1
    group = groups[0]
    assert (group["type"], group["endpoint"], group["count"]) == ("KeyError", "fail", 3)
    assert "missing-3" in group["message"] and "def fail" not in group["stack"]
    assert "in fail" in group["stack"]


def test_outliers_are_caught_in_the_act_with_secrets_redacted(bound) -> None:  # type: ignore[no-untyped-def]
    app, store = bound
    client = app.test_client()
    client.post("/slow")
    assert heron.flush(10)
    web.set_level(store, "shop", "slow", 2)
    monitor_of(app).levels.refresh()
    for _ in range(25):
        client.post("/slow")
    client.post("/slow?wait=0.3&token=tok-9f8e&q=books",
                headers={"Authorization": "Bearer s3cret-bearer",
                         "Cookie": "session=cookie-value-42", "X-Api-Key": "apikey-77"},
                json={"user": "ana", "password": "hunter2"})
    found = [o for o in rows(store, "outlier") if o["duration_ms"] >= 300]
    assert len(found) == 1  # (a loaded machine may add others, faster ones)
    outlier = found[0]
    assert outlier["endpoint"] == "slow"
    assert "in slow" in outlier["stack"] and "time.perf_counter()" in outlier["stack"] \
        or "sum(range(200))" in outlier["stack"]
    assert outlier["memory_bytes"] > 0
    assert outlier["request_values"]["json"]["user"] == "ana"
    assert outlier["request_values"]["args"]["q"] == ["books"]
    assert outlier["headers"]["Authorization"] == "[redacted]"
    dump = json.dumps([rows(store, kind) for kind in ("request", "outlier", "log")])
    for secret in SECRETS:
        assert secret not in dump, dump[dump.index(secret) - 300:dump.index(secret) + 50]


def test_profiler_records_a_call_tree_per_request(bound) -> None:  # type: ignore[no-untyped-def]
    app, store = bound
    client = app.test_client()
    client.post("/slow")
    assert heron.flush(10)
    web.set_level(store, "shop", "slow", 3)
    monitor_of(app).levels.refresh()
    client.post("/slow?wait=0.2")
    client.post("/slow?wait=0.2")
    profiles = rows(store, "profile")
    assert len(profiles) == 2
    tree = profiles[0]["tree"]
    assert tree["period_ms"] == 5.0 and tree["samples"] >= 10
    functions = {line["function"] for line in tree["lines"]}
    assert "slow" in functions
    assert any("sum(range(200))" in line["code"] for line in tree["lines"])
    grouped = web.grouped_profile(store, "shop", "slow", 0, time.time() + 60)
    assert grouped["requests"] == 2
    assert grouped["tree"]["value"] >= 100  # ms sampled over both requests
    assert grouped["lines"][0]["total_ms"] > 0


def test_dashboard_requests_are_not_recorded(bound) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import login

    app, store = bound
    client = app.test_client()
    login(client, "admin", ADMIN_PASSWORD)
    client.get("/dashboard/")
    client.get("/")
    assert [r["endpoint"] for r in rows(store, "request")] == ["index"]


def test_rollup_percentiles_match_exact_ones(store: Store) -> None:
    import random

    rng = random.Random(3)
    now = time.time()
    durations = [rng.lognormvariate(2, 1) for _ in range(5_000)]
    store.ingest([ev.Request(app="svc", endpoint="search", duration_ms=d, version="v1",
                             ts=now - rng.uniform(0, 3 * 3600), status=500 if i % 50 == 0
                             else 200) for i, d in enumerate(durations)])
    overview = web.overview(store, "svc", since=now - 86400, today_start=now - 86400, now=now)
    row = overview[0]
    ordered = sorted(durations)
    assert row["hits_total"] == row["hits_window"] == 5_000
    assert row["error_rate"] == pytest.approx(0.02)
    assert row["median_ms"] == pytest.approx(ordered[2499], rel=0.02)
    assert row["p95_ms"] == pytest.approx(ordered[int(0.95 * 4999)], rel=0.02)
    assert row["mean_ms"] == pytest.approx(sum(durations) / 5_000)


def test_an_app_sending_to_a_server_reads_its_levels_from_it(live_server, store, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import urllib.error
    import urllib.request

    heron.init(url=live_server.url, token="ingest-secret-1", app="shop",
               spool_dir=str(tmp_path / "spool"))
    app = heron.bind(make_app())
    assert "dashboard" not in app.blueprints  # the server serves the dashboard
    client = app.test_client()
    client.get("/")
    assert heron.flush(10)
    assert web.endpoint_levels(store, "shop")["index"] == 1  # registered on the server
    web.set_level(store, "shop", "index", 0)
    monitor = app.full_dispatch_request.heron_monitor  # type: ignore[attr-defined]
    monitor.levels.refresh()
    assert monitor.levels.level("index") == 0
    client.get("/")
    assert heron.flush(10)
    assert len(rows(store, "request")) == 1  # the second request, at level 0, is not sent
    try:
        urllib.request.urlopen(f"{live_server.url}/api/v1/endpoints?app=shop", timeout=10)
    except urllib.error.HTTPError as exc:
        assert exc.code == 401
    else:
        raise AssertionError("endpoints answered without a token")


def test_windows_combine_coarse_and_fine_rollups_exactly(store: Store) -> None:
    """A window with ragged ends: whole hours and days from the coarse rollups, the ends
    from the fine ones; counts exact and percentiles within 2% of the raw rows."""
    import random

    rng = random.Random(11)
    now = time.time()
    events = [ev.Request(app="svc", endpoint="search", duration_ms=rng.lognormvariate(2, 0.8),
                         ts=now - rng.uniform(0, 72 * 3600), version=rng.choice(["a", "b"]))
              for _ in range(6_000)]
    store.ingest(events)
    for hours in (0.3, 5.5, 26.25, 50.75, 80):
        since = (now - hours * 3600) // 60 * 60  # counts are kept per minute at the edges
        inside = sorted(e.duration_ms for e in events if e.ts >= since)
        row = web.overview(store, "svc", since=since, today_start=since, now=now)[0]
        assert row["hits_window"] == len(inside), hours
        assert row["hits_total"] == 6_000
        # latency sketches are kept per hour at the edges
        sketched = sorted(e.duration_ms for e in events if e.ts >= since // 3600 * 3600)
        assert row["median_ms"] == pytest.approx(sketched[(len(sketched) - 1) // 2],
                                                 rel=0.02)
        per_version = web.hits_by_endpoint_version(store, "svc", since, now + 60)["search"]
        assert sum(per_version.values()) == len(inside)


def test_routes_are_registered_when_bound_and_status_is_the_final_one(db_url) -> None:  # type: ignore[no-untyped-def]
    url, prefix = db_url
    app = make_app()

    class Refused(Exception):
        pass

    @app.get("/refused")
    def refused():  # type: ignore[no-untyped-def]
        raise Refused()

    @app.errorhandler(Refused)
    def on_refused(error):  # type: ignore[no-untyped-def]
        return "refused", 403

    @app.after_request
    def accepted(response):  # type: ignore[no-untyped-def]
        if request.path == "/tuple":
            response.status_code = 202  # after_request has the last word
        return response

    heron.bind(app, database=url, table_prefix=prefix, password=ADMIN_PASSWORD)
    store = open_store(url, prefix)
    try:
        assert heron.flush(10)  # no request yet: the Rules page lists every route already
        assert set(web.endpoint_levels(store, "shop")) == {
            "index", "slow", "query", "fail", "stream", "tuple_view", "refused", "static"}
        client = app.test_client()
        assert client.get("/tuple").status_code == 202
        assert client.get("/refused").status_code == 403
        seen = {(r["endpoint"], r["status"]) for r in rows(store, "request")}
        assert seen == {("tuple_view", 202), ("refused", 403)}
        assert rows(store, "exception") == []  # handled by the app: not an exception
    finally:
        store.dispose()


@pytest.mark.parametrize("level", [1, 2, 3])
def test_a_finished_request_is_freed_at_once(db_url, level) -> None:  # type: ignore[no-untyped-def]
    """No reference cycle through the request (its frame, the profiler's run): each
    request's objects go when it ends, not at the garbage collector's next pass."""
    import gc
    import weakref

    from heron.web import sql

    url, prefix = db_url
    app = Flask("cycles")
    seen: list[weakref.ref] = []  # type: ignore[type-arg]

    cells: list[list] = []  # type: ignore[type-arg]

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        served = sql.request_now()
        if isinstance(served, Served):  # level 1: the path's own [ts, sql, id] list
            cells.append(served.cell)
            seen.append(weakref.ref(served))
        else:
            seen.append(weakref.ref(served))
        return "hi"

    heron.bind(app, database=url, table_prefix=prefix, password=ADMIN_PASSWORD,
               monitor_level=level)
    client = app.test_client()
    for _ in range(30):  # past the outlier detector's first 20: thresholds are armed
        client.get("/")
    gc.disable()
    try:
        del seen[:], cells[:]
        for _ in range(20):
            client.get("/")
        alive = [ref for ref in seen if ref() is not None]
        # a level-1 request's list is held by nothing but this test once it has ended
        held = [cell for cell in cells if gc.get_referrers(cell) != [cells]]
    finally:
        gc.enable()
    assert len(seen) == 20 and alive == [] and held == []
    assert len(cells) == (20 if level == 1 else 0)


@pytest.mark.parametrize("level", [2, 3])
def test_a_request_seen_by_the_watcher_or_sampler_is_freed_at_once(db_url, level
                                                                   ) -> None:  # type: ignore[no-untyped-def]
    """The outlier watcher and the profiler's sampler look at a request while it runs
    (it lasts longer than their 5 ms tick); neither keeps it once it has finished."""
    import gc
    import weakref

    from heron.web import sql

    url, prefix = db_url
    app = Flask("watched")
    seen: list[weakref.ref] = []  # type: ignore[type-arg]

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        seen.append(weakref.ref(sql.request_now()))
        time.sleep(0.008)
        return "hi"

    heron.bind(app, database=url, table_prefix=prefix, password=ADMIN_PASSWORD,
               monitor_level=level)
    client = app.test_client()
    for _ in range(21):  # past the outlier detector's first 20: thresholds are armed
        client.get("/")
    gc.disable()
    try:
        del seen[:]
        client.get("/")
        time.sleep(0.02)  # the watcher and the sampler tick again, with nothing running
        alive = [ref for ref in seen if ref() is not None]
    finally:
        gc.enable()
    assert len(seen) == 1 and alive == []


def test_routes_defined_after_bind_are_listed_at_the_first_request(db_url) -> None:  # type: ignore[no-untyped-def]
    """Flask-MonitoringDashboard's docs bind before the routes exist (issue 20): every route
    is on the Rules page from the app's first request, before it is requested itself."""
    url, prefix = db_url
    app = Flask("early")
    heron.bind(app, database=url, table_prefix=prefix, password=ADMIN_PASSWORD)

    @app.get("/")
    def index():  # type: ignore[no-untyped-def]
        return "Hello World!"

    @app.get("/later")
    def later():  # type: ignore[no-untyped-def]
        return "later"

    store = open_store(url, prefix)
    try:
        assert app.test_client().get("/").status_code == 200
        assert heron.flush(10)
        assert {"index", "later"} <= set(web.endpoint_levels(store, "early"))
    finally:
        store.dispose()


def test_a_bound_app_serves_the_token_export_under_its_dashboard(db_url) -> None:  # type: ignore[no-untyped-def]
    """As Flask-MonitoringDashboard does (issue 20): SECURITY_TOKEN exports from the bound
    app itself, under the dashboard's prefix; the app's own /api/v1 stays the app's."""
    url, prefix = db_url
    app = make_app()
    heron.bind(app, database=url, table_prefix=prefix, password=ADMIN_PASSWORD,
               security_token="fmd-token-1")
    client = app.test_client()
    assert client.get("/").status_code == 200
    assert heron.flush(10)
    page = client.get("/dashboard/api/v1/export/request?app=shop",
                      headers={"Authorization": "Bearer fmd-token-1"})
    assert page.status_code == 200, page.get_data(as_text=True)
    assert [item["endpoint"] for item in page.get_json()["items"]] == ["index"]
    assert client.get("/dashboard/api/v1/export/request",
                      headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/api/v1/export/request").status_code == 404  # the app's own 404
