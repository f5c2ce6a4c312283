"""A worker thread's task run on the event loop: its result or its error handed back,
and a loop that is closed or does not get to it named."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from telemetry.errors import NotRun
from telemetry.loopcall import OnLoop


def test_on_loop_runs_the_task_on_the_loop_thread_and_returns_its_result() -> None:
    async def run() -> tuple[str, str]:
        owner = OnLoop(asyncio.get_running_loop())
        name = await asyncio.to_thread(owner, lambda: threading.current_thread().name)
        return name, threading.current_thread().name

    ran_on, loop_thread = asyncio.run(run())
    assert ran_on == loop_thread


def test_on_loop_hands_the_tasks_error_to_the_worker() -> None:
    def fails() -> None:
        raise ValueError("the task's own error")

    async def run() -> None:
        owner = OnLoop(asyncio.get_running_loop())
        await asyncio.to_thread(owner, fails)

    with pytest.raises(ValueError, match="the task's own error"):
        asyncio.run(run())


def test_on_loop_refuses_a_closed_loop() -> None:
    loop = asyncio.new_event_loop()
    loop.close()
    with pytest.raises(NotRun, match="closed"):
        OnLoop(loop)(lambda: 1)


def test_on_loop_gives_up_on_a_loop_that_does_not_run_and_the_task_never_runs() -> None:
    loop = asyncio.new_event_loop()
    ran: list[int] = []
    try:
        with pytest.raises(NotRun, match="within"):
            OnLoop(loop, timeout=0.05)(lambda: ran.append(1))
        loop.call_soon(loop.stop)
        loop.run_forever()  # the late step finds the worker gone
        time.sleep(0.01)
    finally:
        loop.close()
    assert ran == []
