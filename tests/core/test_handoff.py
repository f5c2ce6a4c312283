"""The inbox where reader threads meet the event loop."""

from __future__ import annotations

import asyncio
import threading

import pytest

from telemetry.handoff import MAX_BATCH, MAX_BATCH_BYTES, Inbox
from telemetry.model import RawMessage, Route

ROUTE = Route("test", "mqtt", "number")


def _messages(n: int, start: int = 0) -> list[RawMessage]:
    return [RawMessage(ROUTE, f"t/{i}", b"1", float(i)) for i in range(start, start + n)]


def test_inbox_full_drops_the_oldest_and_counts_them(caplog: pytest.LogCaptureFixture) -> None:
    got: list[RawMessage] = []
    inbox = Inbox(3, got.extend)
    inbox.put_many(_messages(5))
    assert inbox.dropped == 2
    assert inbox.drain() == 3
    assert [m.topic for m in got] == ["t/2", "t/3", "t/4"]
    assert "inbox full" in caplog.text
    inbox.put_many(_messages(2, start=5))  # room: nothing dropped
    inbox.put(_messages(1, start=7)[0])  # full now, still nothing dropped
    assert inbox.dropped == 2
    inbox.put_many(_messages(2, start=8))  # two of the waiting ones go
    assert (inbox.dropped, inbox.received) == (4, 10)
    assert inbox.drain() == 3
    assert [m.topic for m in got[3:]] == ["t/7", "t/8", "t/9"]


def test_inbox_wakes_the_loop_once_per_batch_not_per_message() -> None:
    got: list[RawMessage] = []
    done = asyncio.Event()

    def consume(batch: list[RawMessage]) -> None:  # runs on the loop
        got.extend(batch)
        if len(got) == 1000:
            done.set()

    inbox = Inbox(100_000, consume)

    async def main() -> None:
        inbox.bind(asyncio.get_running_loop())

        def reader() -> None:
            for chunk in range(10):
                inbox.put_many(_messages(100, chunk * 100))

        thread = threading.Thread(target=reader)
        thread.start()
        await asyncio.wait_for(done.wait(), 10)
        thread.join()

    asyncio.run(main())
    assert [m.recv_ts for m in got] == [float(i) for i in range(1000)]
    assert inbox.batches <= 10


def test_inbox_consumer_failure_does_not_stop_later_batches() -> None:
    calls: list[int] = []

    def consumer(batch: list[RawMessage]) -> None:
        calls.append(len(batch))
        if len(calls) == 1:
            raise RuntimeError("a bug in the pipeline")

    inbox = Inbox(10, consumer)
    inbox.put(_messages(1)[0])
    assert inbox.drain() == 1
    inbox.put_many(_messages(2))
    assert inbox.drain() == 2
    assert calls == [1, 2]


def test_a_long_queue_is_handed_over_in_bounded_batches_with_the_loop_between() -> None:
    async def main() -> tuple[list[int], int]:
        sizes: list[int] = []
        inbox = Inbox(10_000, lambda batch: sizes.append(len(batch)))
        loop = asyncio.get_running_loop()
        inbox.put_many(_messages(1_200))  # not bound yet: nothing scheduled
        turns = 0

        async def other() -> None:  # a tick or a stream write, waiting for its turn
            nonlocal turns
            while sum(sizes) < 1_200:
                turns += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(other())
        inbox.bind(loop)
        await asyncio.wait_for(task, 5)
        return sizes, turns

    sizes, turns = asyncio.run(main())
    assert sizes == [MAX_BATCH, MAX_BATCH, 1_200 - 2 * MAX_BATCH]
    assert turns >= 3


def _sized(n: int, size: int, start: int = 0) -> list[RawMessage]:
    return [RawMessage(ROUTE, f"s/{i}", b"7" * size, float(i)) for i in range(start, start + n)]


def _drain_all(inbox: Inbox) -> None:
    while inbox.drain():
        pass


def test_a_batch_holds_at_most_the_byte_budget_and_small_messages_still_go_500_at_a_time() -> None:
    batches: list[list[RawMessage]] = []
    inbox = Inbox(10_000, batches.append)
    # A burst of big JSON documents (7 KB each), then 1,200 plain numbers.
    per_batch = MAX_BATCH_BYTES // 7_000
    big, small = _sized(10 * per_batch + 1, 7_000), _sized(1_200, 6, start=1_000)
    inbox.put_many(big)
    _drain_all(inbox)
    assert [len(b) for b in batches] == [per_batch] * 10 + [1]
    inbox.put_many(small)
    _drain_all(inbox)
    assert [len(b) for b in batches[11:]] == [MAX_BATCH, MAX_BATCH, 200]
    assert all(sum(len(m.payload) for m in b) <= MAX_BATCH_BYTES for b in batches)
    # Order kept, nothing lost, nothing twice.
    handed = [m for b in batches for m in b]
    assert len(handed) == inbox.received == len(big) + 1_200 and inbox.dropped == 0
    assert all(a is b for a, b in zip(handed, big + small, strict=True))
    assert len(inbox) == 0


def test_a_message_over_the_byte_budget_goes_alone_and_the_rest_follows() -> None:
    batches: list[list[RawMessage]] = []
    inbox = Inbox(100, batches.append)
    huge = _sized(1, MAX_BATCH_BYTES + 1)
    inbox.put_many(_sized(3, 10) + huge + _sized(3, 10, start=10))
    _drain_all(inbox)
    assert [len(b) for b in batches] == [3, 1, 3]
    assert batches[1] == huge


def test_a_burst_of_big_messages_is_handed_over_with_the_loop_between_batches() -> None:
    async def main() -> tuple[list[int], list[int]]:
        sizes: list[int] = []
        turns_at: list[int] = []
        turns = 0

        def consume(batch: list[RawMessage]) -> None:
            sizes.append(len(batch))
            turns_at.append(turns)

        inbox = Inbox(10_000, consume)
        inbox.put_many(_sized(50, 7_000))

        async def other() -> None:  # a tick or a stream write, waiting for its turn
            nonlocal turns
            while sum(sizes) < 50:
                turns += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(other())
        inbox.bind(asyncio.get_running_loop())
        await asyncio.wait_for(task, 5)
        return sizes, turns_at

    sizes, turns_at = asyncio.run(main())
    assert len(sizes) >= 5 and max(sizes) <= MAX_BATCH_BYTES // 7_000
    assert turns_at == sorted(set(turns_at))  # the loop turned between every two batches


def test_a_task_woken_by_a_batch_runs_before_the_next_batch() -> None:
    """As a stream woken by the hub's frame, or the hub's ticker by its timer."""

    async def main() -> list[str]:
        loop = asyncio.get_running_loop()
        order: list[str] = []
        handed = 0
        waiter = loop.create_future()

        def consume(batch: list[RawMessage]) -> None:
            nonlocal handed
            handed += len(batch)
            order.append("batch")
            if not waiter.done():
                waiter.set_result(None)

        inbox = Inbox(10_000, consume)
        inbox.put_many(_sized(30, 7_000))

        async def stream() -> None:
            nonlocal waiter
            while handed < 30:
                await waiter
                order.append("woke")
                waiter = loop.create_future()

        task = asyncio.create_task(stream())
        await asyncio.sleep(0)  # the stream waits
        inbox.bind(loop)
        await asyncio.wait_for(task, 5)
        return order

    order = asyncio.run(main())
    assert len(order) >= 10
    assert order == ["batch", "woke"] * (len(order) // 2)
