"""Signal shapes: deterministic per seed, and each one does what its name says."""

from __future__ import annotations

import itertools
import math
import time
from collections.abc import Callable

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from simulators import signals

TIMES = [i * 0.1 for i in range(2000)]  # 200 s at 10 Hz

Shape = Callable[[int], signals.Signal]

SHAPES: dict[str, Shape] = {
    "sine": lambda seed: signals.sine(20.0, 3.0, 60.0, noise=0.5, seed=seed),
    "square": lambda seed: signals.square(0.0, 10.0, 20.0, noise=0.5, seed=seed),
    "random_walk": lambda seed: signals.random_walk(0.0, 100.0, 2.0, seed=seed),
    "steps": lambda seed: signals.steps([1.0, 2.0, 3.0, 4.0], 5.0, seed=seed),
    "drift": lambda seed: signals.drift(10.0, 0.01, wander=0.1, seed=seed),
    "spikes": lambda seed: signals.spikes(signals.constant(0.0), 0.05, 100.0, seed=seed),
    "dropouts": lambda seed: signals.dropouts(signals.sine(0, 1, 10, 0.1, seed), 0.1, 2.0, seed),
    "stuck": lambda seed: signals.stuck(signals.sine(0, 1, 10, 0.1, seed), 0.1, 2.0, seed),
}


def run(signal: signals.Signal, times: list[float] = TIMES) -> list[float | None]:
    return [signal(t) for t in times]


def numbers(values: list[float | None]) -> list[float]:
    return [v for v in values if v is not None]


@pytest.mark.parametrize("shape", sorted(SHAPES))
@settings(max_examples=10, deadline=None)
@given(seed=st.integers(min_value=-(2**40), max_value=2**40))
def test_signal_is_deterministic_per_seed(shape: str, seed: int) -> None:
    make = SHAPES[shape]
    assert run(make(seed), TIMES[:300]) == run(make(seed), TIMES[:300])


@pytest.mark.parametrize("shape", ["sine", "square", "random_walk", "steps", "drift", "spikes"])
def test_signal_differs_between_seeds(shape: str) -> None:
    assert run(SHAPES[shape](1)) != run(SHAPES[shape](2))


@settings(max_examples=50)
@given(
    mean=st.floats(-1e3, 1e3),
    amplitude=st.floats(0, 1e3),
    period=st.floats(0.1, 1e3),
    t=st.floats(0, 1e5),
)
def test_sine_without_noise_stays_within_its_amplitude(
    mean: float, amplitude: float, period: float, t: float
) -> None:
    value = signals.sine(mean, amplitude, period)(t)
    assert value is not None
    assert mean - amplitude - 1e-6 <= value <= mean + amplitude + 1e-6


def test_sine_noise_has_the_requested_deviation() -> None:
    sine = signals.sine(0.0, 0.0, 10.0, noise=2.0, seed=3)
    assert np.std(numbers(run(sine))) == pytest.approx(2.0, rel=0.1)


@settings(max_examples=30)
@given(
    low=st.floats(-100, 100), width=st.floats(0, 100), step=st.floats(0.01, 50), seed=st.integers()
)
def test_random_walk_stays_in_range_and_moves_at_most_a_step(
    low: float, width: float, step: float, seed: int
) -> None:
    values = numbers(run(signals.random_walk(low, low + width, step, seed), TIMES[:200]))
    assert all(low <= v <= low + width for v in values)
    assert all(abs(b - a) <= step + 1e-9 for a, b in itertools.pairwise(values))


def test_square_alternates_between_its_levels() -> None:
    square = signals.square(1.0, 5.0, 10.0)
    assert [square(t) for t in (0.0, 4.9, 5.0, 9.9, 10.0)] == [5.0, 5.0, 1.0, 1.0, 5.0]


def test_steps_hold_one_level_per_period_whatever_the_sampling() -> None:
    levels = [1.0, 2.0, 3.0, 4.0]
    fast, slow = signals.steps(levels, 5.0, seed=9), signals.steps(levels, 5.0, seed=9)
    fast_values = run(fast)
    assert set(numbers(fast_values)) <= set(levels)
    assert len(set(numbers(fast_values))) > 1
    for period in range(0, 200, 5):
        within = {fast_values[i] for i, t in enumerate(TIMES) if period <= t < period + 5}
        assert len(within) == 1
        assert slow(period + 2.5) in within


def test_drift_follows_its_rate() -> None:
    values = numbers(run(signals.drift(10.0, 0.5)))
    slope = np.polyfit(TIMES, values, 1)[0]
    assert slope == pytest.approx(0.5)
    assert values[0] == 10.0


def test_spikes_are_rare_large_excursions() -> None:
    values = numbers(run(SHAPES["spikes"](4)))
    spiking = [v for v in values if v != 0.0]
    assert 0.02 * len(values) < len(spiking) < 0.1 * len(values)
    assert all(50.0 <= abs(v) <= 100.0 for v in spiking)


def gaps(values: list[float | None]) -> list[int]:
    """The lengths of the runs of None."""
    runs, current = [], 0
    for value in values:
        if value is None:
            current += 1
        elif current:
            runs.append(current)
            current = 0
    return runs + ([current] if current else [])


def test_dropouts_make_gaps_of_about_their_length_at_about_their_rate() -> None:
    values = run(signals.dropouts(signals.constant(1.0), rate=0.05, length=2.0, seed=5))
    found = gaps(values)
    # 200 s at 0.05 gaps/s: about 10 gaps (fewer: no gap starts inside one), 1..3 s each.
    assert 4 <= len(found) <= 16
    assert all(10 <= n <= 31 for n in found)  # samples every 0.1 s: 1..3 s
    assert set(numbers(values)) == {1.0}


def test_dropouts_never_with_rate_zero() -> None:
    assert None not in run(signals.dropouts(signals.constant(1.0), rate=0.0, length=1.0))


def test_stuck_repeats_the_last_value_for_a_while() -> None:
    base = signals.sawtooth(0.0, 200.0, 200.0)  # never repeats by itself
    values = numbers(run(signals.stuck(base, rate=0.05, length=2.0, seed=6)))
    repeats = sum(1 for a, b in itertools.pairwise(values) if a == b)
    assert repeats >= 40  # several episodes of 1..3 s
    assert len(values) == len(TIMES)  # stuck, never silent


def test_modifiers_pass_dropouts_through() -> None:
    gappy = signals.dropouts(signals.constant(1.0), rate=0.2, length=1.0, seed=1)
    spiky = signals.spikes(gappy, 0.5, 10.0, seed=1)
    assert None in run(spiky)


def test_burst_is_on_for_its_length_every_period() -> None:
    burst = signals.Burst(every=10.0, length=2.0, factor=5.0, start=1.0)
    assert [burst.active(t) for t in (0.5, 1.0, 2.9, 3.0, 11.5, 13.5)] == [
        False, True, True, False, True, False
    ]  # fmt: skip
    assert burst.interval(1.5, 1.0) == 0.2
    assert burst.interval(5.0, 1.0) == 1.0


@pytest.mark.parametrize(
    ("every", "length", "factor"), [(0.0, 1.0, 2.0), (1.0, 2.0, 2.0), (1.0, 0.5, 0.5)]
)
def test_burst_refuses_an_impossible_schedule(every: float, length: float, factor: float) -> None:
    with pytest.raises(ValueError, match="burst"):
        signals.Burst(every, length, factor)


def test_ticker_ticks_faster_during_a_burst() -> None:
    ticker = signals.Ticker(0.05, burst=signals.Burst(every=10.0, length=0.2, factor=5.0))
    ticks = 0
    while ticker.elapsed() < 0.2:
        time.sleep(ticker.until_next())
        ticks += 1
    assert ticks >= 8  # 0.2 s at 0.01 s, not 4 at 0.05 s


def test_ticker_runs_for_its_duration() -> None:
    ticker = signals.Ticker(0.01, duration=0.05)
    assert ticker.running()
    time.sleep(0.06)
    assert not ticker.running()
    assert math.isclose(ticker.until_next(), 0.0, abs_tol=0.01)
