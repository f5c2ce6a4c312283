"""The README's pictures: the demo on a phone and on a desktop, as it is now.

`TELEMETRY_README_PICTURES=1 pytest tests/web/test_readme_pictures.py` writes
them to `docs/` (the README shows those files); without it they go to
`artifacts/screenshots/`, and the test checks what a person would: every chart
has a title in words (no "no unit", no bare numbers), the phone starts with
tiles, nothing is wider than the screen.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ViewportSize

from simulators.inprocess import SimulatedSource, demo_sensors
from telemetry.config import Config
from telemetry.demo import demo_config
from telemetry.server import build_sources
from tests.harness.browser import WatchedPage
from tests.harness.parts import find_program
from tests.harness.server import StartServer
from tests.web.test_charts import ARTIFACTS

DOCS = Path(__file__).resolve().parents[2] / "docs"
README = Path(__file__).resolve().parents[2] / "README.md"


def test_the_readme_shows_the_pictures_this_test_makes() -> None:
    text = README.read_text(encoding="utf-8")
    for name in ("phone.png", "desktop.png"):
        assert f"](docs/{name})" in text, name
        assert (DOCS / name).stat().st_size > 20_000, name


@pytest.mark.broker
@pytest.mark.parametrize(
    ("name", "size"),
    [
        ("phone", ViewportSize(width=360, height=740)),
        ("desktop", ViewportSize(width=1280, height=800)),
    ],
)
def test_the_demo_as_a_person_sees_it(
    start_server: StartServer, browser: Browser, tmp_path: Path, name: str, size: ViewportSize
) -> None:
    find_program("mosquitto", "/usr/sbin", hint="sudo apt-get install mosquitto")
    with contextlib.ExitStack() as stack:
        config = demo_config(Config(), stack, tmp_path)
        # As `telemetry demo` runs: the readers its config names, and the in-process sensors.
        server = start_server(
            config, [*build_sources(config), SimulatedSource("demo", demo_sensors())]
        )
        pictures = bool(os.environ.get("TELEMETRY_README_PICTURES"))
        time.sleep(40 if pictures else 6)  # a few readings from every device (more for a picture)
        context = browser.new_context(viewport=size, color_scheme="light")
        try:
            page = context.new_page()
            watched = WatchedPage(page)
            page.goto(server.url + "?range=1m")
            page.locator("#status.live").wait_for(timeout=10_000)
            page.wait_for_function(
                "() => window.telemetryPage.snapshot().charts.length > 5", timeout=10_000
            )
            time.sleep(2)
            titles = page.locator("figure.chart .chart-title").all_inner_texts()
            for title in titles:
                assert "no unit" not in title, title
                assert re.search(r"[A-Za-z]{3}", title), title  # words, never "0, 1, 2"
            assert page.evaluate("document.documentElement.scrollWidth") <= size["width"]
            if name == "phone":
                tiles = page.locator("#now").bounding_box()
                assert tiles is not None and tiles["y"] < size["height"] / 2
            folder = (
                DOCS if os.environ.get("TELEMETRY_README_PICTURES") else ARTIFACTS / "screenshots"
            )
            folder.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=folder / f"{name}.png")
            assert watched.errors == []
        finally:
            context.close()
