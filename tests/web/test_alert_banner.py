"""Alerts on the page: the banner, the series marked, a browser notification.

A real server with an `[[alert]]` rule, readings put in as a reader would, and
headless Chromium.  The notification is observed by wrapping the page's own
`Notification` (permission granted to the context as a user would grant it).
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from telemetry.config import parse_config
from tests.harness.browser import WatchedPage
from tests.harness.server import RunningServer, StartServer
from tests.web.test_chart_marks import ingest
from tests.web.test_charts import ARTIFACTS

RULE = """
[[series]]
match = "plug/power"
unit = "W"

[[alert]]
name = "plug-overload"
match = "plug/power"
above = 2000
clear = 1800
"""

# Every notification the page makes, kept where the test can read it.
RECORD_NOTIFICATIONS = """
(() => {
  const Real = window.Notification;
  window.__notes = [];
  class Recorded extends Real {
    constructor(title, options) {
      super(title, options);
      window.__notes.push({ title, body: options.body });
    }
  }
  Object.defineProperty(Recorded, "permission", { get: () => Real.permission });
  Recorded.requestPermission = (...a) => Real.requestPermission(...a);
  window.Notification = Recorded;
})();
"""


@pytest.fixture
def notifying(browser: Browser) -> Iterator[WatchedPage]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.grant_permissions(["notifications"])
    context.add_init_script(RECORD_NOTIFICATIONS)
    try:
        yield WatchedPage(context.new_page())
    finally:
        context.close()


def plug(server: RunningServer, watts: float) -> None:
    ingest(server, [("plug/power", time.time(), watts)])


def banner(page: Page) -> list[str]:
    return page.locator("#alerts li").all_inner_texts()


def test_a_firing_alert_is_a_banner_a_marked_series_and_a_notification(
    start_server: StartServer, notifying: WatchedPage
) -> None:
    server = start_server(parse_config(RULE), [])
    plug(server, 450.0)
    page = notifying.page
    page.goto(server.url + "?range=15m")
    page.locator('tr[data-series="plug/power"]').wait_for(timeout=10_000)
    assert page.locator("#alerts").is_hidden()
    plug(server, 2400.0)
    page.locator("#alerts li").first.wait_for(timeout=10_000)
    assert banner(page)[0].startswith("plug-overload: plug/power 2400 W, for ")
    assert "alerting" in (page.locator('tr[data-series="plug/power"]').get_attribute("class") or "")
    chart = page.locator("figure.chart").filter(has=page.locator(".legend li.alerting"))
    assert chart.count() == 1
    page.wait_for_function("() => window.__notes.length === 1")
    note = page.evaluate("window.__notes[0]")
    assert note["title"] == "Alert: plug-overload" and "2400 W" in note["body"]
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "screenshots" / "alert.png")
    # Back under the clear level: the banner goes, the series is unmarked.
    plug(server, 1500.0)
    page.locator("#alerts").wait_for(state="hidden", timeout=10_000)
    assert "alerting" not in (
        page.locator('tr[data-series="plug/power"]').get_attribute("class") or ""
    )
    # A page opened while it fires shows it at once, and notifies nothing (it fired before).
    plug(server, 2600.0)
    second = page.context.new_page()
    second.goto(server.url + "?range=15m")
    second.locator("#alerts li").first.wait_for(timeout=10_000)
    second.wait_for_timeout(500)
    assert second.evaluate("window.__notes.length") == 0
    assert notifying.errors == []


def test_the_page_asks_to_notify_only_from_its_button(
    start_server: StartServer, browser: Browser
) -> None:
    server = start_server(parse_config(RULE), [])
    plug(server, 2400.0)
    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        page = context.new_page()
        asked = []
        page.expose_function("__asked", lambda: asked.append(1))
        page.add_init_script(
            "Notification.requestPermission = () =>"
            " { window.__asked(); return Promise.resolve('default'); };"
        )
        page.goto(server.url)
        page.locator("#alerts li").first.wait_for(timeout=10_000)
        page.wait_for_timeout(300)
        assert asked == []  # never on load
        page.get_by_role("button", name="Notify me").click()
        page.wait_for_function("() => true")
        assert asked == [1]
    finally:
        context.close()
