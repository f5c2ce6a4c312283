"""Event-loop lag: how late a timer fires, the one sign that something blocks the loop.

`LoopLag` keeps one timer pending: every `interval` seconds it notes how much
later than asked the timer ran, then schedules the next, on whole multiples of
`interval` of the loop's clock, so that it fires with the hub's and uvicorn's
once-a-second timers: an idle server wakes once a second, not once per timer.
A healthy loop answers within a millisecond or so; a blocking call in a
handler, a slow SD card read on the loop, or a starved Pi shows up here before
users see a stuttering chart.  One timer a second and a deque of a minute of
samples: nothing measurable.  The lag of a loop that is blocked right now shows
once it recovers, when the late timer finally fires.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque

INTERVAL = 1.0  # seconds between measurements
WINDOW = 60.0  # seconds the maximum is taken over


class LoopLag:
    def __init__(self, interval: float = INTERVAL, window: float = WINDOW) -> None:
        self.interval = interval
        self.last = 0.0  # seconds: the latest measurement
        self.measured = 0  # measurements taken since start
        self._samples: deque[tuple[float, float]] = deque(maxlen=math.ceil(window / interval) + 1)
        self._window = window
        self._loop: asyncio.AbstractEventLoop | None = None
        self._handle: asyncio.TimerHandle | None = None

    @property
    def worst(self) -> float:
        """The largest lag measured over the last `window` seconds (0 when none)."""
        since = time.monotonic() - self._window
        return max((lag for at, lag in self._samples if at >= since), default=0.0)

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        self.stop()
        self._loop = loop
        self._schedule()

    def stop(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None
        self._loop = None

    def _schedule(self) -> None:
        loop = self._loop
        assert loop is not None
        now = loop.time()
        due = (math.floor(now / self.interval) + 1) * self.interval
        self._handle = loop.call_at(due, self._fired, time.monotonic() + (due - now))

    def _fired(self, due: float) -> None:
        # The monotonic clock, not `loop.time()`: uvloop's is cached per loop
        # iteration to the millisecond.  A timer may run up to the loop clock's
        # resolution early: never a negative lag.
        now = time.monotonic()
        self.last = max(0.0, now - due)
        self._samples.append((now, self.last))
        self.measured += 1
        self._schedule()
