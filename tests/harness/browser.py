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
def web_page(browser: Browser) -> Iterator[WatchedPage]:
    """A fresh page at phone width (390 px) in its own browser context."""
    context = browser.new_context(viewport={"width": 390, "height": 800})
    try:
        yield WatchedPage(context.new_page())
    finally:
        context.close()
