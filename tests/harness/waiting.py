"""Polling waits with deadlines: tests wait for what they expect, never a fixed time."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from telemetry.sources import Source, SourceStatus, State

T = TypeVar("T")


def wait_until(
    predicate: Callable[[], T | None], timeout: float = 5.0, interval: float = 0.02, what: str = ""
) -> T:
    """Call `predicate` until it returns something truthy; return that, or fail at `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        result = predicate()
        if result:
            return result
        if time.monotonic() >= deadline:
            raise AssertionError(f"not true within {timeout} s: {what or predicate!r}")
        time.sleep(interval)


def wait_for_state(source: Source, state: State, timeout: float = 5.0) -> SourceStatus:
    """Wait until `source` reports `state`; return that status."""

    def reached() -> SourceStatus | None:
        status = source.status()
        return status if status.state == state else None

    return wait_until(reached, timeout, what=f"{source.name!r} is {state}")
