"""The event-loop lag monitor: a blocked loop shows, an idle one does not."""

from __future__ import annotations

import asyncio
import time

from telemetry.looplag import LoopLag


async def _blocked_for(seconds: float, lag: LoopLag) -> None:
    lag.start(asyncio.get_running_loop())
    try:
        await asyncio.sleep(0.12)  # a few quiet measurements first
        quiet = lag.worst
        time.sleep(seconds)  # noqa: ASYNC251 (a blocking call in a handler: the point)
        await asyncio.sleep(0.12)
        assert quiet < 0.2  # well under the block, even on a busy machine
    finally:
        lag.stop()


def test_looplag_measures_how_long_the_loop_was_blocked() -> None:
    lag = LoopLag(interval=0.02, window=60.0)
    asyncio.run(_blocked_for(0.3, lag))
    assert 0.25 <= lag.worst < 1.0
    assert lag.measured >= 4


def test_looplag_forgets_what_is_older_than_its_window() -> None:
    lag = LoopLag(interval=0.02, window=0.2)
    asyncio.run(_blocked_for(0.3, lag))
    assert lag.worst >= 0.25
    time.sleep(0.25)
    assert lag.worst == 0.0


def test_looplag_stops_measuring_when_stopped() -> None:
    lag = LoopLag(interval=0.01)

    async def run() -> None:
        lag.start(asyncio.get_running_loop())
        await asyncio.sleep(0.05)
        lag.stop()
        measured = lag.measured
        await asyncio.sleep(0.05)
        assert lag.measured == measured > 0

    asyncio.run(run())
