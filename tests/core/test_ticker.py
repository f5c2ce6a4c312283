"""When the hub publishes: the ticker, with the inbox as its feed."""

from __future__ import annotations

import asyncio
import threading
import time
from typing import Any

from telemetry.config import Config, FilterSpec, LimitsConfig, SeriesRule, ServerConfig
from telemetry.handoff import Inbox
from telemetry.hub import Hub
from telemetry.model import RawMessage, Route
from telemetry.pipeline import Pipeline, Tick

ROUTE = Route("home", "mqtt", "number", template="{device}/{sensor...}")


def wired(tick: float, config: Config | None = None) -> tuple[Hub, Inbox, list[int]]:
    """A hub and an inbox wired as the runtime wires them; the list counts the
    inbox's calls of `on_arrival` (each a wake-up of the loop from the reader)."""
    pipeline = Pipeline(config or Config())
    hub = Hub(pipeline, ServerConfig(tick=tick), LimitsConfig())
    arrivals: list[int] = []

    def arrived() -> None:
        arrivals.append(1)
        hub.nudge()

    def ingest(batch: list[RawMessage]) -> None:
        pipeline.ingest(batch)
        hub.nudge()

    inbox = Inbox(10_000, ingest, arrived)
    hub.ticker.feed = inbox
    return hub, inbox, arrivals


async def _running(hub: Hub, inbox: Inbox, body: Any) -> None:
    inbox.bind(asyncio.get_running_loop())
    task = asyncio.create_task(hub.run())
    try:
        await body()
    finally:
        hub.close()
        await asyncio.wait_for(task, 5)


def _reader(inbox: Inbox, messages: int, every: float) -> threading.Thread:
    def read() -> None:
        for i in range(messages):
            inbox.put(RawMessage(ROUTE, f"dev{i % 20}/t", str(i).encode(), time.time()))
            time.sleep(every)

    return threading.Thread(target=read)


def test_ticker_wakes_the_loop_once_a_tick_under_load_not_once_a_message() -> None:
    hub, inbox, arrivals = wired(tick=0.1)
    hub.connect("10.0.0.1", None)
    reader = _reader(inbox, 200, 0.005)  # a second of a reading every 5 ms

    took = 0.0

    async def body() -> None:
        nonlocal took
        started = time.monotonic()
        reader.start()
        await asyncio.to_thread(reader.join)
        took = time.monotonic() - started
        await asyncio.sleep(0.3)

    asyncio.run(_running(hub, inbox, body))
    assert hub.pipeline.accepted == 200
    assert took / 0.1 - 2 <= hub.seq <= took / 0.1 + 2  # a frame a tick
    assert len(arrivals) <= 3  # the first message woke the loop; the ticks took the rest


def test_ticker_frame_follows_the_first_reading_after_a_quiet_spell_at_once() -> None:
    hub, inbox, _ = wired(tick=10.0)
    client = hub.connect("10.0.0.1", None)
    assert not isinstance(client, str)

    async def body() -> None:
        await asyncio.sleep(0.2)
        started = time.monotonic()
        inbox.put(RawMessage(ROUTE, "a/t", b"1", time.time()))
        while not any(seq for _, seq in client.frames):
            assert time.monotonic() - started < 1.0, "no frame"
            await asyncio.sleep(0.005)

    asyncio.run(_running(hub, inbox, body))


def test_ticker_takes_messages_that_came_before_it_started() -> None:
    hub, inbox, _ = wired(tick=0.05)

    async def body() -> None:
        inbox.put(RawMessage(ROUTE, "a/t", b"1", time.time()))
        await asyncio.sleep(0.3)

    async def main() -> None:
        inbox.bind(asyncio.get_running_loop())
        inbox.put(RawMessage(ROUTE, "a/t", b"1", time.time()))  # before `run`
        await asyncio.sleep(0.05)
        task = asyncio.create_task(hub.run())
        await asyncio.sleep(0.3)
        hub.close()
        await asyncio.wait_for(task, 5)

    asyncio.run(main())
    assert hub.pipeline.accepted == 1


def test_ticker_of_series_with_clock_driven_filters_ticks_once_a_tick_not_more() -> None:
    rule = SeriesRule("*", filters=(FilterSpec("throttle", "10s"),))
    hub, inbox, _ = wired(tick=0.05, config=Config(series=(rule,)))
    taken = 0
    take = hub.pipeline.take_tick

    def counted(now: float | None = None) -> Tick:
        nonlocal taken
        taken += 1
        return take(now)

    hub.pipeline.take_tick = counted  # type: ignore[method-assign]

    async def body() -> None:
        inbox.put(RawMessage(ROUTE, "a/t", b"1", time.time()))
        await asyncio.sleep(1.0)

    asyncio.run(_running(hub, inbox, body))
    assert hub.pipeline.ticking
    assert 10 <= taken <= 25  # 1 s of 50 ms ticks, not a busy loop
