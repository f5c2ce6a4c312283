"""The first line on a phone: drawn within a second of opening the page, and within
half a second of a range button.

The redraw schedule waits half a pixel bucket between draws (at 1 h on a phone,
5 s); a chart with nothing on it yet, or one whose range a button just changed,
is not a redraw and must not wait for that.

The time is taken in the page, as the benchmark takes it (`bench.browser_pages`'
probe, injected before the page's scripts): `performance.now()` at uPlot's
first draw with two points of one series in view, counted from the navigation's
start, or from the click (the event's own timestamp).  A chart held back by the
schedule comes 4-5 s late; on a loaded 2-core machine an honest page can lose a
few hundred milliseconds to a busy core now and then, so each bound must hold
in the best of `TRIES` fresh attempts (a late page is late in every one of them).
Then the canvas itself is read: a line of the first series' colour is on it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, ViewportSize

from bench.browser_pages import PROBE_JS, first_line_ms, wait_first_line
from telemetry.config import Config
from telemetry.model import RawMessage, Route
from tests.harness.browser import LINE_PIXELS, WatchedPage
from tests.harness.server import RunningServer, StartServer

ROUTE = Route("test", "mqtt", "number", template="{device}/{sensor...}")
SERIES = tuple(f"room{n}/{what}" for n in range(4) for what in ("temperature", "humidity"))
STEP = 4.0  # s between history points: 900 a series over the hour (the inbox holds 10,000)
PHONE: ViewportSize = {"width": 360, "height": 740}
TRIES = 3
# The button pressed on the page at 1 h in each try: its label and its span (s).
BUTTONS = (("15 min", 900), ("1 min", 60), ("15 min", 900))
OPEN_MS = 1000.0  # navigation start -> the first line
BUTTON_MS = 500.0  # click -> the line of the new range

A_LINE = 100


def reading(n: int, sid: str, t: float) -> RawMessage:
    return RawMessage(ROUTE, sid, f"{20.0 + n + (t % 300) / 100:.2f}".encode(), t)


def fill_history(server: RunningServer, span: float) -> None:
    """`span` seconds of points every STEP s for each of SERIES, ingested before return."""
    now = time.time()
    msgs: list[RawMessage] = []
    t = last = now - span + STEP
    while t < now:
        last = t
        msgs.extend(reading(n, sid, t) for n, sid in enumerate(SERIES))
        t += STEP
    server.runtime.inbox.put_many(msgs)
    deadline = time.monotonic() + 20
    store = server.runtime.pipeline.store
    while not all((s := store.get(sid)) is not None and s.entry.last_ts >= last for sid in SERIES):
        assert time.monotonic() < deadline, "the history was not ingested within 20 s"
        time.sleep(0.05)


@pytest.fixture
def filled(start_server: StartServer) -> Iterator[RunningServer]:
    """A server with an hour of history, and a point every STEP s from then on: the
    series stay live (a stale series is drawn grey, which the canvas check would miss)."""
    server = start_server(Config(), [])
    fill_history(server, 3600)
    stop = threading.Event()

    def feed() -> None:
        while not stop.wait(STEP):
            now = time.time()
            server.runtime.inbox.put_many([reading(n, sid, now) for n, sid in enumerate(SERIES)])

    thread = threading.Thread(target=feed, name="test-live-readings")
    thread.start()
    try:
        yield server
    finally:
        stop.set()
        thread.join(10)


@pytest.fixture
def phones(browser: Browser) -> Iterator[list[BrowserContext]]:
    """Fresh phone-sized contexts (no cache), the probe in each; closed afterwards."""
    made: list[BrowserContext] = []
    try:
        for _ in range(TRIES):
            context = browser.new_context(viewport=PHONE)
            context.add_init_script(PROBE_JS)
            made.append(context)
        yield made
    finally:
        for context in made:
            context.close()


def assert_a_line_is_on_the_canvas(page: Page) -> None:
    page.wait_for_function(f"() => ({LINE_PIXELS})() >= {A_LINE}", polling=50, timeout=5_000)


def open_phone(context: BrowserContext, url: str) -> tuple[WatchedPage, float]:
    """The page at `url`; ms from the navigation's start to its first line."""
    watched = WatchedPage(context.new_page())
    watched.page.goto(url, wait_until="commit")
    wait_first_line(watched.page)
    first = first_line_ms(watched.page)
    assert first is not None
    return watched, first


def test_the_first_line_is_drawn_within_a_second_of_opening_the_page_on_a_phone(
    filled: RunningServer, phones: list[BrowserContext]
) -> None:
    took = []
    for context in phones:
        watched, first = open_phone(context, filled.url + "?range=1h")
        took.append(first)
        assert_a_line_is_on_the_canvas(watched.page)
        assert watched.errors == []
        if first <= OPEN_MS:
            break
    # Held back by the redraw schedule, it came 5 s after the navigation.
    assert min(took) <= OPEN_MS, f"the first line came {took} ms after the page opened"


def test_the_line_is_back_within_half_a_second_of_a_range_button(
    filled: RunningServer, phones: list[BrowserContext]
) -> None:
    took = []
    for context, (label, want) in zip(phones, BUTTONS, strict=True):
        watched, _ = open_phone(context, filled.url + "?range=1h")
        page = watched.page
        # Just after a redraw: at 1 h on a phone the next one is not due for 5 s.
        draws = page.evaluate("() => window.__draws")
        page.wait_for_function(f"() => window.__draws > {draws}", timeout=15_000)
        page.evaluate("() => { window.__armOnClick = true; }")
        page.get_by_role("button", name=label, exact=True).click()
        page.wait_for_function("() => window.__lineAt !== null", timeout=15_000)
        took.append(page.evaluate("() => window.__lineAt - window.__clickAt"))
        spans = page.evaluate(
            "() => window.telemetryPage.snapshot().charts.map((c) => c.end - c.start)"
        )
        assert spans and all(abs(s - want) < 2 for s in spans), spans
        assert_a_line_is_on_the_canvas(page)
        assert watched.errors == []
        if took[-1] <= BUTTON_MS:
            break
    # Held back by a draw timer already pending, it came 4-5 s after the click.
    assert min(took) <= BUTTON_MS, f"the line came back {took} ms after the click"
