"""Per-series value filters from `[[series]]` rules."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from telemetry import filters
from telemetry.config import FilterSpec


def chain(*specs: tuple[str, Any]) -> filters.Filter:
    built = filters.build(FilterSpec(name, arg) for name, arg in specs)
    assert built is not None
    return built


def test_check_accepts_the_known_filters() -> None:
    assert filters.check("offset", -0.5) is None
    assert filters.check("offset", 2) is None
    assert filters.check("multiply", 0.001) is None
    assert filters.check("clamp", [-40, 85]) is None
    assert filters.check("clamp", [1.5, 1.5]) is None


def test_check_unknown_filter_lists_the_known_ones() -> None:
    assert filters.check("throttle", "1s") == (
        "unknown filter; expected one of offset, multiply, clamp"
    )


@pytest.mark.parametrize("arg", ["1", True, None, [1], math.nan, math.inf, -math.inf])
def test_check_offset_needs_a_finite_number(arg: object) -> None:
    assert filters.check("offset", arg) == f"{json.dumps(arg)} is not a finite number"
    assert filters.check("multiply", arg) == f"{json.dumps(arg)} is not a finite number"


@pytest.mark.parametrize(
    "arg", [[85, -40], [1], [1, 2, 3], (1, 2), [1, "2"], [True, 2], [0, math.nan], 5, None]
)
def test_check_clamp_needs_a_low_high_range(arg: object) -> None:
    assert filters.check("clamp", arg) == (
        f"{json.dumps(arg)} is not a range; expected [low, high] with low <= high"
    )


def test_build_without_specs_gives_no_filter() -> None:
    assert filters.build([]) is None


@pytest.mark.parametrize(
    ("specs", "value", "out"),
    [
        ((("offset", -0.5),), 21.0, 20.5),
        ((("multiply", 0.1),), 215, 21.5),
        ((("clamp", [-40, 85]),), 120.0, 85.0),
        ((("clamp", [-40, 85]),), -50.0, -40.0),
        ((("clamp", [-40, 85]),), 20.0, 20.0),
    ],
)
def test_build_applies_one_filter(
    specs: tuple[tuple[str, Any], ...], value: float, out: float
) -> None:
    assert chain(*specs)(value) == pytest.approx(out)


def test_build_applies_filters_in_order() -> None:
    offset_then_clamp = chain(("offset", 10), ("clamp", [0, 100]))
    clamp_then_offset = chain(("clamp", [0, 100]), ("offset", 10))
    assert offset_then_clamp(95.0) == 100.0
    assert clamp_then_offset(95.0) == 105.0


def test_build_multiply_then_offset_is_a_linear_calibration() -> None:
    assert chain(("multiply", 1.8), ("offset", 32))(100.0) == pytest.approx(212.0)


def test_build_drops_a_value_that_becomes_non_finite() -> None:
    assert chain(("multiply", 1e308))(10.0) is None
    assert chain(("offset", 1e308), ("offset", 1e308))(1.0) is None


def test_build_clamp_brings_an_overflow_back_into_range_before_the_check() -> None:
    assert chain(("multiply", 1e308), ("clamp", [0, 100]))(10.0) == 100.0
