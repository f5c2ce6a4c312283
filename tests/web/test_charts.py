"""The charting page in Debian's headless Chromium, against a real server fed by simulators.

What each chart holds is read through `window.telemetryPage.snapshot()` (x of
the first and last drawn point per series, the window); what a user sees
(status, list, legend, buttons) through the DOM.  Screenshots at phone and
desktop sizes go to `artifacts/screenshots/` (or `$TELEMETRY_ARTIFACTS`).
"""

from __future__ import annotations

import csv
import io
import os
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.sync_api import Browser, Dialog, Page, ViewportSize

from simulators import signals
from simulators.inprocess import SimSensor, SimulatedSource
from telemetry.config import Config, FilterSpec, LimitsConfig, SeriesRule
from telemetry.model import RawMessage, Route
from tests.harness.browser import WatchedPage
from tests.harness.server import RunningServer, StartServer
from tests.harness.sse_client import SSEClient

ROUTE = Route("test", "mqtt", "number", template="{device}/{sensor...}")
ARTIFACTS = Path(
    os.environ.get("TELEMETRY_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts")
)


def greenhouse() -> SimulatedSource:
    return SimulatedSource(
        "sim",
        [
            SimSensor("greenhouse", "temperature", "°C", 0.1, signals.sine(21.0, 3.0, 20.0)),
            SimSensor("shed", "temperature", "°C", 0.2, signals.sine(15.0, 2.0, 30.0, seed=2)),
            SimSensor("greenhouse", "humidity", "%", 0.2, signals.sine(60.0, 8.0, 25.0, seed=3)),
        ],
    )


def snapshot(page: Page) -> dict[str, Any]:
    found = page.evaluate("window.telemetryPage.snapshot()")
    assert isinstance(found, dict)
    return found


def wait_live(page: Page, timeout: float = 5000) -> None:
    page.locator("#status.live").wait_for(timeout=timeout)


def wait_drawn_after(page: Page, sid: str, t: float, timeout: float = 3000) -> None:
    """Until a chart holds a point of `sid` later than `t`."""
    page.wait_for_function(
        """([sid, t]) => window.telemetryPage.snapshot().charts.some(
            (c) => c.series[sid] && c.series[sid].last > t)""",
        arg=[sid, t],
        timeout=timeout,
    )


def open_page(
    start_server: StartServer,
    web_page: WatchedPage,
    query: str = "?range=1m",
    history: float = 0.0,
) -> tuple[RunningServer, Page]:
    """A server fed by `greenhouse()` for `history` seconds, the page open on it and live."""
    server = start_server(Config(), [greenhouse()])
    time.sleep(history)
    page = web_page.page
    page.goto(server.url + query)
    wait_live(page)
    return server, page


def put(server: RunningServer, topic: str, value: float, ts: float | None = None) -> None:
    stamp = time.time() if ts is None else ts
    server.runtime.inbox.put(RawMessage(ROUTE, topic, str(value).encode(), stamp))


@pytest.fixture
def dialogs(web_page: WatchedPage) -> Iterator[list[str]]:
    opened: list[str] = []

    def record(dialog: Dialog) -> None:
        opened.append(dialog.message)
        dialog.dismiss()

    web_page.page.on("dialog", record)
    yield opened


def test_page_shows_history_from_before_it_opened_then_live_points(
    start_server: StartServer, web_page: WatchedPage
) -> None:
    server = start_server(Config(), [greenhouse()])
    time.sleep(3)  # three seconds of history before anyone looks
    page = web_page.page
    opened = time.time()
    page.goto(server.url + "?range=1m")
    page.wait_for_function(
        """(opened) => {
            const charts = window.telemetryPage.snapshot().charts;
            return charts.length === 2 && charts.every((c) => Object.values(c.series).every(
                (s) => s.first !== null && s.first < opened - 1.5 && s.last > opened));
        }""",
        arg=opened,
        timeout=2000,
    )
    assert time.time() - opened < 2.5
    charts = {c["key"]: c for c in snapshot(page)["charts"]}
    assert set(charts) == {"u:%:humidity", "u:°C"}
    assert set(charts["u:°C"]["series"]) == {"greenhouse/temperature", "shed/temperature"}
    assert page.locator("figure.chart canvas").count() >= 2
    titles = page.locator("figure.chart .chart-title").all_inner_texts()
    assert sorted(titles) == ["Humidity (%)", "Temperature (°C)"]
    legend = page.locator('figure.chart li[data-series="greenhouse/temperature"] .value')
    assert legend.inner_text().endswith("°C")
    last = charts["u:°C"]["series"]["greenhouse/temperature"]["last"]
    wait_drawn_after(page, "greenhouse/temperature", last + 0.5)
    assert page.locator("#status").inner_text() == "live"
    assert web_page.errors == []


def test_page_reconnects_after_a_server_restart_without_a_reload(
    start_server: StartServer, web_page: WatchedPage
) -> None:
    server, page = open_page(start_server, web_page)
    page.evaluate("window.notReloaded = true")
    page.wait_for_function("() => window.telemetryPage.snapshot().resumable")  # a cursor
    port = server.port
    server.stop()
    page.locator("#status").filter(has_text="reconnecting").wait_for(timeout=5000)
    restarted = start_server(Config(), [greenhouse()], port=port)
    restarted_at = time.time()
    wait_live(page, timeout=15000)
    assert page.evaluate("window.notReloaded") is True
    # Live points from the new server reach the chart (its cursor was reset).
    page.wait_for_function(
        """(t) => window.telemetryPage.snapshot().charts.some((c) =>
            Object.values(c.series).some((s) => s.last !== null && s.last > t))""",
        arg=restarted_at + 0.5,
        timeout=5000,
    )
    assert restarted.runtime.hub.resets["restarted"] >= 1
    # The page's own errors only: Chromium logs each refused connection itself.
    assert [e for e in web_page.errors if "ERR_CONNECTION_REFUSED" not in e] == []


def test_page_recovers_from_a_503_on_events(
    start_server: StartServer, web_page: WatchedPage
) -> None:
    limits = LimitsConfig(max_clients=1, max_clients_per_host=1)
    server = start_server(Config(limits=limits), [greenhouse()])
    page = web_page.page
    with SSEClient(server.url + "events") as holder:  # takes the only slot
        assert holder.status == 200
        statuses: list[int] = []
        page.on("response", lambda r: statuses.append(r.status) if "/events" in r.url else None)
        page.goto(server.url)
        page.locator("#status").filter(has_text="retrying in").or_(
            page.locator("#status").filter(has_text="reconnecting in")
        ).wait_for(timeout=5000)
        assert 503 in statuses
    wait_live(page, timeout=15000)
    page.wait_for_function(
        "() => window.telemetryPage.snapshot().charts.length === 2", timeout=5000
    )
    assert [e for e in web_page.errors if "503" not in e] == []


HOSTILE = [
    ("<img src=x onerror=alert(1)>", "t"),
    ('"><b onmouseover=alert(2)>x', "<script>alert(3)</script>"),
    ("javascript:alert(4)", "<svg onload=alert(5)>"),
    ("\u202eevil", "{{7*7}} x\u200by"),
]


def test_hostile_device_names_are_literal_text_everywhere(
    start_server: StartServer, web_page: WatchedPage, dialogs: list[str]
) -> None:
    server = start_server()
    page = web_page.page
    response = page.goto(server.url)
    assert response is not None
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    wait_live(page)
    for device, sensor in HOSTILE:
        put(server, f"{device}/{sensor}", 1.5)
    page.locator("figure.chart").first.wait_for(timeout=3000)
    page.wait_for_function(
        f"() => document.querySelectorAll('tr[data-series]').length === {len(HOSTILE)}",
        timeout=3000,
    )
    names = page.locator("section.device .device-name").all_inner_texts()
    assert sorted(names) == sorted(d for d, _ in HOSTILE)
    sensors = page.locator("td.sensor").all_inner_texts()
    assert sorted(sensors) == sorted(s for _, s in HOSTILE)
    legend = page.locator("figure.chart .legend .name").all_inner_texts()
    assert sorted(legend) == sorted(f"{d} / {s}" for d, s in HOSTILE)
    assert page.locator("main img, main svg, main script, main b").count() == 0
    time.sleep(0.5)
    assert dialogs == []
    assert page.title() == "Telemetry"
    assert web_page.errors == []


def test_range_buttons_refetch_history_and_the_url_keeps_the_view(
    start_server: StartServer, web_page: WatchedPage
) -> None:
    _server, page = open_page(start_server, web_page, history=1)
    page.wait_for_function("() => window.telemetryPage.snapshot().charts.length === 2")
    for label, span in (("15 min", 900), ("1 h", 3600), ("1 min", 60)):
        with page.expect_request(lambda r: "/api/history" in r.url) as asked:
            page.get_by_role("button", name=label, exact=True).click()
        query = parse_qs(urlsplit(asked.value.url).query)
        assert abs(time.time() - span - float(query["start"][0])) < 5
        assert int(query["points"][0]) >= 4 * 100  # at least four per pixel column
        page.wait_for_function(
            """(span) => window.telemetryPage.snapshot().charts.every(
                (c) => Math.abs(c.end - c.start - span) < 2 && c.series &&
                Object.values(c.series).every((s) => s.last !== null))""",
            arg=span,
            timeout=5000,
        )
        pressed = page.locator('[data-range][aria-pressed="true"]').all_inner_texts()
        assert pressed == [label]
    assert parse_qs(urlsplit(page.url).query)["range"] == ["1m"]
    # The URL gives the same view to whoever opens it: range and selection.
    page.locator('tr[data-series="shed/temperature"] input').uncheck()
    shared = page.url
    assert "series=" in shared
    other = page.context.new_page()
    other.goto(shared)
    other.wait_for_function("() => window.telemetryPage.snapshot().charts.length === 2")
    found = {c["key"]: set(c["series"]) for c in snapshot(other)["charts"]}
    assert found["u:°C"] == {"greenhouse/temperature"}
    assert snapshot(other)["range"] == "1m"
    assert web_page.errors == []


def test_export_downloads_the_points_on_the_charts(
    start_server: StartServer, web_page: WatchedPage
) -> None:
    server = start_server(Config(), [greenhouse()])
    time.sleep(1.5)
    put(server, "lab/=cmd", 7.0)
    page = web_page.page
    page.goto(server.url + "?range=1m")
    wait_live(page)
    page.wait_for_function(
        "() => window.telemetryPage.snapshot().charts.length === 3", timeout=3000
    )
    page.get_by_role("button", name="Pause").click()
    held = snapshot(page)
    with page.expect_download() as downloading:
        page.get_by_role("button", name="Export CSV").click()
    download = downloading.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows, text[:200]
    counted: dict[str, int] = {}
    for row in rows:
        counted[row["series"]] = counted.get(row["series"], 0) + 1
    drawn = {sid: s["points"] for c in held["charts"] for sid, s in c["series"].items()}
    # Paused: the charts hold still, and the file has every point they show.
    assert set(counted) == {sid for sid, n in drawn.items() if n}
    assert counted == {sid: n for sid, n in drawn.items() if n}
    assert [r["sensor"] for r in rows if r["device"] == "lab"] == ["'=cmd"]
    for row in rows:  # every exported point lies in the window shown
        chart = next(c for c in held["charts"] if row["series"] in c["series"])
        t = datetime.fromisoformat(row["time"].replace("Z", "+00:00")).timestamp()
        assert chart["start"] - 0.01 <= t <= chart["end"] + 0.01
    time.sleep(0.5)
    assert snapshot(page)["charts"] == held["charts"]  # paused: nothing moved
    page.get_by_role("button", name="Resume").click()
    (before,) = [
        c["series"]["greenhouse/temperature"]["last"]
        for c in held["charts"]
        if "greenhouse/temperature" in c["series"]
    ]
    wait_drawn_after(page, "greenhouse/temperature", before)
    assert web_page.errors == []


def test_stale_series_are_greyed_in_the_list_and_the_legend(
    start_server: StartServer, web_page: WatchedPage
) -> None:
    rule = SeriesRule("quiet/*", filters=(FilterSpec("stale", "2s"),))
    server = start_server(Config(series=(rule,)), [greenhouse()])
    page = web_page.page
    page.goto(server.url + "?range=1m")
    wait_live(page)
    put(server, "quiet/level", 3.0)
    row = page.locator('tr[data-series="quiet/level"]')
    row.wait_for(timeout=3000)
    assert "stale" not in (row.get_attribute("class") or "")
    page.locator("tr.stale[data-series='quiet/level']").wait_for(timeout=6000)
    page.locator("figure.chart li.stale[data-series='quiet/level']").wait_for(timeout=2000)
    row.locator("td.age").filter(has_text="ago").wait_for(timeout=2000)
    assert page.locator("tr.stale").count() == 1  # the others keep reporting
    put(server, "quiet/level", 4.0)  # back
    page.locator("tr:not(.stale)[data-series='quiet/level']").wait_for(timeout=3000)
    assert web_page.errors == []


@pytest.mark.parametrize(
    ("name", "size", "scheme"),
    [
        ("phone", ViewportSize(width=360, height=740), "light"),
        ("phone-dark", ViewportSize(width=360, height=740), "dark"),
        ("desktop", ViewportSize(width=1280, height=800), "light"),
    ],
)
def test_screenshots_at_phone_and_desktop_sizes(
    start_server: StartServer,
    browser: Browser,
    name: str,
    size: ViewportSize,
    scheme: Any,
) -> None:
    server = start_server(Config(), [greenhouse()])
    time.sleep(2)
    context = browser.new_context(viewport=size, color_scheme=scheme)
    try:
        page = context.new_page()
        watched = WatchedPage(page)
        page.goto(server.url + "?range=1m")
        wait_live(page)
        page.wait_for_function(
            """() => window.telemetryPage.snapshot().charts.length === 2 &&
                window.telemetryPage.snapshot().charts.every((c) => c.rows > 10)""",
            timeout=3000,
        )
        time.sleep(1)
        # Usable at 360 px: nothing wider than the screen.
        overflow = page.evaluate("document.documentElement.scrollWidth")
        assert overflow <= size["width"]
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / "screenshots" / f"{name}.png"
        path.parent.mkdir(exist_ok=True)
        page.screenshot(path=str(path), full_page=True)
        assert path.stat().st_size > 10_000
        assert watched.errors == []
    finally:
        context.close()


def test_dragging_across_a_chart_zooms_in_and_a_double_click_goes_back(
    start_server: StartServer, web_page: WatchedPage
) -> None:
    _server, page = open_page(start_server, web_page, history=2)
    page.wait_for_function("() => window.telemetryPage.snapshot().charts.length === 2")
    over = page.locator("figure.chart .u-over").first
    box = over.bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    with page.expect_request(lambda r: "/api/history" in r.url and "end=" in r.url) as asked:
        page.mouse.move(box["x"] + box["width"] * 0.5, y)
        page.mouse.down()
        page.mouse.move(box["x"] + box["width"] * 0.75, y, steps=5)
        page.mouse.up()
    query = parse_qs(urlsplit(asked.value.url).query)
    span = float(query["end"][0]) - float(query["start"][0])
    assert 10 < span < 20  # a quarter of the minute
    zoom = snapshot(page)["zoom"]
    assert zoom is not None and abs(zoom["end"] - zoom["start"] - span) < 0.01
    assert "start=" in page.url and "end=" in page.url
    assert page.locator("#unzoom").is_visible()
    assert page.locator('[data-range][aria-pressed="true"]').count() == 0
    over.dblclick()
    page.wait_for_function("() => window.telemetryPage.snapshot().zoom === null")
    assert "start=" not in page.url
    assert page.locator('[data-range="1m"]').get_attribute("aria-pressed") == "true"
    assert web_page.errors == []


def test_one_chart_per_series_and_a_band_where_a_point_stands_for_several_readings(
    start_server: StartServer, web_page: WatchedPage
) -> None:
    server = start_server(Config(), [greenhouse()])
    time.sleep(2)
    page = web_page.page
    # 1 h over ~1,200 px: a bucket is ~3 s, thirty readings of a 10 Hz sensor.
    page.goto(server.url + "?range=1h")
    wait_live(page)
    page.wait_for_function(
        """() => window.telemetryPage.snapshot().charts.some((c) =>
            c.series["greenhouse/temperature"] && c.series["greenhouse/temperature"].banded > 0)""",
        timeout=5000,
    )
    page.get_by_label("one chart per series").check()
    page.wait_for_function("() => window.telemetryPage.snapshot().charts.length === 3")
    keys = [c["key"] for c in snapshot(page)["charts"]]
    assert sorted(keys) == [
        "s:greenhouse/humidity",
        "s:greenhouse/temperature",
        "s:shed/temperature",
    ]
    titles = page.locator("figure.chart .chart-title").all_inner_texts()
    assert "shed / temperature (°C)" in titles
    assert "split=1" in page.url
    # At 1 h a split chart's bucket is ~10 s (and drawn at its start): within 30 s.
    wait_drawn_after(page, "shed/temperature", time.time() - 30)
    assert web_page.errors == []


def test_nothing_is_drawn_while_the_tab_is_hidden(
    start_server: StartServer, web_page: WatchedPage
) -> None:
    _server, page = open_page(start_server, web_page)
    wait_drawn_after(page, "greenhouse/temperature", time.time() - 5)
    # What the browser does when the tab goes to the background (headless never does).
    page.evaluate(
        """() => { window.drawn = 0;
            for (const el of document.querySelectorAll("figure.chart")) {
                new MutationObserver(() => { window.drawn += 1; })
                    .observe(el, { attributes: true, attributeFilter: ["data-rows"] });
            }
            Object.defineProperty(document, "hidden", { configurable: true, get: () => true });
            document.dispatchEvent(new Event("visibilitychange")); }"""
    )
    time.sleep(0.3)
    page.evaluate("window.drawn = 0")
    time.sleep(1.5)
    assert page.evaluate("window.drawn") == 0
    page.evaluate(
        """() => {
            Object.defineProperty(document, "hidden", { configurable: true, get: () => false });
            document.dispatchEvent(new Event("visibilitychange")); }"""
    )
    page.wait_for_function("() => window.drawn > 0", timeout=2000)
    wait_drawn_after(page, "greenhouse/temperature", time.time() - 0.5)
    assert web_page.errors == []


def test_series_without_a_unit_share_a_chart_by_what_they_measure(
    start_server: StartServer, web_page: WatchedPage
) -> None:
    server = start_server()
    page = web_page.page
    page.goto(server.url + "?range=1m")
    wait_live(page)
    for topic, value in (
        ("zb0/humidity", 50.0),
        ("zb1/humidity", 55.0),
        ("zb0/voltage", 2995.0),
        ("lab/env.influx0.humidity", 40.0),
    ):
        put(server, topic, value)
    page.wait_for_function(
        "() => document.querySelectorAll('tr[data-series]').length === 4", timeout=3000
    )
    charts = {c["key"]: set(c["series"]) for c in snapshot(page)["charts"]}
    assert charts == {
        "n:humidity": {"zb0/humidity", "zb1/humidity", "lab/env.influx0.humidity"},
        "n:voltage": {"zb0/voltage"},
    }
    titles = page.locator("figure.chart .chart-title").all_inner_texts()
    assert titles == ["Humidity (no unit)", "Voltage (no unit)"]
    assert web_page.errors == []
