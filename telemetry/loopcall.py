"""A worker thread asking the event loop to run a task, and waiting for its result.

The event loop owns the history's store.  The history's saver, in a worker
thread, copies the series for a new snapshot a few at a time: `on_loop(loop)`
gives it a function that schedules each copy with `call_soon_threadsafe`, to run
between the loop's other callbacks, and blocks the worker thread until it has
run.  Never call it on the loop itself: it would wait for itself.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable
from typing import TypeVar

from telemetry.errors import NotRun

T = TypeVar("T")

TIMEOUT = 30.0  # a loop that does not get to a task in this long is not running


class OnLoop:
    """Runs tasks on `loop` for worker threads: `owner(task)` is `task()`, run there."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float = TIMEOUT) -> None:
        self._loop = loop
        self._timeout = timeout

    def __call__(self, task: Callable[[], T], /) -> T:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def step() -> None:
            if not future.set_running_or_notify_cancel():
                return  # the worker gave up waiting
            try:
                future.set_result(task())
            except BaseException as exc:  # handed to the worker, which raises it
                future.set_exception(exc)

        try:
            self._loop.call_soon_threadsafe(step)
        except RuntimeError:  # closed
            raise NotRun(f"the event loop is closed; {task!r} was not run") from None
        try:
            return future.result(self._timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise NotRun(
                f"the event loop did not run {task!r} within {self._timeout:.0f} s"
            ) from None
