"""Capped, jittered exponential backoff for reconnecting readers.

Delays grow `base, 2*base, 4*base, ...` up to `cap`, each drawn uniformly from
the upper half of its step ("equal jitter"): many readers restarted together
spread out instead of hammering a broker in step, and no delay is ever near
zero, so a reader whose device is gone can never spin.
"""

from __future__ import annotations

import random


class Backoff:
    def __init__(
        self, base: float = 0.5, cap: float = 30.0, rng: random.Random | None = None
    ) -> None:
        if not 0 < base <= cap:
            raise ValueError(f"backoff needs 0 < base <= cap, got base={base} cap={cap}")
        self.base = base
        self.cap = cap
        self._rng = rng if rng is not None else random.Random()  # noqa: S311 (jitter, not secrecy)
        self.attempts = 0

    def next_delay(self) -> float:
        """The seconds to wait before the next attempt; each call backs off further."""
        # The exponent is bounded so a reader down for days cannot overflow a float.
        step = min(self.cap, self.base * 2 ** min(self.attempts, 32))
        self.attempts += 1
        return self._rng.uniform(step / 2, step)

    def reset(self) -> None:
        """Start again from `base`: call it once a connection has succeeded."""
        self.attempts = 0
