"""The web monitoring pages on a seeded store: overview, rules, endpoint, outlier, profile,
exceptions, reporting, retention, and their JSON for the charts."""

from __future__ import annotations

import random
import time

from heron import events as ev
from heron.store import Store
from heron.store.queries.export import export_page
from tests.conftest import csrf_of


def seed(store: Store, now: float | None = None) -> None:
    """Two versions of a shop: /search got 50% slower in 2.0; /item did not change."""
    now = now or time.time()
    rng = random.Random(5)
    events: list[ev.Event] = [ev.Endpoint(app="shop", endpoint=e, monitor_level=1)
                              for e in ("search", "item", "<b>bold</b>")]
    for i in range(600):
        version = "1.0" if i < 300 else "2.0"
        ts = now - 3000 + i * 4
        slow = 1.5 if version == "2.0" else 1.0
        events.append(ev.Request(app="shop", endpoint="search", ts=ts, version=version,
                                 duration_ms=rng.gauss(40, 4) * slow, group_by=f"user{i % 3}",
                                 ip=f"10.0.0.{i % 4}", status=500 if i % 100 == 0 else 200))
        events.append(ev.Request(app="shop", endpoint="item", ts=ts, version=version,
                                 duration_ms=rng.gauss(8, 1), status=200))
    events.append(ev.Outlier(id="out1", app="shop", request_id="r1", endpoint="search",
                             duration_ms=950, stack='File "app.py", line 9, in search',
                             headers={"Authorization": "[redacted]"}))
    events.append(ev.Profile(id="prof1", app="shop", request_id="r2", endpoint="search",
                             duration_ms=30, tree={
                                 "period_ms": 5.0, "samples": 6,
                                 "lines": [{"file": "/app/shop.py", "line": 12,
                                            "function": "search", "code": "rank(results)"},
                                           {"file": "/app/rank.py", "line": 3,
                                            "function": "rank", "code": "sorted(r)"}],
                                 "root": [-1, 6, [[0, 6, [[1, 4, []]]]]]}))
    events.append(ev.ExceptionRaised(app="shop", endpoint="search", type="KeyError",
                                     message="'<script>x</script>'", stack="Traceback...",
                                     fingerprint="abc"))
    store.ingest(events)


def test_overview_lists_endpoints_with_hits_and_percentiles(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    seed(store)
    html = admin_client.get("/dashboard/endpoints?app=shop&window=24h").get_data(as_text=True)
    assert 'data-endpoint="search"' in html and "600" in html
    assert "<b>bold</b>" not in html and "&lt;b&gt;bold&lt;/b&gt;" in html
    data = admin_client.get("/dashboard/api/web/overview?app=shop&window=24h").get_json()
    assert sum(map(sum, data["heatmap"])) == 1200
    assert set(data["boxes"]) == {"search", "item"}
    assert data["by_endpoint_version"]["search"] == {"1.0": 300, "2.0": 300}


def test_rules_page_sets_levels_for_admins_only(admin_client, guest_client, store) -> None:  # type: ignore[no-untyped-def]
    seed(store)
    admin_client.get("/dashboard/endpoints/rules?app=shop")
    token = csrf_of(admin_client)
    done = admin_client.post("/dashboard/endpoints/rules?app=shop", data={
        "csrf_token": token, "endpoint": "search", "level": "3"}, follow_redirects=True)
    assert "search now records at level 3" in done.get_data(as_text=True)
    levels = {r["endpoint"]: r["monitor_level"] for r in export_page(store, "endpoint").items}
    assert levels["search"] == 3
    bad = admin_client.post("/dashboard/endpoints/rules?app=shop", data={
        "csrf_token": token, "endpoint": "search", "level": "9"}, follow_redirects=True)
    assert "Not changed" in bad.get_data(as_text=True)
    no_csrf = admin_client.post("/dashboard/endpoints/rules?app=shop",
                                data={"endpoint": "search", "level": "0"})
    assert no_csrf.status_code in (400, 403)
    guest_page = guest_client.get("/dashboard/endpoints/rules?app=shop").get_data(as_text=True)
    assert "aria-label=\"level of search\"" not in guest_page
    guest = guest_client.post("/dashboard/endpoints/rules?app=shop", data={
        "csrf_token": csrf_of(guest_client), "endpoint": "search", "level": "0"})
    assert guest.status_code == 403


def test_endpoint_page_and_its_chart_data(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    seed(store)
    html = admin_client.get("/dashboard/endpoints/e/shop/search?window=24h").get_data(as_text=True)
    assert "out1" in html and "prof1" in html and "KeyError" in html
    assert "<script>x</script>" not in html
    data = admin_client.get("/dashboard/api/web/endpoint?app_id=shop&endpoint=search"
                            "&window=24h").get_json()
    assert set(data["load"]["series"]) == {"1.0", "2.0"}
    assert set(data["statuses"]) == {"200", "500"}
    assert data["versions"]["2.0"]["p50"] > data["versions"]["1.0"]["p50"] * 1.3
    assert {r["key"] for r in data["users"]["rows"]} == {"user0", "user1", "user2"}
    assert data["grouped"]["requests"] == 1
    assert data["grouped"]["lines"][0]["total_ms"] == 30.0
    assert admin_client.get("/dashboard/endpoints/e/shop/nope").status_code == 404


def test_colors_from_the_config_reach_the_charts(config_for, store) -> None:  # type: ignore[no-untyped-def]
    from heron.server import create_app, prepare
    from tests.conftest import ADMIN_PASSWORD, login

    cfg = config_for(password=ADMIN_PASSWORD, colors={"search": "[255,0,0]"})
    prepare(store, cfg)
    client = create_app(cfg, store=store).test_client()
    login(client, "admin", ADMIN_PASSWORD)
    seed(store)
    for path in ("/dashboard/endpoints?app=shop", "/dashboard/endpoints/e/shop/search"):
        html = client.get(path).get_data(as_text=True)
        assert """data-colors='{"search": "#ff0000"}'""" in html, path


def test_endpoint_charts_read_whole_hours_from_rollups(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    """Status, user and IP charts over 7 days agree with the raw requests, and keep the
    days whose raw requests were pruned."""
    from heron.store.queries import web
    from heron.store.retention import prune

    now = time.time()
    seed(store, now=now - 3 * 86400)  # three days ago: whole hours of the 7-day window
    seed(store)
    data = admin_client.get("/dashboard/api/web/endpoint?app_id=shop&endpoint=search"
                            "&window=7d").get_json()
    users = {(r["key"], r["version"]): r["count"] for r in data["users"]["rows"]}
    assert users == {("user0", "1.0"): 200, ("user1", "1.0"): 200, ("user2", "1.0"): 200,
                     ("user0", "2.0"): 200, ("user1", "2.0"): 200, ("user2", "2.0"): 200}
    assert sum(r["count"] for r in data["ips"]["rows"]) == 1200
    assert sum(n for _, n in data["statuses"]["500"]) == 12
    assert sum(n for _, n in data["statuses"]["200"]) == 1188
    mean = {(r["key"], r["version"]): r["mean_ms"] for r in data["users"]["rows"]}
    assert mean[("user0", "2.0")] > mean[("user0", "1.0")] * 1.3
    prune(store, now - 86400)
    after = web.raw_groups(store, "shop", "search", now - 7 * 86400, now, "group_by")
    assert sum(r["count"] for r in after["rows"]) == 1200  # the pruned day is in the rollup


def test_outlier_profile_and_exceptions_pages(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    seed(store)
    outlier = admin_client.get("/dashboard/endpoints/outlier/shop/out1").get_data(as_text=True)
    assert "line 9, in search" in outlier and "[redacted]" in outlier
    profile = admin_client.get("/dashboard/endpoints/profile/shop/prof1").get_data(as_text=True)
    assert "rank(results)" in profile and "sorted(r)" in profile and "20.0 ms" in profile
    errors = admin_client.get("/dashboard/endpoints/exceptions?app=shop&window=24h")
    text = errors.get_data(as_text=True)
    assert "KeyError" in text and "&lt;script&gt;" in text and "<script>x" not in text
    assert admin_client.get("/dashboard/endpoints/outlier/shop/none").status_code == 404


def test_reporting_finds_the_endpoint_that_got_slower(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    seed(store)
    html = admin_client.get("/dashboard/endpoints/reporting?app=shop&mode=versions&a=1.0&b=2.0"
                            ).get_data(as_text=True)
    rows = html.split('data-endpoint="')[1:]
    assert rows[0].startswith("search") and "slower" in rows[0]
    assert rows[1].startswith("item") and "no clear change" in rows[1]


def test_prune_needs_an_admin_and_keeps_rollups(admin_client, guest_client, store) -> None:  # type: ignore[no-untyped-def]
    old = time.time() - 40 * 86400
    seed(store, now=old)
    seed(store)
    admin_client.get("/dashboard/endpoints/rules?app=shop")
    assert guest_client.post("/dashboard/endpoints/prune", data={"days": "30"}).status_code \
        in (400, 403)
    done = admin_client.post("/dashboard/endpoints/prune", data={
        "csrf_token": csrf_of(admin_client), "days": "30", "app": "shop"}, follow_redirects=True)
    assert "Deleted 1,200 request" in done.get_data(as_text=True)
    assert len(export_page(store, "request", limit=10_000).items) == 1200
    data = admin_client.get("/dashboard/api/web/overview?app=shop&window=24h").get_json()
    assert data["by_endpoint_version"]["search"] == {"1.0": 300, "2.0": 300}
    from heron.store.queries.web import overview

    totals = {r["endpoint"]: r["hits_total"] for r in overview(
        store, "shop", since=time.time() - 3600, today_start=time.time() - 3600)}
    assert totals["search"] == 1200  # the pruned month still counts in the rollups


def test_sql_summary_comes_from_the_rollups(store) -> None:  # type: ignore[no-untyped-def]
    from heron.store.queries import web
    from heron.store.retention import prune

    now = time.time()
    store.ingest([ev.Request(app="shop", endpoint="search", ts=now - 3 * 3600 - i,
                             duration_ms=20.0, status=200, sql_count=i % 3,
                             sql_ms=1.5 * (i % 3)) for i in range(300)])
    summary = web.sql_summary(store, "shop", "search", now - 86400, now)
    assert summary["requests"] == 300
    assert summary["mean_queries"] == 1.0 and summary["mean_sql_ms"] == 1.5
    prune(store, now)  # the raw requests go; the means stay
    assert web.sql_summary(store, "shop", "search", now - 86400, now) == summary


def test_flask_monitoringdashboards_addresses_lead_to_herons_pages(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    """Issue 20: the seed's URLs were 404s."""
    seed(store)
    for old, new in (("/dashboard/rules", "/dashboard/endpoints/rules"),
                     ("/dashboard/measurements/overview", "/dashboard/endpoints"),
                     ("/dashboard/overview?app=shop", "/dashboard/endpoints?app=shop"),
                     ("/dashboard/search/main/outliers",
                      "/dashboard/endpoints/e/shop/search#outliers-table")):
        response = admin_client.get(old)
        assert response.status_code == 302, old
        assert response.headers["Location"].endswith(new), (old, response.headers["Location"])
        assert admin_client.get(new.split("#")[0]).status_code == 200
    assert admin_client.get("/dashboard/nothing/main/outliers").status_code == 404
    assert admin_client.get("/dashboard/search/main/unknown-page").status_code == 404


def test_an_endpoints_users_and_hours_of_the_day(admin_client, store) -> None:  # type: ignore[no-untyped-def]
    """Issue 20: FMD's per-user box plot and hourly utilization of an endpoint."""
    seed(store)
    body = admin_client.get("/dashboard/api/web/endpoint?app_id=shop&endpoint=search"
                            "&window=24h").get_json()
    boxes = body["user_boxes"]
    assert sorted(boxes) == ["user0", "user1", "user2"]
    assert all(b["n"] == 200 and b["p5"] <= b["p25"] <= b["p50"] <= b["p75"] <= b["p95"]
               for b in boxes.values())
    assert len(body["hours"]) == 24 and sum(body["hours"]) == 600
    item = admin_client.get("/dashboard/api/web/endpoint?app_id=shop&endpoint=item"
                            "&window=24h").get_json()
    assert list(item["user_boxes"]) == ["(none)"]  # requests without group_by: one box


def test_the_settings_page_shows_the_configuration_and_exports(admin_client, guest_client,  # type: ignore[no-untyped-def]
                                                              store) -> None:
    """FMD's configuration and export-data pages (issue 20), for admins only."""
    page = admin_client.get("/dashboard/settings?app=shop")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'data-setting="MONITOR_LEVEL"' in html and 'data-setting="TIMEZONE"' in html
    assert "admin-pass-123" not in html and "export-secret-1" not in html  # masked
    assert 'href="/dashboard/api/v1/export/request?app=shop"' in html
    export = admin_client.get("/dashboard/api/v1/export/request?app=shop")
    assert export.status_code == 200  # an admin's session exports too
    assert guest_client.get("/dashboard/settings").status_code == 403
    for old in ("/dashboard/configuration", "/dashboard/export-data"):
        assert admin_client.get(old).headers["Location"].startswith("/dashboard/settings")
