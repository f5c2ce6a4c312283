"""The page in a real headless Chromium, against a real server fed by simulators."""

from __future__ import annotations

import time

from simulators import signals
from simulators.inprocess import SimSensor, SimulatedSource
from telemetry.config import Config
from telemetry.model import RawMessage, Route
from tests.harness.browser import WatchedPage
from tests.harness.server import StartServer


def _row_value(web_page: WatchedPage, series: str) -> str:
    return web_page.page.locator(f'tr[data-series="{series}"] td.value').inner_text()


def test_page_shows_every_series_live_with_its_unit(
    start_server: StartServer, web_page: WatchedPage
) -> None:
    source = SimulatedSource(
        "sim",
        [
            SimSensor("greenhouse", "temperature", "°C", 0.1, signals.sawtooth(10.0, 30.0, 7.0)),
            SimSensor("workshop", "power", "W", 0.1, signals.sawtooth(0.0, 1000.0, 3.0)),
        ],
    )
    server = start_server(Config(), [source])
    page = web_page.page
    page.goto(server.url)
    temperature = page.locator('tr[data-series="greenhouse/temperature"]')
    temperature.locator("td.value").filter(has_text="1").or_(
        temperature.locator("td.value").filter(has_text="2")
    ).wait_for(timeout=2000)
    assert temperature.locator("td.unit").inner_text() == "°C"
    assert page.locator('tr[data-series="workshop/power"] td.unit').inner_text() == "W"
    assert page.locator("#status").inner_text() == "live"
    first = _row_value(web_page, "workshop/power")
    # At 1 h (the default) on a phone the list is rewritten with the charts, every 5 s.
    deadline = time.monotonic() + 8
    while _row_value(web_page, "workshop/power") == first and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _row_value(web_page, "workshop/power") != first, "the value did not change"
    assert page.locator("section.device .device-name").all_inner_texts() == [
        "greenhouse",
        "workshop",
    ]
    assert web_page.errors == []


def test_page_shows_hostile_device_names_as_text(
    start_server: StartServer, web_page: WatchedPage
) -> None:
    server = start_server()
    page = web_page.page
    page.goto(server.url)
    page.locator("#status").filter(has_text="live").wait_for(timeout=2000)
    hostile = '<img src=x onerror="document.title=1">'
    route = Route("evil", "mqtt", "number", template="{device}/{sensor...}")
    server.runtime.inbox.put(RawMessage(route, f"{hostile}/<b>t</b>", b"7.25", time.time()))
    page.locator("section.device .device-name").wait_for(timeout=2000)
    assert page.locator("section.device .device-name").inner_text() == hostile
    assert page.locator("td.sensor").inner_text() == "<b>t</b>"
    assert page.locator("img").count() == 0 and page.locator("b").count() == 0
    assert page.title() == "Telemetry"
    assert web_page.errors == []
