"""Headless Chromium from Debian, driven by Playwright (never its own browser download).

The flags keep Chromium off the network it cannot reach here: no background
networking, component updates, sync or QUIC probes.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright

from tests.harness.parts import find_program

CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
    "--disable-default-apps",
    "--disable-extensions",
    "--metrics-recording-only",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # Debian names it chromium; older Raspberry Pi OS releases chromium-browser.
    executable = (
        shutil.which("chromium")
        or shutil.which("chromium-browser")
        or find_program(
            "chromium", hint="sudo apt-get install chromium (Debian's package; no browser download)"
        )
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
