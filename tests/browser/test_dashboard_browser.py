"""The dashboard in a real browser: login, navigation, custom tabs, live home, roles."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest
from flask import render_template_string
from playwright.sync_api import Page, expect

from heron import events as ev
from heron.dashboard import dashboard_tab, dashboard_tabs
from heron.dashboard.registry import _routes
from tests.conftest import ADMIN_PASSWORD, GUEST_PASSWORD, LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def custom_tab() -> Iterator[None]:
    """An experiment's own tab, registered the way a user would, after the home tab."""
    before = list(dashboard_tabs.tabs)

    @dashboard_tab("Lab notes", after_route="index")
    def dashboard_lab_notes() -> str:
        return render_template_string(
            '{% extends "heron/base.html" %}{% block content %}'
            '<p id="notes">Notes from the lab</p>{% endblock %}', title="Lab notes")

    yield
    dashboard_tabs.tabs = before
    _routes.pop("dashboard_lab_notes", None)


@pytest.fixture
def server(custom_tab, app) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    live = LiveServer(app)
    yield live
    live.stop()


def log_in(page: Page, base: str, user: str, password: str) -> None:
    page.goto(f"{base}/dashboard/")
    expect(page).to_have_url(f"{base}/dashboard/login?next=/dashboard/")
    page.fill("#username", user)
    page.fill("#password", password)
    page.click("button[type=submit]")
    expect(page).to_have_url(f"{base}/dashboard/")


def test_login_navigation_and_custom_tab(page: Page, server: LiveServer) -> None:
    log_in(page, server.url, "admin", ADMIN_PASSWORD)
    nav = page.locator("#heron-nav a.nav-link")
    expect(nav).to_have_text(["Apps", "Lab notes", "Runs", "Sessions", "Logs", "Alerts",
                              "Overview", "Rules",
                              "Reporting", "Exceptions", "Test Monitor", "Monitoring",
                              "Database", "Users"])
    expect(page.locator(".heron-user")).to_contain_text("admin")
    page.click("text=Lab notes")
    expect(page).to_have_url(f"{server.url}/dashboard/lab_notes")
    expect(page.locator("#notes")).to_have_text("Notes from the lab")
    expect(page.locator("#heron-nav a.nav-link.active")).to_have_text("Lab notes")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_home_updates_live_without_reload(page: Page, server: LiveServer, store) -> None:  # type: ignore[no-untyped-def]
    log_in(page, server.url, "admin", ADMIN_PASSWORD)
    expect(page.locator("#home-empty")).to_be_visible()
    page.evaluate("window.__heronMarker = 'same page'")
    store.ingest([ev.Log(app="stroop-online", message="hello"),
                  ev.Participant(app="stroop-online", participant_id="p1")])
    row = page.locator('#apps-table tr[data-app="stroop-online"]')
    expect(row).to_be_visible(timeout=10_000)
    expect(row).to_contain_text("participant 1")
    expect(page.locator("#recent-table tbody tr")).to_have_count(2)
    assert page.evaluate("window.__heronMarker") == "same page"
    expect(page.locator("#events-chart canvas")).to_have_count(1)
    expect(page.locator("#heron-live")).to_have_attribute("data-state", "live")
    page.click("#heron-pause")
    expect(page.locator("#heron-live")).to_contain_text("Paused")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_hostile_app_names_render_as_text(page: Page, server: LiveServer, store) -> None:  # type: ignore[no-untyped-def]
    hostile = '"><img src=x onerror="window.__pwned=1">'
    store.ingest([ev.Log(app=hostile, message="x")])
    log_in(page, server.url, "admin", ADMIN_PASSWORD)
    expect(page.locator("#apps-table")).to_contain_text(hostile)
    time.sleep(2.5)  # one live refresh re-renders the rows from JSON
    expect(page.locator("#apps-table")).to_contain_text(hostile)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#apps-table img").count() == 0


def test_guest_cannot_reach_admin_actions(page: Page, server: LiveServer, store) -> None:  # type: ignore[no-untyped-def]
    from heron.auth.users import get_user

    log_in(page, server.url, "guest", GUEST_PASSWORD)
    expect(page.locator(".heron-user")).to_contain_text("guest")
    page.click("text=Users")
    expect(page.locator("#users-table")).to_contain_text("admin")
    expect(page.locator("#add-user")).to_have_count(0)
    expect(page.locator("#users-table button")).to_have_count(0)
    status = page.evaluate("""async () => {
        const token = document.querySelector('input[name=csrf_token]').value;
        const body = new URLSearchParams({username: 'eve', password: 'eve-password',
                                          role: 'admin', csrf_token: token});
        const r = await fetch('/dashboard/users/add', {method: 'POST', body});
        return r.status;
    }""")
    assert status == 403
    assert get_user(store, "eve") is None


def test_admin_adds_a_user_in_the_browser(page: Page, server: LiveServer, store) -> None:  # type: ignore[no-untyped-def]
    from heron.auth.users import get_user

    log_in(page, server.url, "admin", ADMIN_PASSWORD)
    page.click("text=Users")
    page.fill("#new-username", "ana")
    page.fill("#new-password", "ana-password")
    page.select_option("#new-role", "admin")
    page.click("#add-user button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("Added user ana")
    assert get_user(store, "ana").role == "admin"


def test_narrow_screen_keeps_navigation(browser, server: LiveServer) -> None:  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 768, "height": 1024})
    page = context.new_page()
    log_in(page, server.url, "admin", ADMIN_PASSWORD)
    expect(page.locator("#heron-nav a.nav-link").first).to_be_visible()
    page.click("text=Users")
    expect(page).to_have_url(f"{server.url}/dashboard/users")
    context.close()


def test_runs_pages_draw_chart_and_tree(page: Page, server: LiveServer, store) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_runs import record

    ids = record(store)
    log_in(page, server.url, "admin", ADMIN_PASSWORD)
    page.click("#heron-nav >> text=Runs")
    expect(page.locator("#run-classes")).to_contain_text("classify")
    page.click("#run-classes >> text=classify")
    page.select_option("#segment", "source")
    page.click("#series-form button[type=submit]")
    expect(page.locator("#series-chart canvas")).to_have_count(1)
    expect(page.locator("#series-error")).to_be_hidden()
    expect(page.locator("#runs-table tbody tr")).to_have_count(6)
    page.click(f"#runs-table a[href$='{ids['run4']}']")
    expect(page.locator("#run-tree")).to_contain_text("embedding")
    expect(page.locator("#run-tree")).to_contain_text("RuntimeError")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_database_view_pages_searches_and_fails(page: Page, server: LiveServer, store) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_experiment_hooks import seed

    seed(store)
    store.ingest([ev.Participant(app="exp", participant_id=f"x{i}",
                                 worker_id=f'<img src=x onerror="window.__pwned=1">{i}')
                  for i in range(40)])
    log_in(page, server.url, "admin", ADMIN_PASSWORD)
    page.goto(f"{server.url}/dashboard/database?app=exp")
    rows = page.locator("#db-table-grid tbody tr")
    expect(rows).to_have_count(25)
    page.fill("input[type=search]", "W2")
    expect(rows).to_have_count(1)
    assert page.evaluate("window.__pwned") is None  # cells are text, never markup
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator(".heron-select").first.check()
    page.click("text=Fail Selected")
    expect(page.locator("#db-message")).to_have_text("Failed 1 Participant")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_database_columns_times_and_graph_links(page: Page, server: LiveServer, store) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_experiment_hooks import seed

    seed(store)
    log_in(page, server.url, "admin", ADMIN_PASSWORD)
    page.goto(f"{server.url}/dashboard/database?app=exp&table=node")
    rows = page.locator("#db-table-grid tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text(" UTC")  # times are read as times, not epoch numbers
    header = page.locator("#db-table-grid_wrapper thead th", has_text="participant_id")
    expect(header.first).to_be_visible()
    page.click("#column-menu")
    page.locator(".heron-colvis[data-name='participant_id']").uncheck()
    expect(page.locator("#db-table-grid_wrapper thead th", has_text="participant_id")
           ).to_have_count(0)
    page.reload()  # the choice is remembered
    expect(rows).to_have_count(3)
    expect(page.locator("#db-table-grid_wrapper thead th", has_text="participant_id")
           ).to_have_count(0)
    page.locator("tr", has_text="source").locator("a[data-link=graph]").click()
    expect(page).to_have_url(re.compile(r"/dashboard/monitoring\?"))
    expect(page.locator("#node-details")).to_contain_text("n0", timeout=15_000)
    expect(page.locator("#node-details")).to_contain_text("source")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_guest_sees_no_database_actions(page: Page, server: LiveServer, store) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_experiment_hooks import seed

    seed(store)
    log_in(page, server.url, "guest", GUEST_PASSWORD)
    page.goto(f"{server.url}/dashboard/database?app=exp")
    expect(page.locator("#db-table-grid tbody tr")).to_have_count(3)
    expect(page.locator(".heron-action")).to_have_count(0)


def test_monitoring_graph_draws_and_shows_details(page: Page, server: LiveServer, store) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_experiment_hooks import seed

    seed(store)
    log_in(page, server.url, "admin", ADMIN_PASSWORD)
    page.goto(f"{server.url}/dashboard/monitoring?app=exp")
    expect(page.locator("#monitoring-panels [data-panel='Nodes']")).to_contain_text("3 total")
    # 2 networks, 3 nodes, 1 info (each network a cluster of its own: no role or
    # experiment hubs to tangle the drawing)
    page.wait_for_function("window.heronGraph && window.heronGraph.body.data.nodes.length === 6")
    expect(page.locator("#network-graph canvas")).to_have_count(1)
    page.evaluate("window.heronGraph.body.emitter.emit('click', {nodes: ['Node:n1'], edges: []})")
    expect(page.locator("#node-details")).to_contain_text("n1")
    expect(page.locator("#node-details")).to_contain_text("agent")
    page.select_option("#role-filter", "practice")
    page.wait_for_function("window.heronGraph.body.data.nodes.length === 5")
    # a node arriving on the server appears without a reload (server-sent events)
    store.ingest([ev.Node(app="exp", node_id="n-live", network_id="net1", type="agent")])
    page.wait_for_function("window.heronGraph.body.data.nodes.get('Node:n-live') !== null",
                           timeout=10_000)
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_monitoring_opens_large_experiments_as_clusters(page: Page, server: LiveServer,
                                                        store) -> None:  # type: ignore[no-untyped-def]
    """5,000 nodes in 1,000 networks: networks drawn as boxes, opened one at a time."""
    store.ingest([ev.Participant(app="big", participant_id="p1")])
    store.ingest([ev.Network(app="big", network_id=f"net{i}", role="exp") for i in range(1000)])
    store.ingest([ev.Node(app="big", node_id=f"n{i}-{j}", network_id=f"net{i}", type="agent")
                  for i in range(1000) for j in range(5)])
    log_in(page, server.url, "admin", ADMIN_PASSWORD)
    page.goto(f"{server.url}/dashboard/monitoring?app=big")
    expect(page.locator("#graph-message")).to_contain_text("5,000 nodes in 1,000 networks")
    page.wait_for_function("document.getElementById('network-graph').dataset.ready === '1'",
                           timeout=60_000)
    page.evaluate("window.heronGraph.body.emitter.emit('click', "
                  "{nodes: ['Network:net7'], edges: []})")
    page.wait_for_function("window.heronGraph.body.data.nodes.get('Node:n7-4') !== null")
    page.fill("#network-search", "net99")  # net99, net990..net999
    page.wait_for_function("window.heronGraph.body.data.nodes.get('Network:net7') === null")
    expect(page.locator("#graph-counts")).to_contain_text("11 networks")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_web_monitoring_pages_draw_their_charts(page: Page, server: LiveServer, store) -> None:  # type: ignore[no-untyped-def]
    from tests.integration.test_web_pages import seed

    seed(store)
    log_in(page, server.url, "admin", ADMIN_PASSWORD)
    page.goto(f"{server.url}/dashboard/endpoints?app=shop&window=24h")
    expect(page.locator("#endpoints-table tbody tr")).to_have_count(3)
    page.wait_for_function("document.getElementById('overview-charts').dataset.drawn === '1'")
    for chart in ("heatmap", "daily", "versions", "boxes"):
        expect(page.locator(f"[data-chart={chart}] canvas").first).to_be_visible()
        assert page.evaluate(f"window.heronCharts['{chart}'].getOption().series.length") > 0
    # an endpoint keeps one colour on every chart (hashed from its name, or from COLORS)
    line_colours = page.evaluate("Object.fromEntries(window.heronCharts.daily.getOption()"
                                 ".series.map(s => [s.name, s.color]))")
    box_colours = page.evaluate("window.heronCharts.boxes.getOption().series[0].data"
                                ".map(d => d.itemStyle.borderColor)")
    box_names = page.evaluate("window.heronCharts.boxes.getOption().xAxis[0].data")
    assert dict(zip(box_names, box_colours, strict=True)) == {
        n: line_colours[n] for n in box_names}
    assert len(set(box_colours)) == len(box_colours)
    page.locator("#endpoints-table a", has_text="search").click()
    expect(page).to_have_url(re.compile(r"/dashboard/endpoints/e/shop/search"))
    page.wait_for_function("document.getElementById('endpoint-charts').dataset.drawn === '1'")
    for chart in ("load", "statuses", "version-boxes", "users", "ips", "sunburst"):
        assert page.evaluate(f"window.heronCharts['{chart}'].getOption().series.length") > 0
    # issue 18 #11: status codes by class, never two near-identical purples
    status_colours = page.evaluate("Object.fromEntries(window.heronCharts.statuses.getOption()"
                                   ".series.map(s => [s.name, s.color]))")
    hues = {"2": "hsl(140,", "3": "hsl(215,", "4": "hsl(40,", "5": "hsl(355,"}
    assert status_colours and all(colour.replace(" ", "").startswith(
        hues[code[0]].replace(" ", "")) for code, colour in status_colours.items()), \
        status_colours
    expect(page.locator("#grouped-lines tbody tr")).to_have_count(2)
    page.click("#outliers-table a")
    expect(page.locator("#outlier-stack")).to_contain_text("in search")
    for path, marker in (("endpoints/rules?app=shop", "#rules-table"),
                         ("endpoints/reporting?app=shop&a=1.0&b=2.0", "#reporting-table"),
                         ("endpoints/exceptions?app=shop&window=24h", "[data-fingerprint]"),
                         ("endpoints/profile/shop/prof1", "#profile-tree")):
        page.goto(f"{server.url}/dashboard/{path}")
        expect(page.locator(marker).first).to_be_visible()
    assert page.console_errors == []  # type: ignore[attr-defined]


def record_session(db_url, tmp_path) -> str:  # type: ignore[no-untyped-def]
    """A real session recorded into the test's store; returns its id."""
    import sys

    import heron

    url, prefix = db_url
    heron.init(app="rig-2", database=url, table_prefix=prefix)

    def failing_qc() -> bool:
        return False

    with heron.session(tmp_path / "rig", subject_id="mouse-42", user_id="ana",
                       name="grating", resource_interval=0.2) as s:
        s.log.info("stimulus <b>started</b>")
        s.spawn([sys.executable, "-c", "import time; print('frame 1'); time.sleep(0.6)"])
        s.run_pipeline("post_acquisition", [failing_qc])
        s.note("water <i>level</i> ok")
    assert heron.flush(10)
    return s.id


def test_session_page_draws_its_chart_and_log(page: Page, server: LiveServer, db_url,
                                             tmp_path) -> None:  # type: ignore[no-untyped-def]
    session_id = record_session(db_url, tmp_path)
    log_in(page, server.url, "admin", ADMIN_PASSWORD)
    page.goto(f"{server.url}/dashboard/sessions")
    row = page.locator(f"#sessions-table tr[data-session='{session_id}']")
    expect(row).to_contain_text("mouse-42")
    row.locator("a").click()
    page.wait_for_function("document.getElementById('session-page').dataset.loaded === '1'")
    assert page.evaluate("window.heronSessionChart.getOption().series.length") == 2
    log = page.locator("#session-log")
    expect(log).to_contain_text("stimulus <b>started</b>")  # shown as text, not markup
    expect(log).to_contain_text("frame 1")
    expect(page.locator("#steps-table")).to_contain_text("failing_qc")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_times_are_24_hour_iso_whatever_the_browser_locale(browser, server: LiveServer,  # type: ignore[no-untyped-def]
                                                            store) -> None:
    # issue 18 #9: charts said "02:09 AM" (the browser's locale) while tables said 14:09
    context = browser.new_context(locale="en-US", timezone_id="America/New_York",
                                  viewport={"width": 1280, "height": 800})
    page = context.new_page()
    try:
        store.ingest([ev.Log(app="stroop-online", message="hello", ts=time.time() - 600)])
        log_in(page, server.url, "admin", ADMIN_PASSWORD)
        expect(page.locator("#events-chart canvas")).to_have_count(1)
        afternoon = 1_796_220_000  # 2026-12-02 14:00 UTC
        assert page.evaluate(f"heron.time({afternoon}, 'UTC')") == "2026-12-02 14:00"
        assert page.evaluate(f"heron.time({afternoon}, 'UTC', 'time')") == "14:00"
        assert page.evaluate(f"heron.time({afternoon}, 'UTC', 'short')") == "12-02 14:00"
        labels = page.evaluate("""() => {
            const chart = echarts.getInstanceByDom(document.getElementById('events-chart'));
            return chart.getOption().xAxis[0].data;
        }""")
        assert labels and all(re.fullmatch(r"\d\d:\d\d|\d{4}-\d\d-\d\d", x)
                              for x in labels), labels[:5]
    finally:
        context.close()


def test_the_live_control_shows_only_on_pages_that_update(page: Page, server: LiveServer) -> None:
    # issue 18 #10: a grey "Not live" on every static page read like a fault
    log_in(page, server.url, "admin", ADMIN_PASSWORD)
    expect(page.locator("#heron-live")).to_be_visible()  # the home page polls
    expect(page.locator("#heron-pause")).to_be_visible()
    page.click("text=Users")
    expect(page.locator("#users-table")).to_be_visible()
    expect(page.locator("#heron-live")).to_be_hidden()
    expect(page.locator("#heron-pause")).to_be_hidden()
    assert "Not live" not in page.content()
