"""Zoom by touch on a phone: a finger dragged across a chart, and a pinch.

Touches are sent as a phone's touchscreen sends them (Chrome DevTools
Protocol `Input.dispatchTouchEvent`: touchstart, touchmove, touchend on the
chart), in a context that has touch, at 360 px.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, CDPSession, FloatRect, Page

from telemetry.config import Config
from tests.harness.browser import WatchedPage, line_drawn_at
from tests.harness.server import StartServer
from tests.web.test_page_first_line import fill_history


@pytest.fixture
def touch_phone(browser: Browser) -> Iterator[WatchedPage]:
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, has_touch=True, is_mobile=True
    )
    try:
        yield WatchedPage(context.new_page())
    finally:
        context.close()


def gesture(page: Page, steps: list[list[tuple[float, float]]]) -> None:
    """Fingers down at `steps[0]`, moved through the rest, then lifted."""
    cdp: CDPSession = page.context.new_cdp_session(page)

    def send(kind: str, points: list[tuple[float, float]]) -> None:
        touch: list[dict[str, Any]] = [{"x": x, "y": y, "id": i} for i, (x, y) in enumerate(points)]
        cdp.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": touch})

    send("touchStart", steps[0])
    for points in steps[1:]:
        send("touchMove", points)
    send("touchEnd", [])
    cdp.detach()


def plot_box(page: Page) -> FloatRect:
    """The first chart's plot, scrolled into view (a phone's tiles come first)."""
    over = page.locator("figure.chart .u-over").first
    over.scroll_into_view_if_needed()
    box = over.bounding_box()
    assert box is not None
    return box


def zoomed_span(page: Page) -> float:
    """Seconds across the charts once the view is zoomed."""
    handle = page.wait_for_function(
        "() => { const s = window.telemetryPage.snapshot();"
        " return s.zoom && s.charts.length && s.charts[0].end - s.charts[0].start; }",
        timeout=5000,
    )
    return float(handle.json_value())


def open_hour(start_server: StartServer, page: Page) -> None:
    server = start_server(Config(), [])
    fill_history(server, 3600)
    page.goto(server.url + "?range=1h")
    line_drawn_at(page)


def test_a_finger_dragged_across_a_chart_zooms_to_that_span(
    start_server: StartServer, touch_phone: WatchedPage
) -> None:
    page = touch_phone.page
    open_hour(start_server, page)
    assert "pinch" in page.locator("#hint").inner_text()  # the hint tells what works here
    box = plot_box(page)
    y = box["y"] + box["height"] / 2
    x0, x1 = box["x"] + 0.25 * box["width"], box["x"] + 0.75 * box["width"]
    gesture(page, [[(x0, y)], [((x0 + x1) / 2, y)], [(x1, y)]])
    span = zoomed_span(page)
    assert 0.4 * 3600 < span < 0.6 * 3600, span  # half the plot's width: half the hour
    assert "start=" in page.url and "end=" in page.url
    assert touch_phone.errors == []


def test_a_pinch_zooms_about_the_fingers(
    start_server: StartServer, touch_phone: WatchedPage
) -> None:
    page = touch_phone.page
    open_hour(start_server, page)
    box = plot_box(page)
    y = box["y"] + box["height"] / 2
    mid, w = box["x"] + box["width"] / 2, box["width"]
    # From a fifth of the width apart to three fifths: a third of the span.
    gesture(
        page,
        [
            [(mid - 0.1 * w, y), (mid + 0.1 * w, y)],
            [(mid - 0.2 * w, y), (mid + 0.2 * w, y)],
            [(mid - 0.3 * w, y), (mid + 0.3 * w, y)],
        ],
    )
    span = zoomed_span(page)
    assert 0.25 * 3600 < span < 0.42 * 3600, span
    assert touch_phone.errors == []


def test_a_tap_is_not_a_zoom(start_server: StartServer, touch_phone: WatchedPage) -> None:
    page = touch_phone.page
    open_hour(start_server, page)
    box = plot_box(page)
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    gesture(page, [[(x, y)], [(x + 3, y)]])
    page.wait_for_timeout(300)
    assert not page.evaluate("window.telemetryPage.snapshot().zoom")


def test_what_a_finger_taps_is_44_px_and_legends_fold(
    start_server: StartServer, touch_phone: WatchedPage
) -> None:
    server = start_server(Config(), [])
    fill_history(server, 3600)
    page = touch_phone.page
    page.goto(server.url + "?range=1h")
    line_drawn_at(page)
    sizes = page.evaluate(
        """() => [...document.querySelectorAll("button, td.pick label")]
          .filter((el) => el.offsetParent !== null)
          .map((el) => [el.textContent.trim() || el.className || el.tagName,
                        el.getBoundingClientRect().height, el.getBoundingClientRect().width])"""
    )
    assert sizes, "no buttons found"
    small = [s for s in sizes if s[1] < 44]
    assert small == [], f"tap targets under 44 px tall: {small}"
    legend = page.locator("figure.chart .legend").first
    folded = legend.bounding_box()
    assert folded is not None and folded["height"] <= 42  # two lines at most
    page.locator("figure.chart .more").first.click()
    opened = legend.bounding_box()
    assert opened is not None and opened["height"] > 1.5 * folded["height"]
    assert touch_phone.errors == []
