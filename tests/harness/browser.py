"""Headless Chromium from Debian, driven by Playwright (never its own browser download).

The flags (`bench.chromium.CHROMIUM_FLAGS`, shared with the benchmarks) keep
Chromium off the network it cannot reach here: no background networking,
component updates, sync or QUIC probes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from bench.chromium import CHROMIUM_FLAGS, INSTALL_HINT
from tests.harness.parts import find_program


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Debian names it chromium; older Raspberry Pi OS releases chromium-browser.
    executable = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or find_program("chromium", hint=INSTALL_HINT)
    )
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=executable,
            headless=True,
            args=CHROMIUM_FLAGS,
            chromium_sandbox=False,
        )
        try:
            yield browser
        finally:
            browser.close()


class WatchedPage:
    """A page, and the console errors and uncaught exceptions it has shown."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.errors: list[str] = []
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.errors.append(f"uncaught: {exc}"))

    def _console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")


@pytest.fixture
def phone(browser: Browser) -> Iterator[WatchedPage]:
    """A fresh page on a 360x740 phone screen, in its own browser context."""
    context = browser.new_context(viewport={"width": 360, "height": 740})
    try:
        yield WatchedPage(context.new_page())
    finally:
        context.close()


# Pixels at least half covered by a line of the first palette colour (#2f6fde,
# chart.js PALETTE[0]; anti-aliased over white) on the charts' canvases, not
# its faint band, the grid or the labels: a line across a chart has hundreds,
# a dot a handful.
LINE_PIXELS = """() => {
  let n = 0;
  for (const canvas of document.querySelectorAll("figure.chart canvas")) {
    if (!canvas.width || !canvas.height) continue;
    const px = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
    for (let i = 0; i < px.length; i += 4) {
      if (px[i + 3] > 200 && px[i] < 160 && px[i + 2] > 200 && px[i + 2] - px[i] > 60) n += 1;
    }
  }
  return n;
}"""


def line_drawn_at(page: Page, timeout: float = 15_000, pixels: int = 100) -> float:
    """performance.now() (ms since the navigation started) when a line of the
    first palette colour is on a chart (`pixels` of it)."""
    handle = page.wait_for_function(
        f"() => ({LINE_PIXELS})() >= {pixels} ? performance.now() : false",
        polling=25,
        timeout=timeout,
    )
    drawn = handle.json_value()
    assert isinstance(drawn, float | int)
    return float(drawn)


@pytest.fixture
def web_page(browser: Browser) -> Iterator[WatchedPage]:
    """A fresh page at phone width (390 px) in its own browser context."""
    context = browser.new_context(viewport={"width": 390, "height": 800})
    try:
        yield WatchedPage(context.new_page())
    finally:
        context.close()
