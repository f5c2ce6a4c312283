"""Event-loop lag: how late a timer fires, the one sign that something blocks the loop.

`LoopLag` keeps one timer pending: every `interval` seconds it notes how much
later than asked the timer ran, then schedules the next, on whole multiples of
`interval` of the loop's clock, so that it fires with the hub's and uvicorn's
timers of the same period: an idle server wakes once a period, not once per timer.
A healthy loop answers within a millisecond or so; a blocking call in a
handler, a slow SD card read on the loop, or a starved Pi shows up here before
users see a stuttering chart.  One timer every two seconds and a deque of a
minute of samples: nothing measurable.  The lag of a loop that is blocked right now shows
once it recovers, when the late timer finally fires.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque

# Seconds between an idle server's wake-ups: the lag probe, the hub's housekeeping
# and uvicorn's Date header all run then, together (`until_quiet_wake`).
QUIET_WAKE = 2.0
INTERVAL = QUIET_WAKE  # seconds between measurements
WINDOW = 60.0  # seconds the maximum is taken over


def until_quiet_wake(loop: asyncio.AbstractEventLoop, period: float = QUIET_WAKE) -> float:
    """Seconds until the next whole multiple of `period` on `loop`'s clock: periodic
    timers that wait this long fire together, one wake-up for all of them."""
    now = loop.time()
    return (math.floor(now / period) + 1) * period - now


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
        wait = until_quiet_wake(loop, self.interval)
        self._handle = loop.call_later(wait, self._fired, time.monotonic() + wait)

    def _fired(self, due: float) -> None:
        # The monotonic clock, not `loop.time()`: uvloop's is cached per loop
        # iteration to the millisecond.  A timer may run up to the loop clock's
        # resolution early: never a negative lag.
        now = time.monotonic()
        self.last = max(0.0, now - due)
        self._samples.append((now, self.last))
        self.measured += 1
        self._schedule()
