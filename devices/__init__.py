"""Input adapters: the readers that turn brokers and ports into `RawMessage`s.

`mqtt.MqttSource` and `serial.SerialSource` implement `telemetry.sources.Source`
on top of `ReconnectingSource`, which owns what they share: the thread, the
state they report, and the jittered wait between attempts (`backoff.Backoff`).
`count_rejection` is their one way to count and log what they skip, so a flood
of bad input cannot flood the log.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

from devices.backoff import Backoff
from telemetry.handoff import Inbox
from telemetry.sources import SourceStatus, State

logger = logging.getLogger(__name__)


def count_rejection(
    counter: Counter[str], log: logging.Logger, reason: str, what: str, *args: object
) -> None:
    """Count one skipped message under `reason`; log it on counts 1, 2, 4, 8, ...

    Logging at powers of two keeps a repeating fault visible without letting a
    misbehaving device fill the disk.  `what` is a %-format for `args`, which
    must already be escaped (repr) when they come from a device.
    """
    counter[reason] += 1
    seen = counter[reason]
    if seen & (seen - 1) == 0:
        log.warning("skipped (%s, %d so far): " + what, reason, seen, *args)


class ReconnectingSource:
    """A `Source` whose one thread connects, reads, and on failure waits and retries.

    Subclasses implement `_run(inbox)`, a loop that ends once `_stopping` is set,
    and call `_connected()` and `_retry(error)`; the state and timings they
    report follow from those calls.
    """

    kind = "reader"

    def __init__(self, name: str, backoff: Backoff | None) -> None:
        self._name = name
        self._backoff = backoff if backoff is not None else Backoff()
        self._log = logging.getLogger(type(self).__module__)
        self.received = 0
        self.rejected: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._state: State = "stopped"
        self._since = time.time()
        self._last_error: str | None = None
        self._next_attempt: float | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def name(self) -> str:
        return self._name

    def start(self, inbox: Inbox) -> None:
        if self._thread is not None:
            raise RuntimeError(f"{self.kind} source {self._name!r} is already running")
        self._stop.clear()
        self._set_state("connecting")
        self._thread = threading.Thread(
            target=self._guarded_run, args=(inbox,), name=f"{self.kind}-{self._name}", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive():  # stuck in a system call; a daemon, it ends on its own
                self._log.warning(
                    "%s %r: reader thread did not end within %.1f s", self.kind, self._name, timeout
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
            )

    @property
    def _stopping(self) -> bool:
        return self._stop.is_set()

    def _run(self, inbox: Inbox) -> None:
        raise NotImplementedError

    def _guarded_run(self, inbox: Inbox) -> None:
        try:
            self._run(inbox)
        except Exception:  # a bug must show, not silently end the reader
            self._log.exception("%s %r: reader thread failed", self.kind, self._name)
            self._set_state("disconnected", error="reader thread failed; see the log")

    def _connecting(self) -> None:
        self._set_state("connecting")

    def _connected(self) -> None:
        self._backoff.reset()
        self._set_state("connected")

    def _retry(self, error: str) -> None:
        """Report `error`, then wait the next backoff delay (or until stopped)."""
        delay = self._backoff.next_delay()
        self._set_state("disconnected", error=error, next_attempt=time.time() + delay)
        self._log.warning("%s %r: %s; next attempt in %.1f s", self.kind, self._name, error, delay)
        self._stop.wait(delay)

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
