"""Where reader threads meet the event loop: a bounded inbox drained in batches.

Readers call `put`/`put_many` from any thread.  The first message of a batch
schedules one `call_soon_threadsafe` wake-up, which drains the inbox
`BATCH_WINDOW` later; messages that arrive meanwhile join the same batch, so
the loop wakes once per batch, never once per message.  When the inbox is full
the oldest message is dropped and counted: a reader never blocks on a slow
consumer.  A reader that can leave messages where they are (MQTT, with the
kernel and the broker) may instead wait for room with `wait_below`.

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
    def __init__(self, capacity: int, on_batch: Callable[[list[RawMessage]], None]) -> None:
        self.capacity = capacity
        self._on_batch = on_batch
        self._queue: deque[RawMessage] = deque(maxlen=capacity)
        self._lock = threading.Lock()
        self._scheduled = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self.received = 0
        self.dropped = 0
        self.batches = 0
        self._below: int | None = None  # the level a reader in `wait_below` waits for
        self._room = threading.Event()
        self._log = RateLimitedLog(logger, interval=30.0)

    def bind(self, loop: asyncio.AbstractEventLoop | None) -> None:
        """Deliver batches on `loop` from now on (None: only by calling `drain`)."""
        with self._lock:
            self._loop = loop
            self._scheduled = False
        if loop is not None and self._queue:
            self._schedule(loop)

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
            if self._scheduled or loop is None or not queue:
                return
            self._scheduled = True
        self._schedule(loop)

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

    def _schedule(self, loop: asyncio.AbstractEventLoop) -> None:
        try:
            loop.call_soon_threadsafe(loop.call_later, BATCH_WINDOW, self.drain)
        except RuntimeError:  # the loop is closed: shutdown is under way
            with self._lock:
                self._scheduled = False

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
                self._scheduled = False
            else:
                batch = [queue.popleft() for _ in range(size)]
                loop = self._loop
                if loop is not None:
                    # Two hops: a task woken meanwhile (by a timer, by a future this
                    # batch resolved) is scheduled behind the first, and so runs
                    # before the next batch rather than after it.
                    loop.call_soon(loop.call_soon, self.drain)
                else:
                    self._scheduled = False
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

    def __len__(self) -> int:
        return len(self._queue)
