"""Durations and sizes as people write them in a config file."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry.quantities import format_duration, format_size, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("250ms", 0.25),
        ("10s", 10.0),
        ("10m", 600.0),
        ("1h30m", 5400.0),
        ("30d", 30 * 86400.0),
        ("1.5s", 1.5),
        ("500us", 0.0005),
        ("500µs", 0.0005),
        ("0s", 0.0),
    ],
)
def test_parse_duration_reads_number_unit_parts(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize("text", ["  10s  ", "1h 30m", "1 h 30 m", "\t1h30m\n"])
def test_parse_duration_allows_spaces_around_and_between_parts(text: str) -> None:
    expected = 10.0 if "10s" in text else 5400.0
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", "   ", "fast", "10", "-1s", "1x", "1h30", "s", "1.s", "1,5s", "1e3s", "10 sec"]
)
def test_parse_duration_refuses_text_that_is_not_a_duration(text: str) -> None:
    with pytest.raises(ValueError, match=r'a duration such as "250ms"'):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("64KiB", 65536),
        ("64kB", 64000),
        ("64KB", 64000),
        ("1MiB", 1024**2),
        ("1MB", 1000**2),
        ("2GiB", 2 * 1024**3),
        ("512B", 512),
        ("512", 512),
        (" 4 KiB ", 4096),
    ],
)
def test_parse_size_reads_binary_and_decimal_units(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "big", "-1KiB", "1.5MiB", "64kib", "1TB", "KiB", "64 KiB x"])
def test_parse_size_refuses_text_that_is_not_a_size(text: str) -> None:
    with pytest.raises(ValueError, match=r'a size such as "512B"'):
        parse_size(text)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0.1, "100ms"),
        (0.25, "250ms"),
        (1.0, "1s"),
        (90.0, "90s"),
        (600.0, "10m"),
        (5400.0, "90m"),
        (7200.0, "2h"),
        (30 * 86400.0, "30d"),
        (0.0, "0ms"),
    ],
)
def test_format_duration_gives_the_shortest_exact_spelling(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text


@pytest.mark.parametrize(
    ("size", "text"),
    [(65536, "64KiB"), (1024**2, "1MiB"), (3 * 1024**3, "3GiB"), (1536, "1536B"), (0, "0B")],
)
def test_format_size_gives_the_largest_exact_binary_unit(size: int, text: str) -> None:
    assert format_size(size) == text


@given(st.integers(min_value=0, max_value=2**40))
def test_format_size_parses_back_to_the_same_size(size: int) -> None:
    assert parse_size(format_size(size)) == size


@given(
    st.integers(min_value=0, max_value=10_000_000),
    st.sampled_from(["ms", "s", "m", "h", "d"]),
)
def test_format_duration_parses_back_to_the_same_seconds(number: int, unit: str) -> None:
    seconds = parse_duration(f"{number}{unit}")
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds, rel=1e-12)


@pytest.mark.parametrize("text", ["10us", "1us", "15us"])
def test_format_duration_parses_back_for_microseconds(text: str) -> None:
    seconds = parse_duration(text)
    assert parse_duration(format_duration(seconds)) == pytest.approx(seconds)
