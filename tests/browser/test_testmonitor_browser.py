"""Issue 21: the Test Monitor tab on seeded builds (the demo's test suite): the builds
chart and table, the slower test flagged first in the comparison, outcome history, the
untested endpoints, and one test's page across builds."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from heron import events as ev
from heron.demo.testsuite import FLAKY, SLOWER, TESTS, DemoTestSuite
from heron.store import Store
from tests.browser.conftest import wide_page
from tests.conftest import LiveServer

pytestmark = [pytest.mark.browser, pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)]


@pytest.fixture
def page(browser: Browser, app, store: Store) -> Iterator[tuple[Page, str]]:  # type: ignore[no-untyped-def]
    suite = DemoTestSuite(lambda e: store.ingest([e]), seed=3)
    suite.history(builds=6)
    now = time.time()  # live traffic: "rate" has no test, "recommend" has two
    store.ingest([ev.Request(app="recommender-api", endpoint=e, duration_ms=5, ts=now - i)
                  for i, e in enumerate(["rate"] * 30 + ["recommend"] * 10)])
    server = LiveServer(app)
    try:
        with wide_page(browser, server.url) as tab:
            yield tab, server.url
    finally:
        server.stop()


def test_the_slower_test_is_flagged_first(page: tuple[Page, str]) -> None:
    tab, base = page
    tab.get_by_role("link", name="Test Monitor").click()
    expect(tab.locator("h1")).to_have_text("Test Monitor")
    expect(tab.locator("#builds-chart")).to_have_attribute("data-drawn", "1")
    expect(tab.locator("#builds-table tbody tr")).to_have_count(6)
    first = tab.locator("#compare-table tbody tr").first
    expect(first).to_have_attribute("data-test", SLOWER)
    expect(first.locator(".badge")).to_have_text("slower")
    expect(tab.locator("#compare-table tbody tr[data-slower]")).to_have_count(1)
    # the flaky build shows in the test's outcome history
    flaky = tab.locator(f'#tests-table tr[data-test="{FLAKY}"] '
                        '.heron-swatch[data-status="failure"]')
    expect(flaky).to_have_count(1)
    expect(tab.locator("#tests-table tbody tr")).to_have_count(len(TESTS))
    expect(tab.locator('#untested-table tr[data-endpoint="rate"]')).to_contain_text("75.0%")
    covered = tab.locator('#covered-table tr[data-endpoint="recommend"]')
    expect(covered).to_contain_text("25.0%")
    covered.locator("summary").click()  # which tests cover it
    expect(covered.locator("li")).to_have_count(2)
    expect(covered.locator("li").first).to_contain_text("test_recommend_")
    # comparing the slower build with itself flags nothing
    newest = tab.locator("#build-b").input_value()
    tab.select_option("#build-a", newest)
    tab.get_by_role("button", name="Compare").click()
    expect(tab.locator("#compare-table tbody tr[data-slower]")).to_have_count(0)
    # one test across builds: its chart and one row per build
    tab.get_by_role("link", name=SLOWER).first.click()
    expect(tab.locator("#test-chart")).to_have_attribute("data-drawn", "1")
    expect(tab.locator("#test-history tbody tr")).to_have_count(6)
    assert tab.evaluate("window.heronTestChart.getOption().series[2].data.length") == 6
