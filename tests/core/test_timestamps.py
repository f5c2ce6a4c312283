"""Device times: ISO 8601 text (zone-less ones in the given time zone), epoch numbers
in s, ms, µs or ns, as numbers or text, and the reasons one is not used."""

from __future__ import annotations

import datetime as dt
import math
import zoneinfo
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.normalize.timestamps import LOCAL, ClockPolicy, device_time, parse_iso

TIMES = st.datetimes(min_value=dt.datetime(1000, 1, 1), max_value=dt.datetime(9999, 12, 30))


@settings(max_examples=300)
@given(TIMES, st.sampled_from(["seconds", "milliseconds", "microseconds"]))
def test_a_zone_less_time_in_utc_is_the_same_instant_as_with_its_zone_stated(
    when: dt.datetime, spec: str
) -> None:
    text = when.isoformat(timespec=spec)
    stated = dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC).timestamp()
    assert parse_iso(text, "UTC") == stated
    assert parse_iso(text, "utc") == stated
    assert parse_iso(text + "Z", "Europe/Berlin") == stated
    assert parse_iso(text + "+00:00", "Asia/Tokyo") == stated


@settings(max_examples=100)
@given(TIMES)
def test_a_zone_less_time_elsewhere_is_read_in_that_zone(when: dt.datetime) -> None:
    # Text has no `fold`: a time the clock skips or repeats reads as fold 0 does.
    when = when.replace(microsecond=0, fold=0)
    text = when.isoformat(timespec="seconds")
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert parse_iso(text, "Europe/Berlin") == when.replace(tzinfo=berlin).timestamp()


def test_text_that_is_not_an_iso_time_or_an_unknown_zone_gives_none() -> None:
    assert parse_iso("yesterday", "UTC") is None
    assert parse_iso("2024-13-01T00:00:00", "UTC") is None
    assert parse_iso("2024-05-01T12:00:00", "Nowhere/Special") is None


class Text(str):
    """A subclass of str, as a decoder other than json's might give."""


RECV = 1_700_000_000.0  # 2023-11-14T22:13:20Z


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, (None, None)),
        (1_699_999_500, (1_699_999_500.0, None)),
        (1_699_999_500_500, (1_699_999_500.5, None)),  # ms
        (1_699_999_500.25, (1_699_999_500.25, None)),
        (" 1699999500 ", (1_699_999_500.0, None)),  # text
        ("1699999500000000", (1_699_999_500.0, None)),  # µs as text
        ("2023-11-14T22:05:00", (1_699_999_500.0, None)),  # zone-less: UTC here
        ("2023-11-14T22:05:00Z", (1_699_999_500.0, None)),
        ("2023-11-14t22:05:00z", (1_699_999_500.0, None)),
        ("2023-11-14T23:05:00+01:00", (1_699_999_500.0, None)),
        (Text("2023-11-14T22:05:00"), (1_699_999_500.0, None)),
        (True, (None, "bad_time")),
        (False, (None, "bad_time")),
        ([1_699_999_000], (None, "bad_time")),
        ("", (None, "bad_time")),
        ("soon", (None, "bad_time")),
        ("2023-13-14T22:00:00", (None, "bad_time")),
        ("12:00:00", (None, "bad_time")),
        (math.nan, (None, "bad_time")),
        (math.inf, (None, "bad_time")),
        (10**400, (None, "bad_time")),
        (0, (None, "clock_unsynced")),
        ("1990-01-01T00:00:00Z", (None, "clock_unsynced")),
        (RECV + 601, (None, "clock_ahead")),
        (RECV + 599, (RECV + 599, None)),
        (RECV - 599, (RECV - 599, None)),
        (RECV - 601, (None, "clock_behind")),
        ("2023-11-14T17:13:20", (None, "clock_behind")),  # five hours behind, read as UTC
    ],
)
def test_device_time_reads_numbers_and_text_and_says_why_not(
    value: object, expected: tuple[float | None, str | None]
) -> None:
    assert device_time(value, RECV, ClockPolicy(max_skew=600.0, timezone="UTC")) == expected


def test_device_time_reads_zone_less_text_in_the_zone_given() -> None:
    policy = ClockPolicy(timezone="Europe/Berlin")
    assert device_time("2023-11-14T23:05:00", RECV, policy) == (1_699_999_500.0, None)
    assert device_time("2023-11-14T22:05:00", RECV, policy, "utc") == (1_699_999_500.0, None)
    assert device_time("2023-11-14T22:05:00", RECV, policy, "Mars/Olympus") == (None, "bad_time")


def test_zone_less_times_are_read_in_the_machines_zone_by_default(
    machine_zone: Callable[[str], None],
) -> None:
    machine_zone("America/New_York")
    # 17:05 in New York (EST, UTC-5) on 14 November 2023 is 22:05 UTC.
    assert ClockPolicy().timezone == LOCAL
    assert device_time("2023-11-14T17:05:00", RECV, ClockPolicy()) == (1_699_999_500.0, None)
    assert parse_iso("2024-07-01T08:00:00", LOCAL) == 1_719_835_200.0  # EDT, UTC-4
    # The same text read as UTC is five hours ahead of the receive time.
    assert device_time("2023-11-14T17:05:00", RECV + 5 * 3600, ClockPolicy(), "UTC") == (
        None,
        "clock_behind",
    )
