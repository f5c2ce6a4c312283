"""The owned background thread every reader and simulator runs in."""

from __future__ import annotations

import threading
import time

import pytest

from telemetry.threads import Worker


def test_worker_stop_interrupts_its_sleep_at_once() -> None:
    worker = Worker("test-sleeper")
    woke = threading.Event()

    def run() -> None:
        worker.sleep(60)
        woke.set()

    worker.start(run)
    started = time.monotonic()
    assert worker.stop(timeout=5)
    assert woke.is_set() and time.monotonic() - started < 5
    assert not worker.running


def test_worker_stop_is_bounded_when_the_thread_will_not_end() -> None:
    release = threading.Event()
    worker = Worker("test-stuck")
    worker.start(lambda: release.wait(30))  # ignores the stop flag, like a stuck syscall
    assert worker.stop(timeout=0.2) is False
    release.set()


def test_worker_wait_returns_when_the_thread_ends_by_itself() -> None:
    worker = Worker("test-short")
    worker.start(lambda: None)
    assert worker.wait(timeout=5)


def test_worker_refuses_a_second_start() -> None:
    release = threading.Event()
    worker = Worker("test-twice")
    worker.start(lambda: release.wait(5))
    with pytest.raises(RuntimeError, match="already running"):
        worker.start(lambda: None)
    release.set()
    assert worker.stop(timeout=5)
