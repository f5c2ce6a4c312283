"""Where reader threads meet the event loop: a bounded inbox drained in batches.

Readers call `put`/`put_many` from any thread.  With an `on_arrival` callback (the
server's: `telemetry.ticker`), the first message after the inbox was emptied calls
it on the loop, once; the consumer then drains the inbox when it wants the
readings (the hub's next tick) and says whether it will drain again by itself
(`expect`) or wants to hear of the next message (`release`).  Under load the loop
thus wakes once a tick, not once a message.  Without `on_arrival`, the first
message of a batch schedules a drain `BATCH_WINDOW` later; messages that arrive
meanwhile join the same batch.  Either way, a queue that reaches `MAX_BATCH` is
drained at once, batch after batch, so a fast reader is never held to the tick.
When the inbox is full the oldest message is dropped and counted: a reader never
blocks on a slow consumer.  A reader that can leave messages where they are
(MQTT, with the kernel and the broker) may instead wait for room with
`wait_below`.

A batch is bounded twice: by messages (`MAX_BATCH`) and by payload bytes
(`MAX_BATCH_BYTES`), since one big JSON document can cost the pipeline as
much as hundreds of small ones.  What is left follows in the next batch, as
soon as the loop has had its turn.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from itertools import accumulate, islice, takewhile
from operator import attrgetter

from telemetry.logs import RateLimitedLog
from telemetry.model import RawMessage

logger = logging.getLogger(__name__)

# How long the first message of a batch waits for company.  Draining at once
# woke the loop for a handful of messages and the two threads spent their time
# handing the GIL back and forth; 5 ms makes batches of hundreds and is
# invisible next to a 100 ms tick (bench/README.md, ingest).
BATCH_WINDOW = 0.005
# At most this many messages per batch: a batch of big JSON documents holds the
# loop for well under a tick (bench/README.md, ingest).
MAX_BATCH = 500
# At most this many payload bytes per batch (a bigger message goes alone).  The
# pipeline's cost grows with a message's numbers, and so with its bytes: this
# ends a batch of big JSON documents after a few, while 500 plain numbers still
# go in one batch (and 500 Tasmota documents in two or three).
MAX_BATCH_BYTES = 32 * 1024
_PAYLOAD = attrgetter("payload")
_FITS = MAX_BATCH_BYTES.__ge__


class Inbox:
    def __init__(
        self,
        capacity: int,
        on_batch: Callable[[list[RawMessage]], None],
        on_arrival: Callable[[], None] | None = None,
    ) -> None:
        self.capacity = capacity
        self._on_batch = on_batch
        self._on_arrival = on_arrival
        self._queue: deque[RawMessage] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._scheduled = False  # a drain is on its way (after the window, or batch by batch)
        self._announced = False  # the consumer knows messages wait, or will drain anyway
        self._loop: asyncio.AbstractEventLoop | None = None
        self.received = 0
        self.dropped = 0
        self.batches = 0
        self._below: int | None = None  # the level a reader in `wait_below` waits for
        self._room = threading.Event()
        self._log = RateLimitedLog(logger, interval=30.0)

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Deliver batches on `loop` from now on (None: only by calling `drain`).
        With `on_arrival`, messages already waiting are the consumer's to ask for
        (`release`)."""
        with self._lock:
            self._loop = loop
            self._scheduled = self._announced = False
            wake = loop is not None and bool(self._queue) and self._on_arrival is None
            if wake:
                self._scheduled = True
        if wake:
            assert loop is not None
            self._call(loop, self._later)

    def put(self, msg: RawMessage) -> None:
        self.put_many((msg,))

    def put_many(self, msgs: Sequence[RawMessage]) -> None:
        with self._lock:
            queue = self._queue
            # The deque's maxlen drops the oldest, as many as go beyond capacity: one
            # `extend`, not an append per message, in the reader's thread.
            over = len(queue) + len(msgs) - self.capacity
            queue.extend(msgs)
            self.received += len(msgs)
            if over > 0:
                self.dropped += over
                self._log.warning(
                    "inbox_full",
                    "inbox full (%d messages): dropped the oldest, %d so far",
                    self.capacity,
                    self.dropped,
                )
            loop = self._loop
            if loop is None or not queue:
                return
            wake: Callable[[], object]
            if self._on_arrival is not None and not self._announced:
                self._announced = True
                wake = self._on_arrival
            elif self._scheduled:
                return
            elif self._on_arrival is None:
                self._scheduled = True
                wake = self._later
            elif len(queue) >= MAX_BATCH:  # do not hold a fast reader to the tick
                self._scheduled = True
                wake = self._scheduled_drain
            else:
                return
        self._call(loop, wake)

    def expect(self) -> None:
        """The consumer will drain by itself soon: messages need not call `on_arrival`."""
        with self._lock:
            self._announced = True

    def release(self) -> bool:
        """The consumer will not drain by itself: the next message calls `on_arrival`.
        True (and nothing changes) when messages wait already."""
        with self._lock:
            if self._queue:
                return True
            self._announced = False
            return False

    def wait_below(self, level: int, timeout: float) -> bool:
        """Block the calling (reader) thread until at most `level` messages wait, or
        `timeout` seconds pass; True when they do.  Woken by `drain`, not by polling:
        a reader that slept and looked again took the GIL from the loop each time."""
        with self._lock:
            if len(self._queue) <= level:
                return True
            self._below = level
            self._room.clear()
        return self._room.wait(timeout)

    def _later(self) -> None:
        loop = self._loop
        if loop is not None:
            loop.call_later(BATCH_WINDOW, self._scheduled_drain)

    def _call(self, loop: asyncio.AbstractEventLoop, wake: Callable[[], object]) -> None:
        try:
            loop.call_soon_threadsafe(wake)
        except RuntimeError:  # the loop is closed: shutdown is under way
            with self._lock:
                self._scheduled = self._announced = False

    def drain(self) -> int:
        """Hand the waiting messages to the consumer as one batch of at most MAX_BATCH
        messages and MAX_BATCH_BYTES of payload (at least one message); when more
        wait, the next batch follows as soon as the loop has had its turn (a tick, a
        stream's write), so no batch holds the loop for long."""
        with self._lock:
            queue = self._queue
            # Counted in C: one pass when the batch fits (nearly always), else up to
            # the first message that does not fit; a message over the budget goes alone.
            size = min(len(queue), MAX_BATCH)
            if sum(map(len, map(_PAYLOAD, islice(queue, size)))) > MAX_BATCH_BYTES:
                totals = accumulate(map(len, map(_PAYLOAD, islice(queue, size))))
                size = len(list(takewhile(_FITS, totals))) or 1
            if size == len(queue):
                batch = list(queue)
                queue.clear()
            else:
                batch = [queue.popleft() for _ in range(size)]
                loop = self._loop
                if loop is not None and not self._scheduled:  # (else one is on its way)
                    self._scheduled = True
                    # Two hops: a task woken meanwhile (by a timer, by a future this
                    # batch resolved) is scheduled behind the first, and so runs
                    # before the next batch rather than after it.
                    loop.call_soon(loop.call_soon, self._scheduled_drain)
            if self._below is not None and len(queue) <= self._below:
                self._below = None
                self._room.set()
        if batch:
            self.batches += 1
            try:
                self._on_batch(batch)
            except Exception:  # a consumer bug must not stop later batches
                logger.exception("inbox consumer failed on a batch of %d messages", len(batch))
        return len(batch)

    def _scheduled_drain(self) -> None:
        with self._lock:
            self._scheduled = False
        self.drain()

    def __len__(self) -> int:
        return len(self._queue)
