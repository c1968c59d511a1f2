"""Issue 18 (#7, #8, #11, #12, #14): the dashboard a researcher reads at a glance, at
1,440 px wide: one line a database row, no page scrolling sideways, long lists paged,
charts that say what their titles promise, a network graph drawn as labelled clusters."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from heron import events as ev
from heron.store import Store
from tests.browser.conftest import wide_page
from tests.conftest import ADMIN_PASSWORD, LiveServer

# Layout and drawing do not depend on the database: these run on SQLite only (the pages'
# queries run on both stores in tests/integration).
pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture
def server(app) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    live = LiveServer(app)
    yield live
    live.stop()


@pytest.fixture
def wide(browser: Browser, server: LiveServer) -> Iterator[Page]:
    """A logged-in page at 1,440 × 900, failing the test on any console error."""
    with wide_page(browser, server.url) as page:
        yield page


def no_sideways_scroll(page: Page) -> bool:
    return bool(page.evaluate(
        "document.documentElement.scrollWidth <= document.documentElement.clientWidth"))


def test_database_rows_are_one_line_and_the_grid_scrolls_in_its_card(
        wide: Page, server: LiveServer, store: Store) -> None:
    long_note = "a very long note about this participant " * 12
    store.ingest([ev.Participant(app="exp", participant_id=f"p{i}", status="working",
                                 worker_id=f"W{i}", assignment_id=f"A{i}" * 8,
                                 details={"note": long_note}) for i in range(30)])
    wide.goto(f"{server.url}/dashboard/database?app=exp")
    rows = wide.locator("#db-table-grid tbody tr")
    expect(rows).to_have_count(25)
    heights = wide.evaluate("Array.from(document.querySelectorAll('#db-table-grid tbody tr'))"
                            ".map(r => r.getBoundingClientRect().height)")
    line = wide.evaluate("parseFloat(getComputedStyle(document.body).lineHeight)")
    assert max(heights) < 2 * line, heights  # dates and app names never wrap
    # a long value is cut with an ellipsis and shown whole on hover
    cell = wide.locator("#db-table-grid tbody tr").first.locator(".heron-cell",
                                                                has_text="a very long note")
    assert long_note.strip() in (cell.get_attribute("title") or "")
    assert cell.evaluate("e => e.scrollWidth > e.clientWidth")
    # the page itself never scrolls sideways: the grid does, inside its card
    assert no_sideways_scroll(wide)
    assert wide.evaluate("(() => { const b = document.querySelector('.dt-scroll-body');"
                         " return b.scrollWidth > b.clientWidth; })()")


def test_home_shows_every_kind_in_its_legend_and_no_clipped_row(
        wide: Page, server: LiveServer, store: Store) -> None:
    now = time.time() - 60
    events: list[ev.Event] = [ev.Log(app="lab", message=f"line {i}", ts=now) for i in range(30)]
    events += [ev.Participant(app="exp", participant_id="p1", ts=now),
               ev.Network(app="exp", network_id="n", ts=now),
               ev.Node(app="exp", node_id="a", network_id="n", ts=now),
               ev.Info(app="exp", info_id="i", origin_id="a", ts=now),
               ev.Vector(app="exp", vector_id="v", origin_id="a", destination_id="a", ts=now),
               ev.Transmission(app="exp", transmission_id="t", origin_id="a",
                               destination_id="a", ts=now),
               ev.RunStart(app="algo", run_id="r1", run_class="fit", ts=now),
               ev.RunEnd(app="algo", run_id="r1", outcome="ok", ts=now),
               ev.Export(app="algo", run_id="r1", metrics={"loss": 1.0}, ts=now),
               ev.SessionStart(app="rig", session_id="s1", ts=now),
               ev.SessionEnd(app="rig", session_id="s1", outcome="ok", ts=now),
               ev.Resource(app="rig", session_id="s1", cpu_percent=5.0, ts=now)]
    store.ingest(events)
    wide.reload()
    kinds = {e.__struct_config__.tag for e in events}  # type: ignore[attr-defined]
    wide.wait_for_function("echarts.getInstanceByDom(document.getElementById('events-chart'))"
                           ".getOption().series.length > 10")
    legend = wide.evaluate("(() => { const o = echarts.getInstanceByDom("
                           "document.getElementById('events-chart')).getOption();"
                           " return {type: o.legend[0].type, series: o.series.map(s => s.name)};"
                           " })()")
    assert legend["type"] != "scroll"  # every kind at once, never "1/4" pages
    assert set(legend["series"]) == kinds
    # the latest events: every row whole, inside its card
    last = wide.locator("#recent-table tbody tr").last.bounding_box()
    card = wide.locator("#recent-table").locator("xpath=ancestor::div[contains(@class,'card')]"
                                                 ).first.bounding_box()
    assert last is not None and card is not None
    assert last["y"] + last["height"] <= card["y"] + card["height"]
    assert wide.evaluate("(() => { const t = document.getElementById('recent-table')"
                         ".parentElement; return t.scrollHeight <= t.clientHeight; })()")
    assert no_sideways_scroll(wide)


def test_long_lists_are_paged(wide: Page, server: LiveServer, store: Store) -> None:
    now = time.time() - 600
    store.ingest([ev.RunStart(app="algo", run_id=f"run-{i:03}", run_class="classify",
                              ts=now + i) for i in range(60)])
    wide.goto(f"{server.url}/dashboard/runs/algo/classify")
    rows = wide.locator("#runs-table tbody tr")
    expect(rows).to_have_count(25)
    expect(rows.first).to_contain_text("run-059")  # newest first, as the server sends them
    wide.locator(".dt-paging button", has_text="3").click()
    expect(rows).to_have_count(10)
    expect(rows.last).to_contain_text("run-000")
    assert no_sideways_scroll(wide)


def test_endpoint_charts_show_load_and_mean_duration_as_bars(
        wide: Page, server: LiveServer, store: Store) -> None:
    from tests.integration.test_web_pages import seed

    seed(store)
    wide.goto(f"{server.url}/dashboard/endpoints?app=shop&window=24h")
    wide.wait_for_function("document.getElementById('overview-charts').dataset.drawn === '1'")
    # requests over time: bars in their buckets, never a line across the window
    assert set(wide.evaluate("window.heronCharts.daily.getOption().series.map(s => s.type)")
               ) == {"bar"}
    # issue 20: version usage in percent of each endpoint's requests (half 1.0, half 2.0)
    shares = wide.evaluate("Object.fromEntries(window.heronCharts['version-shares']"
                           ".getOption().series.map(s => [s.name, s.data]))")
    endpoints = wide.evaluate("window.heronCharts['version-shares'].getOption().xAxis[0].data")
    search = endpoints.index("search")
    assert shares["version 1.0"][search] == pytest.approx(50)
    assert shares["version 1.0"][search] + shares["version 2.0"][search] == pytest.approx(100)
    wide.goto(f"{server.url}/dashboard/endpoints/e/shop/search?window=24h")
    wide.wait_for_function("document.getElementById('endpoint-charts').dataset.drawn === '1'")
    series = wide.evaluate("window.heronCharts.load.getOption().series.map(s => "
                           "({type: s.type, axis: s.yAxisIndex || 0, name: s.name, "
                           "n: s.data.length}))")
    bars = [s for s in series if s["type"] == "bar"]
    means = [s for s in series if s["type"] == "line"]
    assert bars and means, series  # the title's "load and mean duration", both drawn
    assert {s["axis"] for s in bars} == {0} and {s["axis"] for s in means} == {1}
    assert all(s["n"] > 0 for s in series)
    assert {s["name"].removesuffix(" requests") for s in bars} == \
        {s["name"].removesuffix(" mean duration") for s in means} == {"1.0", "2.0"}
    # issue 20: a box per user, and the hours of the day the endpoint is used
    users = wide.evaluate("window.heronCharts['user-boxes'].getOption().xAxis[0].data")
    assert users == ["user0", "user1", "user2"]
    medians = wide.evaluate("window.heronCharts['user-boxes'].getOption().series[0].data"
                            ".map(d => d.value[2])")
    assert all(30 < m < 70 for m in medians), medians  # the seed's ~40-60 ms
    hours = wide.evaluate("window.heronCharts.hours.getOption().series[0].data")
    assert len(hours) == 24 and sum(hours) == 600
    assert no_sideways_scroll(wide)


def test_monitoring_draws_each_network_as_a_labelled_cluster(
        wide: Page, server: LiveServer, store: Store) -> None:
    from tests.integration.test_experiment_hooks import seed

    seed(store)
    wide.goto(f"{server.url}/dashboard/monitoring?app=exp")
    wide.wait_for_function("document.getElementById('network-graph').dataset.ready === '1'")
    labels = wide.evaluate("window.heronGraph.body.data.nodes.get()"
                           ".filter(n => n.id.startsWith('Network:')).map(n => n.label)")
    assert sorted(labels) == ["network net1\npractice · 3 nodes",
                              "network net2\nexperiment · 0 nodes"]
    # networks side by side; each node under its own network's box
    where = wide.evaluate("window.heronGraph.getPositions()")
    assert where["Network:net1"]["y"] == where["Network:net2"]["y"]
    for node in ("Node:n0", "Node:n1", "Node:n2"):
        assert where[node]["y"] > where["Network:net1"]["y"]
        assert abs(where[node]["x"] - where["Network:net1"]["x"]) < \
            abs(where[node]["x"] - where["Network:net2"]["x"])
    # ids on hover, not a hairball of labels; the legend names each type in its colour
    node = wide.evaluate("window.heronGraph.body.data.nodes.get('Node:n1')")
    assert node["label"].strip() == "" and "n1" in node["title"]
    swatch = wide.locator("#graph-types [data-type=agent] .heron-swatch")
    expect(swatch).to_be_visible()
    colour = swatch.evaluate("e => getComputedStyle(e).backgroundColor")
    drawn = wide.evaluate("window.heronGraph.body.data.nodes.get('Node:n1').color.background")
    rgb = tuple(int(drawn[i:i + 2], 16) for i in (1, 3, 5))
    assert colour == f"rgb({rgb[0]}, {rgb[1]}, {rgb[2]})"
    assert no_sideways_scroll(wide)


def test_an_unknown_dashboard_url_gets_herons_own_page(wide: Page, server: LiveServer) -> None:
    response = wide.goto(f"{server.url}/dashboard/nope")
    assert response is not None and response.status == 404
    expect(wide.locator("#heron-nav")).to_be_visible()  # heron's frame, not Werkzeug's page
    expect(wide.locator("h1")).to_contain_text("Not Found")
    errors = wide.console_errors  # type: ignore[attr-defined]
    assert all("404" in e for e in errors), errors  # the browser notes the status, no more
    errors.clear()


def test_chart_time_axes_follow_timezone_not_the_browser(browser: Browser, config_for,  # type: ignore[no-untyped-def]
                                                         store: Store) -> None:
    """Issue 20: under TIMEZONE = Europe/Amsterdam a Tokyo browser drew chart axes in
    Tokyo time beneath an Amsterdam label."""
    from heron.server import create_app, prepare
    from tests.integration.test_web_pages import seed

    cfg = config_for(password=ADMIN_PASSWORD, timezone="Europe/Amsterdam")
    prepare(store, cfg)
    seed(store)
    live = LiveServer(create_app(cfg, store=store))
    context = browser.new_context(timezone_id="Asia/Tokyo", locale="ja-JP",
                                  viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{live.url}/dashboard/login")
        page.fill("#username", "admin")
        page.fill("#password", ADMIN_PASSWORD)
        page.click("button[type=submit]")
        page.goto(f"{live.url}/dashboard/endpoints/e/shop/search?window=24h")
        page.wait_for_function(
            "document.getElementById('endpoint-charts').dataset.drawn === '1'")
        afternoon = 1_796_220_000_000  # 2026-12-02 14:00 UTC: 15:00 in Amsterdam
        for chart in ("load", "statuses"):
            axis = f"window.heronCharts['{chart}'].getOption().xAxis[0]"
            assert page.evaluate(f"{axis}.name") == "time (Europe/Amsterdam)"
            assert page.evaluate(f"{axis}.axisLabel.formatter({afternoon})") == "15:00"
            assert page.evaluate(f"{axis}.axisPointer.label.formatter("
                                 f"{{value: {afternoon}}})") == "2026-12-02 15:00"
        assert page.evaluate("new Date(1796220000000).getHours()") == 23  # Tokyo, indeed
    finally:
        context.close()
        live.stop()
