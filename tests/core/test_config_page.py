"""`[page]`: the page's default range, selection and grouping, checked."""

from __future__ import annotations

import re
from pathlib import Path

from telemetry.config import PAGE_RANGES, Config, PageConfig, parse_config
from telemetry.summary import summarize
from tests.core.test_config import problems

VIEW_JS = Path(__file__).resolve().parents[2] / "web" / "static" / "view.js"


def test_page_defaults_are_the_pages_own() -> None:
    assert parse_config("").page == PageConfig("1h", (), "quantity")


def test_page_reads_range_selection_and_grouping() -> None:
    text = '[page]\nrange = "24h"\nseries = ["kitchen/*", "*/power"]\ngroup = "device"\n'
    assert parse_config(text).page == PageConfig("24h", ("kitchen/*", "*/power"), "device")


def test_page_bad_values_name_key_value_and_what_was_expected() -> None:
    text = '[page]\nrange = "2h"\ngroup = "unit"\nseries = ["a/*", "", 3]\nrnage = "1h"\n'
    assert problems(text) == [
        "page.series[2]: 3 is not a string",
        'page.series[1]: "" is not a glob on series ids of 1 to 256 characters; '
        'expected like "kitchen/*"',
        'page.range: "2h" is not one of "1m", "15m", "1h", "6h", "24h"',
        'page.group: "unit" is not one of "quantity", "device", "none"',
        "page.rnage: unknown key; did you mean 'range'?",
    ]


def test_page_selection_is_bounded_like_a_streams() -> None:
    patterns = ", ".join(f'"s{i}/*"' for i in range(65))
    assert problems(f"[page]\nseries = [{patterns}]\n") == [
        "page.series: 65 patterns; expected at most 64"
    ]


def test_page_ranges_are_the_ones_the_page_offers() -> None:
    found = re.search(r"export const RANGES = Object\.freeze\(\{(.*?)\}\)", VIEW_JS.read_text())
    assert found is not None, "RANGES moved in web/static/view.js"
    assert tuple(re.findall(r'"(\w+)":', found.group(1))) == PAGE_RANGES


def test_check_config_summary_shows_the_page_defaults() -> None:
    config = Config(page=PageConfig("6h", ("kitchen/*",), "none"))
    assert "page: range 6h, series kitchen/*, charts grouped by none" in summarize(config, "c")
    assert "page: range 1h, every series, charts grouped by quantity" in summarize(Config(), "c")
