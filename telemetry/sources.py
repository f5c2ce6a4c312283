"""The contract every input adapter implements (MQTT, serial, system, command, simulators).

A source owns its threads: `start` returns at once, `stop` returns within its
timeout.  It hands `RawMessage`s to an `Inbox`, never to anything else, and
reports its state through `status()` for the catalog, `/healthz` and the page.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from dataclasses import dataclass
from typing import Literal, Protocol

from telemetry.handoff import Inbox
from telemetry.threads import Worker

State = Literal["connecting", "connected", "disconnected", "stopped"]


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    kind: str
    state: State
    since: float
    last_error: str | None = None
    next_attempt: float | None = None
    received: int = 0
    reconnects: int = 0
    rejected: tuple[tuple[str, int], ...] = ()


class Source(Protocol):
    @property
    def name(self) -> str: ...

    def start(self, inbox: Inbox) -> None:
        """Begin reading in the source's own thread(s); return at once."""

    def stop(self, timeout: float = 2.0) -> None:
        """Stop reading and release the device; return within `timeout` seconds."""

    def status(self) -> SourceStatus: ...


class ThreadedSource:
    """The common body of a `Source` that reads in one thread of its own.

    Subclasses set `kind`, implement `_run(inbox)` (a loop that ends once
    `_stopping` is true) and report their state with `_set_state`; `status()`
    and the bounded `stop()` follow from that.
    """

    kind = "source"
    initial_state: State = "connecting"

    def __init__(self, name: str) -> None:
        self._name = name
        self._log = logging.getLogger(type(self).__module__)
        self.received = 0
        self.reconnects = 0  # failed attempts and lost connections, since start
        self.rejected: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._state: State = "stopped"
        self._since = time.time()
        self._last_error: str | None = None
        self._next_attempt: float | None = None
        self._worker = Worker(f"{self.kind}-{name}")

    @property
    def name(self) -> str:
        return self._name

    @property
    def _stopping(self) -> bool:
        return self._worker.stopping

    def start(self, inbox: Inbox) -> None:
        self._set_state(self.initial_state)
        self._worker.start(lambda: self._guarded_run(inbox))

    def _wake(self) -> None:
        """Interrupt the thread's blocking wait, so that it sees the stop at once
        (readers wait long when nothing arrives: an idle server does not poll)."""

    def stop(self, timeout: float = 2.0) -> None:
        self._worker.request_stop()
        self._wake()
        if not self._worker.stop(timeout):  # stuck in a system call; a daemon, it ends later
            self._log.warning(
                "%s %r: thread did not end within %.1f s", self.kind, self._name, timeout
            )
        self._set_state("stopped")

    def status(self) -> SourceStatus:
        with self._lock:
            return SourceStatus(
                self._name,
                self.kind,
                self._state,
                self._since,
                self._last_error,
                self._next_attempt,
                self.received,
                self.reconnects,
                tuple(sorted(self.rejected.items())),
            )

    def _run(self, inbox: Inbox) -> None:
        raise NotImplementedError

    def _guarded_run(self, inbox: Inbox) -> None:
        try:
            self._run(inbox)
        except Exception:  # a bug must show, not silently end the reader
            self._log.exception("%s %r: thread failed", self.kind, self._name)
            self._set_state("disconnected", error="the reader thread failed; see the log")

    def _set_state(
        self, state: State, *, error: str | None = None, next_attempt: float | None = None
    ) -> None:
        with self._lock:
            if state != self._state:
                self._state, self._since = state, time.time()
            # A reconnect attempt keeps showing why the last one failed.
            if error is not None or state == "connected":
                self._last_error = error
            self._next_attempt = next_attempt
