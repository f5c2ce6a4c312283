"""Input adapters: the readers that turn brokers and ports into `RawMessage`s.

`mqtt.MqttSource` and `serial.SerialSource` implement `telemetry.sources.Source`
on top of `ReconnectingSource`, which adds to `ThreadedSource` (the thread and
the state it reports) what readers share: the jittered wait between attempts
(`backoff.Backoff`).
`system.SystemSource` (the kernel's sensors, polled) and `command.CommandSource`
(a program run every interval) are plain `ThreadedSource`s: nothing to
reconnect to.
`count_rejection` is their one way to count and log what they skip, so a flood
of bad input cannot flood the log; `_wait_for_room` their backpressure.
"""

from __future__ import annotations

import logging
import time
from collections import Counter

from devices.backoff import Backoff
from telemetry.handoff import Inbox
from telemetry.sources import ThreadedSource

logger = logging.getLogger(__name__)

BACKPRESSURE_AT = 1000  # messages waiting in the inbox: a reader pauses above this
BACKPRESSURE_LOOK = 0.1  # seconds it waits at most before checking for `stop`
BACKPRESSURE_MAX = 1.0  # seconds it waits at most, then reads on


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


class ReconnectingSource(ThreadedSource):
    """A threaded source that connects, reads, and on failure waits and retries.

    Subclasses implement `_run(inbox)`, a loop that ends once `_stopping` is set,
    and call `_connecting()`, `_connected()` and `_retry(error)`; the state and
    timings they report follow from those calls.
    """

    kind = "reader"

    def __init__(self, name: str, backoff: Backoff | None) -> None:
        super().__init__(name)
        self._backoff = backoff if backoff is not None else Backoff()

    def _connecting(self) -> None:
        self._set_state("connecting")

    def _connected(self) -> None:
        self._backoff.reset()
        self._set_state("connected")

    def _wait_for_room(self, inbox: Inbox) -> None:
        """Backpressure: while the pipeline is behind, leave what comes with the
        kernel (and the broker, the device) rather than drop it in the inbox.

        At most BACKPRESSURE_MAX at a time: a pipeline stuck for longer must not
        cost an MQTT connection its keepalive, and the inbox then keeps the
        newest messages, as it always did.
        """
        until = time.monotonic() + BACKPRESSURE_MAX
        while (
            len(inbox) > BACKPRESSURE_AT
            and not self._stopping
            and (left := until - time.monotonic()) > 0
        ):
            inbox.wait_below(BACKPRESSURE_AT, min(left, BACKPRESSURE_LOOK))

    def _retry(self, error: str, *, at_least: float = 0.0) -> None:
        """Report `error`, then wait the next backoff delay (or until stopped)."""
        delay = max(at_least, self._backoff.next_delay())
        self.reconnects += 1
        self._set_state("disconnected", error=error, next_attempt=time.time() + delay)
        self._log.warning("%s %r: %s; next attempt in %.1f s", self.kind, self._name, error, delay)
        self._worker.sleep(delay)
