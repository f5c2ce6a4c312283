"""One-line, escaped log records, and rate-limited repeating errors."""

from __future__ import annotations

import logging
import sys
import time

import pytest

from telemetry.logs import OneLineFormatter, RateLimitedLog, escape


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("a\nb", "a\\nb"),
        ("a\rb", "a\\rb"),
        ("\x1b[31mred\x1b[0m", "\\x1b[31mred\\x1b[0m"),
        ("nul\x00", "nul\\x00"),
        ("tab\tx", "tab\\tx"),
        ("del\x7f", "del\\x7f"),
        ("csi\x9b", "csi\\x9b"),
        ("ls\u2028ps\u2029", "ls\\u2028ps\\u2029"),
    ],
)
def test_escape_makes_control_characters_visible(text: str, shown: str) -> None:
    assert escape(text) == shown


@pytest.mark.parametrize("text", ["plain", "kitchen/temp °C", "ünïcode µg/m³", "", "back\\slash"])
def test_escape_leaves_printable_text_alone(text: str) -> None:
    assert escape(text) == text


def make_record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise RuntimeError("boom\nsecond line")
        except RuntimeError:
            exc_info = sys.exc_info()
    return logging.LogRecord("telemetry.test", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_one_line_formatter_keeps_a_forged_line_on_one_line() -> None:
    record = make_record(
        "device %s said %r\nWARNING fake: line", "evil\r\nINFO forged", "\x1b[2J\x1b[31mred"
    )
    line = OneLineFormatter("%(levelname)s %(name)s: %(message)s").format(record)
    assert "\n" not in line
    assert "\r" not in line
    assert "\x1b" not in line
    assert line.startswith("WARNING telemetry.test: device evil\\r\\nINFO forged said ")
    assert "\\nWARNING fake: line" in line


def test_one_line_formatter_puts_a_traceback_on_the_same_line() -> None:
    line = OneLineFormatter("%(message)s").format(make_record("failed", exc=True))
    assert len(line.splitlines()) == 1
    assert line.startswith("failed\\nTraceback")
    assert "RuntimeError: boom\\nsecond line" in line


LOGGER = "tests.core.ratelimit"


def test_rate_limited_log_holds_back_repeats_and_says_how_many(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    limited = RateLimitedLog(logging.getLogger(LOGGER), interval=0.05)
    limited.warning("not_utf8", "rejected %s", "one")
    limited.warning("not_utf8", "rejected %s", "two")
    limited.warning("not_utf8", "rejected %s", "three")
    assert caplog.messages == ["rejected one"]
    time.sleep(0.06)
    limited.warning("not_utf8", "rejected %s", "four")
    assert caplog.messages == ["rejected one", "rejected four (and 2 more like it)"]


def test_rate_limited_log_keys_are_limited_separately(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    limited = RateLimitedLog(logging.getLogger(LOGGER), interval=60.0)
    limited.info("empty", "empty payload")
    limited.info("not_utf8", "bad bytes")
    limited.info("empty", "empty payload")
    assert caplog.messages == ["empty payload", "bad bytes"]


def test_rate_limited_log_after_a_quiet_interval_adds_no_count(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=LOGGER)
    limited = RateLimitedLog(logging.getLogger(LOGGER), interval=0.02)
    limited.info("k", "first")
    time.sleep(0.03)
    limited.info("k", "second")
    assert caplog.messages == ["first", "second"]
    assert [r.levelno for r in caplog.records] == [logging.INFO, logging.INFO]


def test_rate_limited_log_below_the_logger_level_holds_nothing_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger=LOGGER)
    limited = RateLimitedLog(logging.getLogger(LOGGER), interval=60.0)
    limited.info("k", "quiet")
    limited.warning("k", "loud")
    assert caplog.messages == ["loud"]
