"""What a chart draws at the edges of its data: value labels of any magnitude in
full, and a value with nothing to join it drawn as a dot.

Read from the canvases themselves, as a user sees them, on a 360 px phone.
"""

from __future__ import annotations

import json
import re
import time

import pytest

from telemetry.config import Config, SeriesRule
from telemetry.model import RawMessage, Route
from tests.harness.browser import LINE_PIXELS, WatchedPage, line_drawn_at
from tests.harness.server import RunningServer, StartServer
from tests.web.test_charts import ARTIFACTS
from tests.web.test_page_first_line import ROUTE

# Pixels drawn in the canvases' first two columns, where a value label starts
# when it is cut off at the chart's left edge (nothing else is drawn there:
# the grid and ticks begin at the plot, right of the labels).
LEFT_EDGE_PIXELS = """() => {
  let n = 0;
  for (const canvas of document.querySelectorAll("figure.chart canvas")) {
    if (!canvas.width || !canvas.height) continue;
    const px = canvas.getContext("2d").getImageData(0, 0, 2, canvas.height).data;
    for (let i = 3; i < px.length; i += 4) if (px[i] > 0) n += 1;
  }
  return n;
}"""


def ingest(server: RunningServer, points: list[tuple[str, float, float]]) -> None:
    """`(series, time, value)` points, stored before return."""
    server.runtime.inbox.put_many(
        [RawMessage(ROUTE, sid, repr(v).encode(), t) for sid, t, v in points]
    )
    store = server.runtime.pipeline.store
    deadline = time.monotonic() + 10
    last = {sid: t for sid, t, _ in points}
    while not all(
        (s := store.get(sid)) is not None and s.entry.last_ts >= t for sid, t in last.items()
    ):
        assert time.monotonic() < deadline, "the points were not stored within 10 s"
        time.sleep(0.05)


@pytest.mark.parametrize("level", [15_000.0, 1_234_567.0, -0.000123])
def test_value_labels_are_never_cut_off_whatever_the_magnitude(
    start_server: StartServer, phone: WatchedPage, level: float
) -> None:
    server = start_server(Config(), [])
    now = time.time()
    # A slow swing of a fifth of the level: labels of the level's magnitude.
    ingest(
        server,
        [
            ("meter/power", now - 3600 + 6 * i, level * (1 + 0.2 * (i % 100) / 100))
            for i in range(600)
        ],
    )
    page = phone.page
    page.goto(server.url + "?range=1h")
    line_drawn_at(page)
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "screenshots" / f"labels-{level:g}.png")
    assert page.evaluate(LEFT_EDGE_PIXELS) == 0, "a value label runs off the chart's left edge"
    assert phone.errors == []


def test_a_lone_point_is_drawn_as_a_dot(start_server: StartServer, phone: WatchedPage) -> None:
    server = start_server(Config(), [])
    # One reading in the hour: no line can be drawn through it.
    ingest(server, [("attic/temperature", time.time() - 1800, 21.5)])
    page = phone.page
    page.goto(server.url + "?range=1h")
    page.wait_for_function(
        "() => window.telemetryPage.snapshot().charts.some((c) => c.rows > 0)", timeout=10_000
    )
    # A 5 px dot: some 15-25 CSS pixels of the series' colour (more at a higher
    # pixel ratio); no line (a line across the chart has hundreds).
    handle = page.wait_for_function(
        f"() => ({LINE_PIXELS})() >= 10 && ({LINE_PIXELS})()", timeout=5000
    )
    page.screenshot(path=ARTIFACTS / "screenshots" / "lone-point.png")
    assert handle.json_value() < 100
    assert phone.errors == []


def test_on_off_states_are_steps_labelled_on_and_off(
    start_server: StartServer, phone: WatchedPage
) -> None:
    server = start_server(Config(), [])
    route = Route("home", "mqtt", "auto")
    now = time.time()
    # A door opened and closed every five minutes for the hour, a window every twenty.
    msgs = [
        RawMessage(
            route,
            f"zigbee2mqtt/{device}",
            f'{{"contact":{json.dumps(bool(i // every % 2))}}}'.encode(),
            now - 3600 + 300 * i,
        )
        for i in range(12)
        for device, every in (("door", 1), ("window", 4))
    ]
    server.runtime.inbox.put_many(msgs)
    page = phone.page
    page.goto(server.url + "?range=1h")
    page.wait_for_function(
        "() => window.telemetryPage.snapshot().charts"
        ".some((c) => c.key.startsWith('st:') && c.rows > 0)",
        timeout=10_000,
    )
    chart = page.locator("figure.chart").filter(has_text="Contact (on/off)")
    assert chart.count() == 1
    # The last readings: the door open (1, drawn as on), the window shut; each
    # in a lane of its own.
    assert chart.locator(".legend .value").all_inner_texts() == ["on", "off"]
    row = page.locator('tr[data-series="door/contact"] td.value').inner_text()
    assert row == "on"
    (ARTIFACTS / "screenshots").mkdir(parents=True, exist_ok=True)
    page.screenshot(path=ARTIFACTS / "screenshots" / "states.png")
    assert phone.errors == []


def test_stats_over_the_range_and_an_energy_meters_use_across_a_reset(
    start_server: StartServer, phone: WatchedPage
) -> None:
    rules = (SeriesRule("plug/*", unit="kWh"), SeriesRule("shed/*", unit="°C"))
    server = start_server(Config(series=rules), [])
    now = time.time()
    # A plug's meter: 0.1 kWh every 5 minutes, reset to zero at the half hour.
    meter = [
        ("plug/energy", now - 3500 + 300 * i, round(10 + 0.1 * i if i < 6 else 0.1 * (i - 6), 3))
        for i in range(12)
    ]
    temperature = [("shed/temperature", now - 3600 + 60 * i, 20.0 + (i % 3)) for i in range(60)]
    ingest(server, meter + temperature)
    page = phone.page
    page.goto(server.url + "?range=1h")
    line_drawn_at(page)
    page.wait_for_function("() => window.telemetryPage.snapshot().charts.length === 2")
    for button in page.locator("figure.chart .more").all():
        button.click()
    stats = dict(
        zip(
            page.locator("figure.chart .legend .name").all_inner_texts(),
            page.locator("figure.chart .legend .stats").all_inner_texts(),
            strict=True,
        )
    )
    # Before the reset 10.0 -> 10.5, after it 0.0 -> 0.5: 1.0 kWh used.
    assert stats["plug / energy"] == "used 1 kWh"
    # 20, 21, 22 in turn: the mean 21 (20 fewer times when the oldest has left the window).
    low, high, mean = re.fullmatch(
        r"min (\S+) · max (\S+) · mean (\S+) °C", stats["shed / temperature"]
    ).groups()  # type: ignore[union-attr]
    assert (low, high) == ("20", "22") and 21 <= float(mean) < 21.05
    page.screenshot(path=ARTIFACTS / "screenshots" / "stats.png")
    assert phone.errors == []


def test_the_sensor_list_keeps_value_unit_and_age_apart(
    start_server: StartServer, phone: WatchedPage
) -> None:
    server = start_server(Config(series=(SeriesRule("*", unit="kWh"),)), [])
    ingest(server, [("plug_with_a_long_name/ENERGY.TotalStartTime.Today", time.time(), 123.642)])
    page = phone.page
    page.goto(server.url + "?range=1h")
    row = page.locator("tr[data-series]").first
    row.locator("td.value").filter(has_text="123.642").wait_for(timeout=10_000)
    gaps = page.evaluate(
        """() => {
          const row = document.querySelector("tr[data-series]");
          const text = (cell) => {
            const range = document.createRange();
            range.selectNodeContents(row.querySelector(cell));
            return range.getBoundingClientRect();
          };
          return [text("td.unit").left - text("td.value").right,
                  text("td.age").left - text("td.unit").right,
                  document.getElementById("sidebar").getBoundingClientRect().right
                    - text("td.age").right];
        }"""
    )
    # "123.642 kWh  now", never "123.642kWhnow": about a space between value
    # and unit, more before the age.
    assert gaps[0] >= 3 and gaps[1] >= 8, gaps
    assert gaps[2] >= 0, "the row runs out of the list"
    sensor = row.locator("td.sensor")
    assert sensor.inner_text() == "ENERGY.TotalStartTime.Today"
    page.screenshot(path=ARTIFACTS / "screenshots" / "list.png")
    assert phone.errors == []
