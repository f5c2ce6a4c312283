"""Signal shapes for simulated sensors, and the clock that paces them.

Each shape is a callable of time in seconds (any clock) returning a float,
deterministic for a seed and cheap per sample.  `Ticker` paces a simulator
without drift.
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Signal = Callable[[float], float]


def sine(mean: float, amplitude: float, period: float, noise: float = 0.0, seed: int = 0) -> Signal:
    rng = random.Random(seed)

    def sample(t: float) -> float:
        return mean + amplitude * math.sin(2 * math.pi * t / period) + rng.gauss(0.0, noise)

    return sample


def square(low: float, high: float, period: float, noise: float = 0.0, seed: int = 0) -> Signal:
    rng = random.Random(seed)

    def sample(t: float) -> float:
        level = high if (t % period) < period / 2 else low
        return level + rng.gauss(0.0, noise)

    return sample


def sawtooth(low: float, high: float, period: float) -> Signal:
    return lambda t: low + (high - low) * ((t % period) / period)


@dataclass
class RandomWalk:
    """A bounded random walk: each sample moves by at most `step` and stays in range."""

    low: float
    high: float
    step: float
    seed: int = 0
    _value: float = field(init=False)
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._value = (self.low + self.high) / 2

    def __call__(self, t: float) -> float:
        self._value += self._rng.uniform(-self.step, self.step)
        self._value = min(max(self._value, self.low), self.high)
        return self._value


def random_walk(low: float, high: float, step: float, seed: int = 0) -> Signal:
    return RandomWalk(low, high, step, seed)


class Ticker:
    """Ticks every `interval` seconds without drift, for `duration` seconds (None: always)."""

    def __init__(self, interval: float, duration: float | None = None) -> None:
        self.start = time.monotonic()
        self.interval = interval
        self.duration = duration
        self._due = self.start

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def running(self) -> bool:
        return self.duration is None or self.elapsed() < self.duration

    def until_next(self) -> float:
        """Seconds to the next tick (never negative)."""
        now = time.monotonic()
        # After a long stall, carry on from now instead of sending a burst.
        self._due = max(self._due + self.interval, now)
        return self._due - now
