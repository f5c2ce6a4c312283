"""Per-series filters from `[[series]]` rules, against hand-worked sequences.

The helpers feed a chain readings whose wall-clock `ts` is 1000 + the monotonic
`now`, so a point emitted on a tick shows where on the wall clock it landed.
"""

from __future__ import annotations

import json
import math
from typing import Any

import numpy as np
import pytest

from telemetry import filters
from telemetry.config import FilterSpec, parse_config
from telemetry.errors import ConfigError
from telemetry.filters import Point
from telemetry.quantities import DURATION_FORM

WALL = 1000.0


def chain(*specs: tuple[str, Any]) -> filters.Chain:
    built = filters.build(FilterSpec(name, arg) for name, arg in specs)
    assert built is not None
    return built


def values(c: filters.Chain, inputs: list[float]) -> list[float]:
    """Push `inputs` one a second; the values that came out, in order."""
    out: list[float] = []
    for i, v in enumerate(inputs):
        out += [p.value for p in c.push(WALL + i, v, float(i)) or []]
    return out


def push(c: filters.Chain, now: float, value: float) -> list[Point] | None:
    return c.push(WALL + now, value, now)


# Validation


def test_check_accepts_the_known_filters() -> None:
    for name, arg in [
        ("offset", -0.5),
        ("offset", 2),
        ("multiply", 0.001),
        ("clamp", [-40, 85]),
        ("clamp", [1.5, 1.5]),
        ("calibrate", [[0, 1], [10, 21]]),
        ("calibrate", [[0, 0], [1, 2], [2, 3]]),
        ("range", [0, 100]),
        ("outlier", {"window": 5, "max_deviation": 3.0}),
        ("outlier", {"max_step": 10}),
        ("deadband", 0.5),
        ("deadband", "2%"),
        ("deadband", [0.5, "2%"]),
        ("throttle", "10s"),
        ("throttle", {"window": "1m", "value": "last", "jump": 5.0}),
        ("heartbeat", "60s"),
        ("stale", "5m"),
        ("stale", "auto"),
    ]:
        assert filters.check(name, arg) is None, (name, arg)


def test_check_unknown_filter_lists_the_known_ones() -> None:
    assert filters.check("smooth", "1s") == (
        "unknown filter; expected one of offset, multiply, calibrate, clamp, range, "
        "outlier, deadband, throttle, heartbeat, stale"
    )


@pytest.mark.parametrize("arg", ["1", True, None, [1], math.nan, math.inf, -math.inf])
def test_check_offset_needs_a_finite_number(arg: object) -> None:
    assert filters.check("offset", arg) == f"{json.dumps(arg)} is not a finite number"
    assert filters.check("multiply", arg) == f"{json.dumps(arg)} is not a finite number"


@pytest.mark.parametrize(
    "arg", [[85, -40], [1], [1, 2, 3], (1, 2), [1, "2"], [True, 2], [0, math.nan], 5, None]
)
def test_check_clamp_and_range_need_a_low_high_range(arg: object) -> None:
    expected = f"{json.dumps(arg)} is not a range; expected [low, high] with low <= high"
    assert filters.check("clamp", arg) == expected
    assert filters.check("range", arg) == expected


@pytest.mark.parametrize(
    "arg", [[[0, 1]], [[1, 2], [1, 3]], [[0, 1], [1]], [[0, 1], [1, "2"]], [[0, 1], 5], 3, []]
)
def test_check_calibrate_needs_two_points_with_different_raw_values(arg: object) -> None:
    assert filters.check("calibrate", arg) == (
        f"{json.dumps(arg)} is not a calibration; expected [[raw, true], [raw, true], ...] "
        "with at least two different raw values"
    )


OUTLIER_FORMS = "expected { window = 5, max_deviation = 3.0 } or { max_step = 10.0 }"


@pytest.mark.parametrize(
    ("arg", "problem"),
    [
        (3, f"3 is not a table; {OUTLIER_FORMS}"),
        ({"window": 5}, f"needs one of max_deviation or max_step; {OUTLIER_FORMS}"),
        (
            {"max_step": 1, "max_deviation": 1},
            f"needs one of max_deviation or max_step; {OUTLIER_FORMS}",
        ),
        ({"max_step": -1}, "max_step: -1 is not a number above 0"),
        ({"max_deviation": "3"}, 'max_deviation: "3" is not a number above 0'),
        ({"max_deviation": 3, "window": 1}, "window: 1 is not a whole number from 2 to 1000"),
        ({"max_deviation": 3, "window": 2.5}, "window: 2.5 is not a whole number from 2 to 1000"),
        (
            {"max_step": 1, "size": 3},
            'unknown key "size"; expected window, max_deviation, max_step',
        ),
    ],
)
def test_check_outlier_says_what_is_wrong(arg: object, problem: str) -> None:
    assert filters.check("outlier", arg) == problem


@pytest.mark.parametrize("arg", [0, -1, "x%", "2", "%", "-2%", "nan%", [], [0.5, 0], True])
def test_check_deadband_needs_a_positive_number_or_percentage(arg: object) -> None:
    assert filters.check("deadband", arg) == (
        f"{json.dumps(arg)} is not a deadband; expected a number above 0, "
        'a percentage such as "2%", or both as [0.5, "2%"]'
    )


@pytest.mark.parametrize(
    ("arg", "problem"),
    [
        ("fast", f'"fast" is not {DURATION_FORM}'),
        (10, f"10 is not {DURATION_FORM}"),
        ("0s", '"0s" is out of range; expected from 10ms to 1d'),
        ({"jump": 5}, 'needs a window; expected { window = "10s" }'),
        ({"window": "2d"}, 'window: "2d" is out of range; expected from 10ms to 1d'),
        ({"window": "1s", "value": "median"}, 'value: "median" is not one of "mean", "last"'),
        ({"window": "1s", "jump": 0}, "jump: 0 is not a number above 0"),
        ({"window": "1s", "every": "2s"}, 'unknown key "every"; expected window, value, jump'),
    ],
)
def test_check_throttle_says_what_is_wrong(arg: object, problem: str) -> None:
    assert filters.check("throttle", arg) == problem


@pytest.mark.parametrize(
    ("name", "arg", "problem"),
    [
        ("heartbeat", 60, f"60 is not {DURATION_FORM}"),
        ("heartbeat", "10ms", '"10ms" is out of range; expected from 100ms to 1d'),
        ("stale", "soon", f'"soon" is not {DURATION_FORM}'),
        ("stale", "500ms", '"500ms" is out of range; expected from 1s to 7d'),
    ],
)
def test_check_heartbeat_and_stale_need_a_duration(name: str, arg: object, problem: str) -> None:
    assert filters.check(name, arg) == problem


def test_config_names_the_filter_entry_in_each_problem() -> None:
    text = """
[[series]]
match = "a/*"
filters = [
  { calibrate = [[1, 2]] },
  { outlier = { max_step = 0 } },
  { deadband = "x" },
  { throttle = { window = "1s", value = "max" } },
  { heartbeat = "1 minute" },
  { stale = "0s" },
]
"""
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={})
    assert info.value.problems == [
        "series[0].filters[0].calibrate: [[1, 2]] is not a calibration; expected "
        "[[raw, true], [raw, true], ...] with at least two different raw values",
        "series[0].filters[1].outlier: max_step: 0 is not a number above 0",
        'series[0].filters[2].deadband: "x" is not a deadband; expected a number above 0, '
        'a percentage such as "2%", or both as [0.5, "2%"]',
        'series[0].filters[3].throttle: value: "max" is not one of "mean", "last"',
        f'series[0].filters[4].heartbeat: "1 minute" is not {DURATION_FORM}',
        'series[0].filters[5].stale: "0s" is out of range; expected from 1s to 7d',
    ]


def test_config_keeps_every_new_filter_in_order() -> None:
    text = """
[[series]]
match = "a/*"
filters = [{ calibrate = [[0, 1], [10, 21]] }, { range = [0, 100] }, { throttle = "10s" },
           { heartbeat = "1m" }, { stale = "auto" }]
"""
    (rule,) = parse_config(text, env={}).series
    assert [f.name for f in rule.filters] == [
        "calibrate",
        "range",
        "throttle",
        "heartbeat",
        "stale",
    ]


# Stateless filters


def test_build_without_specs_gives_no_chain() -> None:
    assert filters.build([]) is None
    assert filters.build([FilterSpec("stale", "5m")]) is None


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
    assert values(chain(*specs), [value]) == [pytest.approx(out)]


def test_build_applies_filters_in_order() -> None:
    assert values(chain(("offset", 10), ("clamp", [0, 100])), [95.0]) == [100.0]
    assert values(chain(("clamp", [0, 100]), ("offset", 10)), [95.0]) == [105.0]


def test_build_drops_a_value_that_becomes_non_finite() -> None:
    assert push(chain(("multiply", 1e308)), 0, 10.0) is None
    assert push(chain(("offset", 1e308), ("offset", 1e308)), 0, 1.0) is None


def test_build_clamp_brings_an_overflow_back_into_range_before_the_check() -> None:
    assert values(chain(("multiply", 1e308), ("clamp", [0, 100])), [10.0]) == [100.0]


def test_calibrate_two_points_is_the_exact_line_through_them() -> None:
    # raw 0 reads true 1, raw 10 reads true 21: true = 2 * raw + 1
    assert values(chain(("calibrate", [[0, 1], [10, 21]])), [0, 5, 10, -1]) == [1, 11, 21, -1]


def test_calibrate_three_points_is_the_least_squares_line() -> None:
    # mean raw 1, mean true 5/3; slope = 3 / 2; intercept = 5/3 - 3/2 = 1/6
    out = values(chain(("calibrate", [[0, 0], [1, 2], [2, 3]])), [0, 1, 4])
    assert out == pytest.approx([1 / 6, 5 / 3, 37 / 6])
    slope, intercept = np.polyfit([0, 1, 2], [0, 2, 3], 1)
    assert out == pytest.approx([intercept, slope + intercept, 4 * slope + intercept])


def test_range_drops_values_outside_and_keeps_the_bounds() -> None:
    c = chain(("range", [0, 100]))
    assert values(c, [-1, 0, 50, 100, 101]) == [0, 50, 100]
    assert push(c, 10, 101) is None


# Outliers


def test_outlier_median_window_rejects_far_values_once_the_window_is_full() -> None:
    # window [10, 11, 10] median 10: 20 is 10 away (out), 11 is 1 away (in) -> [11, 10, 11];
    # then median 11: 12 in -> [10, 11, 12]; median 11: 9 is exactly 2 away (in).
    c = chain(("outlier", {"window": 3, "max_deviation": 2}))
    assert values(c, [10, 11, 10, 20, 11, 12, 9]) == [10, 11, 10, 11, 12, 9]


def test_outlier_median_window_accepts_a_real_step_after_a_window_of_rejections() -> None:
    c = chain(("outlier", {"window": 3, "max_deviation": 2}))
    assert values(c, [10, 10, 10, 50, 50, 50, 50, 10]) == [10, 10, 10, 50, 50, 10]


def test_outlier_max_step_rejects_a_jump_from_the_last_accepted_value() -> None:
    # 14 is 4 from 10 (in), 30 is 16 from 14 (out), 15 is 1 from 14 (in), 21 is 6 from 15 (out)
    assert values(chain(("outlier", {"max_step": 5})), [10, 14, 30, 15, 21]) == [10, 14, 15]


# Deadband


def test_deadband_absolute_passes_changes_beyond_the_band_from_the_last_passed() -> None:
    # 20.3 and 20.5 are within 0.5 of 20.0; 20.6 is not; then each moves 0.6
    c = chain(("deadband", 0.5))
    assert values(c, [20.0, 20.3, 20.5, 20.6, 20.0, 19.4]) == [20.0, 20.6, 20.0, 19.4]


def test_deadband_percent_is_relative_to_the_last_passed_value() -> None:
    # 105 is 5% of 100 (held), 111 is 11% (passes); 100 is 9.9% of 111 (held), 89 is 19.8%
    assert values(chain(("deadband", "10%")), [100, 105, 111, 100, 89]) == [100, 111, 89]


def test_deadband_with_both_bands_passes_on_either() -> None:
    # near 2, 10% is 0.2 (percent passes 2.3); near 100, 0.5 is the smaller (absolute passes)
    c = chain(("deadband", [0.5, "10%"]))
    assert values(c, [2.0, 2.1, 2.3, 100.0, 100.4, 100.6]) == [2.0, 2.3, 100.0, 100.6]


# Throttle


def test_throttle_emits_the_window_mean_with_min_and_max_when_the_window_closes() -> None:
    c = chain(("throttle", "10s"))
    assert push(c, 0, 5) == [Point(1000, 5)]  # the first reading passes at once
    assert push(c, 1, 1) == []  # opens the window 1..11: held
    assert push(c, 4, 5) == []
    assert push(c, 7, 0) == []
    assert c.tick(10.9) == []
    # mean 2 of [1, 5, 0], stamped at the last reading's ts + (11 - 7) s
    assert c.tick(11.1) == [Point(1011, 2.0, 0, 5)]
    assert c.tick(30) == []


def test_throttle_last_carries_the_window_last_value() -> None:
    c = chain(("throttle", {"window": "10s", "value": "last"}))
    for now, v in [(0, 5), (1, 1), (4, 5), (7, 0)]:
        push(c, now, v)
    assert c.tick(11) == [Point(1011, 0.0, 0, 5)]


def test_throttle_window_closes_on_the_clock_when_the_source_goes_silent() -> None:
    c = chain(("throttle", "10s"))
    push(c, 0, 5)
    assert push(c, 1, 4) == []
    assert push(c, 2, 6) == []
    # the source says nothing more; ticks alone close the window at 11
    assert c.tick(5) == []
    assert c.tick(11.25) == [Point(1011, 5.0, 4, 6)]
    assert c.tick(100) == []


def test_throttle_a_reading_after_the_window_end_closes_it_first() -> None:
    c = chain(("throttle", "10s"))
    push(c, 0, 5)
    push(c, 1, 2)
    push(c, 3, 4)
    # no tick came between; the window 1..11 closes when the reading at 12 arrives
    assert push(c, 12, 7) == [Point(1011, 3.0, 2, 4)]
    assert c.tick(22) == [Point(1022, 7.0, 7, 7)]


def test_throttle_passes_a_jump_at_once_after_closing_the_open_window() -> None:
    c = chain(("throttle", {"window": "10s", "jump": 5}))
    assert push(c, 0, 20) == [Point(1000, 20)]
    assert push(c, 1, 21) == []
    assert push(c, 2, 22) == []
    assert push(c, 3, 30) == [Point(1003, 21.5, 21, 22), Point(1003, 30)]
    assert push(c, 4, 31) == []  # 1 from 30: held in the next window
    assert c.tick(14) == [Point(1014, 31.0, 31, 31)]


def test_throttle_min_max_go_through_later_filters() -> None:
    c = chain(("throttle", "10s"), ("multiply", -2))
    push(c, 0, 1)
    push(c, 1, 1)
    push(c, 2, 3)
    assert c.tick(11) == [Point(1011, -4.0, -6, -2)]


# Heartbeat


def test_heartbeat_repeats_the_last_value_while_the_source_is_quiet() -> None:
    c = chain(("heartbeat", "60s"))
    assert push(c, 0, 5) == [Point(1000, 5)]
    assert c.tick(30) == []
    assert c.tick(60) == [Point(1060, 5)]
    assert c.tick(61) == []
    assert c.tick(120.5) == [Point(1120.5, 5)]


def test_heartbeat_waits_a_full_period_after_real_data() -> None:
    c = chain(("heartbeat", "60s"))
    push(c, 0, 5)
    assert c.tick(60) == [Point(1060, 5)]
    assert push(c, 90, 6) == [Point(1090, 6)]
    assert c.tick(120) == []  # 60 s after the last beat, but only 30 s after real data
    assert c.tick(149) == []
    assert c.tick(150) == [Point(1150, 6)]


def test_heartbeat_after_a_throttle_repeats_the_window_point() -> None:
    c = chain(("throttle", "10s"), ("heartbeat", "60s"))
    push(c, 0, 5)
    push(c, 1, 7)
    assert c.tick(11) == [Point(1011, 7.0, 7, 7)]
    assert c.tick(70) == []
    assert c.tick(71) == [Point(1071, 7.0)]


def test_chain_push_says_dropped_apart_from_held() -> None:
    c = chain(("range", [0, 10]), ("throttle", "10s"))
    assert push(c, 0, 5) == [Point(1000, 5)]
    assert push(c, 1, 50) is None  # dropped by range
    assert push(c, 2, 6) == []  # held by the throttle window
