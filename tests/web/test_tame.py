"""Taming the page from the config and from the page itself: display names,
hidden and grouped series, the server's [page] defaults, this browser's last
view, and deleting a series."""

from __future__ import annotations

import json
import time
import urllib.request

from playwright.sync_api import Page

from telemetry.config import Config, PageConfig, SeriesRule
from tests.harness.browser import WatchedPage
from tests.harness.server import RunningServer, StartServer
from tests.web.test_chart_marks import ingest
from tests.web.test_charts import ARTIFACTS

RULES = (
    SeriesRule("shed/temperature", unit="°C", name="Shed"),
    SeriesRule("lab/debug", hide=True),
    SeriesRule("plug/power", unit="W", chart="Plug"),
    SeriesRule("plug/energy", unit="kWh", chart="Plug"),
)


def home(start_server: StartServer, page: PageConfig | None = None) -> RunningServer:
    server = start_server(Config(series=RULES, page=page or PageConfig()), [])
    now = time.time()
    points = []
    for i in range(30):
        t = now - 600 + 20 * i
        points += [
            ("shed/temperature", t, 12 + i / 10),
            ("lab/debug", t, float(i)),
            ("plug/power", t, 100.0 + i),
            ("plug/energy", t, 3 + i / 100),
        ]
    ingest(server, points)
    return server


def catalog_ids(server: RunningServer) -> set[str]:
    with urllib.request.urlopen(server.url.rstrip("/") + "/api/series") as response:
        return {s["id"] for s in json.load(response)["series"]}


def wait_pressed(page: Page, range_: str) -> None:
    page.wait_for_function(
        "(r) => document.querySelector(`button[data-range='${r}']`)"
        ".getAttribute('aria-pressed') === 'true'",
        arg=range_,
    )


def chart_titles(page: Page) -> list[str]:
    return page.locator("figure.chart .chart-title").all_inner_texts()


def test_names_hidden_series_groups_and_the_servers_default_range(
    start_server: StartServer, phone: WatchedPage
) -> None:
    server = home(start_server, PageConfig(range="15m"))
    page = phone.page
    page.goto(server.url)
    page.wait_for_function("() => document.querySelectorAll('figure.chart').length === 2")
    wait_pressed(page, "15m")
    assert sorted(chart_titles(page)) == ["Plug (kWh, W)", "Temperature (°C)"]
    assert "Shed" in page.locator("figure.chart .legend .name").all_inner_texts()
    # The hidden series is listed, not charted, and a tick charts it.
    debug = page.locator('tr[data-series="lab/debug"] input[type=checkbox]')
    assert not debug.is_checked()
    assert page.locator('tr[data-series="shed/temperature"] td.sensor').inner_text() == "Shed"
    debug.check()
    page.wait_for_function("() => document.querySelectorAll('figure.chart').length === 3")
    # Two units on one chart: a second value axis (uPlot draws an axis per scale).
    plug = page.locator("figure.chart").filter(has_text="Plug (kWh, W)")
    assert plug.locator(".u-axis").count() == 3
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "screenshots" / "tamed.png", full_page=True)
    assert phone.errors == []


def test_this_browser_keeps_its_last_view(start_server: StartServer, phone: WatchedPage) -> None:
    server = home(start_server)
    page = phone.page
    page.goto(server.url)
    page.get_by_role("button", name="6 h", exact=True).click()
    page.goto(server.url)  # a bare address: this browser's last view
    wait_pressed(page, "6h")
    assert "range=6h" in page.url
    assert phone.errors == []


def test_a_series_deleted_from_the_page_is_gone_with_its_history(
    start_server: StartServer, phone: WatchedPage
) -> None:
    server = home(start_server)
    page = phone.page
    page.goto(server.url)
    row = page.locator('tr[data-series="lab/debug"]')
    row.wait_for(timeout=10_000)
    assert not row.get_by_role("button", name="delete lab/debug").is_visible()
    page.get_by_role("button", name="Edit").click()
    page.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="delete lab/debug").click()
    row.wait_for(state="detached", timeout=10_000)
    assert "lab/debug" not in catalog_ids(server)
    assert server.runtime.pipeline.store.get("lab/debug") is None
    assert phone.errors == []
