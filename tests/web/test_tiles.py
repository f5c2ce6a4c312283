"""A phone's page starts with a tile per sensor (name, value, unit, age, a
sparkline of the range), and a bar jumps between Now, Charts and Sensors; a
desktop keeps its charts and list side by side, without tiles."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser

from telemetry.config import Config, SeriesRule
from telemetry.model import RawMessage, Route
from tests.harness.browser import WatchedPage, line_drawn_at
from tests.harness.server import RunningServer, StartServer
from tests.web.test_chart_marks import ingest
from tests.web.test_charts import ARTIFACTS

SPARK_PIXELS = """(id) => {
  const canvas = document.querySelector(`.tile[data-series="${id}"] canvas`);
  const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 100) n += 1;
  return n;
}"""


@pytest.fixture
def desktop(browser: Browser) -> Iterator[WatchedPage]:
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield WatchedPage(context.new_page())
    finally:
        context.close()


def fill(start_server: StartServer) -> RunningServer:
    server = start_server(Config(series=(SeriesRule("shed/*", unit="°C"),)), [])
    now = time.time()
    ingest(
        server, [("shed/temperature", now - 3600 + 30 * i, 15 + (i % 40) / 10) for i in range(120)]
    )
    route = Route("home", "mqtt", "auto")
    server.runtime.inbox.put_many(
        [
            RawMessage(route, "zigbee2mqtt/door", json.dumps({"contact": on}).encode(), t)
            for t, on in ((now - 1800, False), (now - 720, True))
        ]
    )
    return server


def test_a_phone_sees_tiles_first_and_jumps_between_sections(
    start_server: StartServer, phone: WatchedPage
) -> None:
    server = fill(start_server)
    page = phone.page
    page.goto(server.url + "?range=1h")
    line_drawn_at(page)
    tile = page.locator('.tile[data-series="shed/temperature"]')
    tile.locator(".tile-value").filter(has_text="°C").wait_for(timeout=10_000)
    # The tiles come before any chart, within the first screen.
    box = page.locator("#now").bounding_box()
    chart = page.locator("figure.chart").first.bounding_box()
    assert box is not None and chart is not None
    assert box["y"] < 740 and box["y"] < chart["y"]
    assert tile.locator(".tile-name").inner_text() == "shed · temperature"
    assert tile.locator(".tile-age").inner_text().endswith("ago")
    page.wait_for_function(f"() => ({SPARK_PIXELS})('shed/temperature') > 60")
    # A state's tile: on, and how long since it switched.
    door = page.locator('.tile[data-series="door/contact"]')
    door.locator(".tile-value").filter(has_text="on").wait_for(timeout=10_000)
    # Once its chart's history is in (the tiles are rewritten with the page's text).
    door.locator(".tile-age").filter(has_text="for 12 min").wait_for(timeout=10_000)
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "screenshots" / "phone-now.png")
    # The bar jumps to the list, and its links are finger-sized.
    link = page.locator(".sections a", has_text="Sensors")
    assert (link.bounding_box() or {"height": 0})["height"] >= 44
    link.click()
    page.wait_for_function(
        "() => { const box = document.getElementById('sidebar').getBoundingClientRect();"
        " return location.hash === '#sidebar' && window.scrollY > 0"
        " && (box.top < innerHeight / 2 || box.bottom <= innerHeight + 1); }"
    )
    assert phone.errors == []


def test_a_desktop_keeps_charts_and_list_side_by_side_without_tiles(
    start_server: StartServer, desktop: WatchedPage
) -> None:
    server = fill(start_server)
    page = desktop.page
    page.goto(server.url + "?range=1h")
    line_drawn_at(page)
    assert not page.locator("#now").is_visible()
    assert not page.locator(".sections").is_visible()
    charts = page.locator("#charts").bounding_box()
    sidebar = page.locator("#sidebar").bounding_box()
    assert charts is not None and sidebar is not None
    assert sidebar["x"] > charts["x"] + charts["width"] - 1 and abs(sidebar["y"] - charts["y"]) < 60
    assert desktop.errors == []
