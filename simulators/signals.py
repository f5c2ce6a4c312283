"""Signal shapes for simulated sensors, and the clock that paces them.

A `Signal` is a callable of time in seconds (any clock, non-decreasing)
returning a float, or None for "no sample now": a dropout, in which the
device publishes nothing.  Randomness comes from `numpy.random.Generator`s
seeded by the caller, so a seed and a sequence of calls give the same values
every run.  Most shapes keep state (a walk, an episode in progress), so a
signal is meant for one simulated sensor, sampled in time order.

Shapes: `sine`, `square`, `sawtooth`, `random_walk`, `steps`, `drift`,
`constant`.  Modifiers wrap a signal: `spikes` (rare large excursions),
`dropouts` (gaps), `stuck` (the value freezes).  `Burst` is a rate schedule,
not a value shape: `Ticker` takes one and ticks faster while it is on.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

Signal = Callable[[float], float | None]


def generator(seed: int, *stream: int) -> np.random.Generator:
    """A generator for `seed`; `stream` numbers give independent ones for the same seed."""
    # SeedSequence wants non-negative entropy; keep negative seeds distinct from positive ones.
    return np.random.default_rng([seed % 2**64, *stream])


def _noise(rng: np.random.Generator, sigma: float) -> float:
    return float(rng.normal(0.0, sigma)) if sigma > 0 else 0.0


def sine(mean: float, amplitude: float, period: float, noise: float = 0.0, seed: int = 0) -> Signal:
    """`mean + amplitude * sin(2πt/period)`, plus Gaussian noise of deviation `noise`."""
    rng = generator(seed)

    def sample(t: float) -> float:
        return mean + amplitude * math.sin(2 * math.pi * t / period) + _noise(rng, noise)

    return sample


def square(low: float, high: float, period: float, noise: float = 0.0, seed: int = 0) -> Signal:
    """`high` for the first half of each period, `low` for the second, plus noise."""
    rng = generator(seed)

    def sample(t: float) -> float:
        level = high if (t % period) < period / 2 else low
        return level + _noise(rng, noise)

    return sample


def sawtooth(low: float, high: float, period: float) -> Signal:
    """From `low` up to `high` over each period, then back to `low`; no randomness."""
    return lambda t: low + (high - low) * ((t % period) / period)


def constant(value: float) -> Signal:
    return lambda t: value


class RandomWalk:
    """A bounded random walk: each sample moves by at most `step` and stays in range."""

    def __init__(self, low: float, high: float, step: float, seed: int = 0) -> None:
        if not low <= high:
            raise ValueError(f"random walk needs low <= high, got {low} and {high}")
        self.low, self.high, self.step = low, high, step
        self._rng = generator(seed)
        self._value = (low + high) / 2

    def __call__(self, t: float) -> float:
        self._value += float(self._rng.uniform(-self.step, self.step))
        self._value = min(max(self._value, self.low), self.high)
        return self._value


def random_walk(low: float, high: float, step: float, seed: int = 0) -> Signal:
    return RandomWalk(low, high, step, seed)


def steps(levels: Sequence[float], hold: float, noise: float = 0.0, seed: int = 0) -> Signal:
    """One of `levels` for each `hold` seconds, chosen at random per period.

    The level depends only on the seed and the period number, not on how often
    it is sampled, so two sensors sampling at different rates agree.
    """
    if not levels or hold <= 0:
        raise ValueError(f"steps need levels and hold > 0, got {list(levels)} and {hold}")
    choices = list(levels)
    rng = generator(seed)
    cached: dict[int, float] = {}

    def sample(t: float) -> float:
        period = math.floor(t / hold)
        if period not in cached:
            cached.clear()  # only the current period is ever asked for again
            pick = generator(seed, 1, period % 2**64).integers(len(choices))
            cached[period] = choices[int(pick)]
        return cached[period] + _noise(rng, noise)

    return sample


def drift(start: float, rate: float, wander: float = 0.0, seed: int = 0) -> Signal:
    """`start + rate * t` (a sensor ageing, a battery draining), plus an unbounded random walk
    of at most `wander` per sample."""
    rng = generator(seed)
    walked = 0.0

    def sample(t: float) -> float:
        nonlocal walked
        walked += float(rng.uniform(-wander, wander)) if wander > 0 else 0.0
        return start + rate * t + walked

    return sample


def spikes(base: Signal, probability: float, height: float, seed: int = 0) -> Signal:
    """`base`, but a sample is, with `probability`, off by ±(0.5..1)·`height`: a glitch."""
    _check_share("spike probability", probability)
    rng = generator(seed, 2)

    def sample(t: float) -> float | None:
        value = base(t)
        # Draw every time, so the spikes fall in the same places whatever `base` returns.
        hit, size, sign = rng.random(), rng.uniform(0.5, 1.0), rng.choice((-1.0, 1.0))
        if value is None or hit >= probability:
            return value
        return value + float(sign * size) * height

    return sample


class _Episodes:
    """Episodes that begin at random, `rate` per second on average, and last about `length` s.

    Sampled in time order; an episode can only begin between two samples.
    """

    def __init__(self, rate: float, length: float, rng: np.random.Generator) -> None:
        if rate < 0 or length <= 0:
            raise ValueError(f"episodes need rate >= 0 and length > 0, got {rate} and {length}")
        self.rate, self.length, self._rng = rate, length, rng
        self._last: float | None = None
        self._until = -math.inf

    def active(self, t: float) -> bool:
        if t >= self._until and self._last is not None and t > self._last:
            chance = 1.0 - math.exp(-self.rate * (t - self._last))
            if self._rng.random() < chance:
                self._until = t + self.length * float(self._rng.uniform(0.5, 1.5))
        self._last = t
        return t < self._until


def dropouts(signal: Signal, rate: float, length: float, seed: int = 0) -> Signal:
    """`signal` with gaps: about `rate` gaps a second, each about `length` s of None."""
    episodes = _Episodes(rate, length, generator(seed, 3))

    def sample(t: float) -> float | None:
        value = signal(t)  # sampled in gaps too, so the gaps do not shift the signal
        return None if episodes.active(t) else value

    return sample


def stuck(signal: Signal, rate: float, length: float, seed: int = 0) -> Signal:
    """`signal` that sometimes freezes: about `rate` times a second it repeats its last value
    for about `length` s, as a hung sensor behind a live microcontroller does."""
    episodes = _Episodes(rate, length, generator(seed, 4))
    held: float | None = None

    def sample(t: float) -> float | None:
        nonlocal held
        value = signal(t)
        if episodes.active(t) and held is not None:
            return held
        held = value
        return value

    return sample


def _check_share(what: str, share: float) -> None:
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"{what} must be between 0 and 1, got {share}")


@dataclass(frozen=True, slots=True)
class Burst:
    """A rate schedule: from `start`, every `every` seconds, `length` seconds at `factor` times
    the usual rate (a device flushing a buffer, a chatty sensor after a threshold)."""

    every: float
    length: float
    factor: float = 10.0
    start: float = 0.0

    def __post_init__(self) -> None:
        if not (self.every > 0 and 0 < self.length <= self.every and self.factor >= 1):
            raise ValueError(
                f"a burst needs every > 0, 0 < length <= every and factor >= 1, got "
                f"every={self.every}, length={self.length}, factor={self.factor}"
            )

    def active(self, t: float) -> bool:
        return t >= self.start and (t - self.start) % self.every < self.length

    def interval(self, t: float, usual: float) -> float:
        """The interval to the next sample at time `t`, for a usual interval of `usual`."""
        return usual / self.factor if self.active(t) else usual


class Ticker:
    """Ticks every `interval` seconds without drift, for `duration` seconds (None: always),
    faster while `burst` is on."""

    def __init__(
        self, interval: float, duration: float | None = None, burst: Burst | None = None
    ) -> None:
        self.start = time.monotonic()
        self.interval = interval
        self.duration = duration
        self.burst = burst
        self._due = self.start

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def running(self) -> bool:
        return self.duration is None or self.elapsed() < self.duration

    def until_next(self) -> float:
        """Seconds to the next tick (never negative)."""
        now = time.monotonic()
        step = self.burst.interval(now - self.start, self.interval) if self.burst else self.interval
        # After a long stall, carry on from now instead of sending a burst.
        self._due = max(self._due + step, now)
        return self._due - now
