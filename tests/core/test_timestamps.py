"""Device times in ISO 8601 text: zone-less ones are in the given time zone."""

from __future__ import annotations

import datetime as dt
import zoneinfo

from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.normalize.timestamps import parse_iso

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
    when = when.replace(microsecond=0)
    text = when.isoformat(timespec="seconds")
    berlin = zoneinfo.ZoneInfo("Europe/Berlin")
    assert parse_iso(text, "Europe/Berlin") == when.replace(tzinfo=berlin).timestamp()


def test_text_that_is_not_an_iso_time_or_an_unknown_zone_gives_none() -> None:
    assert parse_iso("yesterday", "UTC") is None
    assert parse_iso("2024-13-01T00:00:00", "UTC") is None
    assert parse_iso("2024-05-01T12:00:00", "Nowhere/Special") is None
