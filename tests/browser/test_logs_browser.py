"""The Logs and Alerts tabs in a real browser: live tail without reload, pause, hostile
log lines shown as text, and an alert's test message."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from heron import events as ev
from heron.store import Store
from tests.conftest import ADMIN_PASSWORD, LiveServer

pytestmark = pytest.mark.browser


@pytest.fixture
def server(app) -> Iterator[LiveServer]:  # type: ignore[no-untyped-def]
    live = LiveServer(app)
    yield live
    live.stop()


def log_in(page: Page, base: str, target: str) -> None:
    page.goto(f"{base}{target}")
    page.fill("#username", "admin")
    page.fill("#password", ADMIN_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{target}")


def test_new_lines_appear_live_and_pause_holds_them(page: Page, server: LiveServer,
                                                    store: Store) -> None:
    store.ingest([ev.Log(app="shop", level=40, logger="pay", message="card declined #1",
                         request_id="r9"),
                  ev.Log(app="shop", level=20, logger="pay", message="card accepted")])
    log_in(page, server.url, "/dashboard/logs?q=level:error")
    rows = page.locator("#log-lines .heron-logrow")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("card declined #1")
    expect(page.locator("#log-q")).to_have_value("level:error")
    page.evaluate("window.__heronMarker = 'same page'")
    store.ingest([ev.Log(app="shop", level=40, logger="pay", message="card declined #2"),
                  ev.Log(app="shop", level=20, logger="pay", message="not an error")])
    expect(rows.first).to_contain_text("card declined #2", timeout=10_000)
    expect(rows).to_have_count(2)
    assert page.evaluate("window.__heronMarker") == "same page"
    expect(page.locator("#log-new")).to_contain_text("1 new")
    page.click("#heron-pause")
    store.ingest([ev.Log(app="shop", level=50, logger="pay", message="gateway down")])
    page.wait_for_timeout(2500)
    expect(rows).to_have_count(2)  # held while paused
    page.click("#heron-pause")
    expect(rows.first).to_contain_text("gateway down", timeout=10_000)
    page.click('#log-lines a[href$="/dashboard/endpoints/request/r9"]')  # the line's request
    expect(page.locator("#request-log")).to_contain_text("card declined #1")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_hostile_log_lines_render_as_text(page: Page, server: LiveServer,
                                          store: Store) -> None:
    script = '<script>window.__pwned = 1</script>'
    img = '"><img src=x onerror="window.__pwned = 2">'
    store.ingest([ev.Log(app="shop", level=40, logger=img, message=script,
                         exc_text=f"Traceback\n  {img}")])
    log_in(page, server.url, "/dashboard/logs")
    row = page.locator("#log-lines .heron-logrow").first
    expect(row).to_contain_text(script)
    expect(row).to_contain_text(img)
    page.click("#log-lines summary")  # the folded stack trace
    expect(row.locator("pre")).to_contain_text(img)
    store.ingest([ev.Log(app="shop", level=40, logger="x", message=img)])  # via live tail
    expect(page.locator("#log-lines .heron-logrow").first).to_contain_text(img,
                                                                          timeout=10_000)
    assert page.evaluate("window.__pwned") is None
    assert page.locator("#log-lines img, #log-lines script").count() == 0
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_search_errors_and_saving_a_search(page: Page, server: LiveServer,
                                           store: Store) -> None:
    store.ingest([ev.Log(app="shop", level=40, logger="pay", message="card declined")])
    log_in(page, server.url, "/dashboard/logs?q=level:loud")
    expect(page.locator("#log-error")).to_contain_text("is not a level")
    page.fill("#log-q", "declined")
    page.click("#log-search button[type=submit]")
    page.wait_for_url("**/dashboard/logs?q=declined*")
    expect(page.locator("#log-lines .heron-logrow")).to_have_count(1)
    page.click("#save-search summary")
    page.fill("#save-name", "Declines")
    page.click("#save-search button[type=submit]")
    expect(page.locator(".alert-success")).to_contain_text("Saved the search 'Declines'")
    page.goto(f"{server.url}/dashboard/alerts")
    expect(page.locator("#saved-table")).to_contain_text("Declines")
    expect(page.locator("#rule-search")).to_contain_text("Declines")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_alerts_tab_sends_a_test_message(page: Page, server: LiveServer, store: Store) -> None:
    from tests.integration.test_alerts import Receiver

    receiver = Receiver()
    try:
        log_in(page, server.url, "/dashboard/alerts")
        expect(page.locator("#rules-empty")).to_be_visible()
        page.select_option("#rule-kind", "metric")
        expect(page.locator("#rule-search")).to_be_hidden()
        page.fill("#rule-name", "Shop errors")
        page.select_option("#rule-metric", "error_rate")
        page.fill("#rule-app", "shop")
        page.fill("#rule-value", "0.05")
        page.fill("#rule-webhook", receiver.url)
        page.click("#add-rule button[type=submit]")
        row = page.locator('#rules-table tr[data-rule="Shop errors"]')
        expect(row).to_contain_text("error_rate of shop > 0.05")
        expect(row).not_to_contain_text("secretpart")
        row.locator("button[data-action=test]").click()
        expect(page.locator(".alert-success")).to_contain_text("delivered (200)")
        expect(page.locator("#deliveries-table tbody tr")).to_have_count(1)
        assert len(receiver.posts) == 1
    finally:
        receiver.close()
    assert page.console_errors == []  # type: ignore[attr-defined]
