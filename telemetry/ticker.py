"""When the hub publishes: as soon as readings arrive after a quiet spell, at most
once a tick while they keep coming, and nothing in between.

One timer on the loop and no task.  A reader's first message after the inbox was
emptied wakes the loop once (`Inbox`'s arrival call: `nudge`); the ticker then
arms a tick, `GATHER` from now after a quiet spell (a device's burst arrives
together), else a tick after the last frame.  The tick drains the inbox (the
`Feed`), has the hub publish, and, when a frame went out, arms the next tick
right away and tells the inbox so: messages arriving meanwhile wake nothing, the
armed tick takes them.  Under load the loop thus wakes once a tick, not once a
message; a tick that finds nothing ends the busy spell.

With nothing arriving the ticker wakes every `QUIET_WAKE` seconds (with the
other periodic timers: `until_quiet_wake`) for what no reading announces:
readers' states, stale series.  Series whose filters act on the clock
(throttle windows, heartbeats) need every tick: then it ticks, on the tick.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable
from typing import Protocol

from telemetry.looplag import until_quiet_wake

logger = logging.getLogger(__name__)

# Seconds the first readings after a quiet spell wait for the rest of their burst
# (20 sensors of one device, a Tasmota message's worth) before the frame goes out.
GATHER = 0.005


class Feed(Protocol):
    """Where the readings wait until a tick takes them (`telemetry.handoff.Inbox`)."""

    def drain(self) -> int:
        """Hand what waits to the pipeline now (in bounded batches)."""

    def expect(self) -> None:
        """A tick is armed: new messages need not wake the loop."""

    def release(self) -> bool:
        """No tick is armed: the next message wakes the loop.  True when messages
        already wait (a tick is needed after all)."""


class Ticker:
    def __init__(
        self,
        tick: float,
        publish: Callable[[], bool],
        ticking: Callable[[], bool] = lambda: False,
    ) -> None:
        self.tick = tick
        self._publish = publish  # one tick's frame; True when one went out
        self._ticking = ticking  # whether some series need every tick
        self.feed: Feed | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None
        self._armed_tick = False  # the timer is a tick (not the quiet wake-up)
        self._in_tick = False
        self._last = -math.inf  # loop time of the last frame
        self._stopped: asyncio.Future[None] | None = None

    async def run(self) -> None:
        """Tick until `stop()`."""
        loop = asyncio.get_running_loop()
        self._loop = loop
        self._stopped = loop.create_future()
        if self.feed is not None and self.feed.release():  # messages came before the start
            self._arm(loop.time() + GATHER, tick=True)
        else:
            self._rest()
        try:
            await self._stopped
        finally:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._loop = self._stopped = None

    def stop(self) -> None:
        if self._stopped is not None and not self._stopped.done():
            self._stopped.set_result(None)

    def nudge(self) -> None:
        """Readings arrived, or wait in the feed: a tick is due (on the loop)."""
        loop = self._loop
        if loop is None or self._in_tick or self._armed_tick:
            return
        self._arm(max(loop.time() + GATHER, self._last + self.tick), tick=True)

    def _arm(self, when: float, *, tick: bool) -> None:
        assert self._loop is not None
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(when, self._fire)
        self._armed_tick = tick

    def _rest(self) -> None:
        """Nothing to publish: sleep until the next quiet wake-up."""
        assert self._loop is not None
        self._arm(self._loop.time() + until_quiet_wake(self._loop), tick=False)

    def _fire(self) -> None:
        loop = self._loop
        if loop is None:
            return
        self._timer, self._armed_tick, self._in_tick = None, False, True
        now = loop.time()
        sent = False
        try:
            if self.feed is not None:
                self.feed.drain()
            sent = self._publish()
        except Exception:
            logger.exception("publishing a tick failed")
        finally:
            self._in_tick = False
        if self._stopped is None or self._stopped.done():
            return
        if sent:
            self._last = now
            self._arm(now + self.tick, tick=True)
            if self.feed is not None:
                self.feed.expect()
        elif self._ticking():
            self._arm(now + self.tick, tick=True)
        elif self.feed is not None and self.feed.release():
            self._arm(max(now + GATHER, self._last + self.tick), tick=True)
        else:
            self._rest()
