"""A background thread with an owner, a name, a stop flag and a bounded stop.

Every reader and simulator runs its loop in one `Worker`: `start(target)`,
`stop(timeout)` (True when the thread has ended), `sleep(seconds)` that a stop
interrupts, and `stopping` for loop conditions.  Threads are daemons so a
thread stuck in a system call can never keep the process alive.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any


class Worker:
    def __init__(self, name: str) -> None:
        self.name = name
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def start(self, target: Callable[[], Any]) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.name} is already running")
        self._stop.clear()
        self._thread = threading.Thread(target=target, name=self.name, daemon=True)
        self._thread.start()

    def sleep(self, seconds: float) -> bool:
        """Wait `seconds`, or less if asked to stop; True when asked to stop."""
        return self._stop.wait(seconds)

    def request_stop(self) -> None:
        """Ask the thread to end, without waiting (see `stop`)."""
        self._stop.set()

    def stop(self, timeout: float = 2.0) -> bool:
        """Ask the thread to end and wait up to `timeout`; True when it has ended."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None or thread is threading.current_thread():
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end by itself; True when it has (or never ran)."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()
