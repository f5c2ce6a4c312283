"""Signal shapes for simulated sensors: deterministic for a seed, cheap per sample.

Each shape is a callable of time in seconds (any clock) returning a float.
"""

from __future__ import annotations

import math
import random
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
