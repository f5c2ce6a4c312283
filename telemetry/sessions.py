"""`telemetry record` and `telemetry replay`: a session kept, and played again.

`record` runs the readers a config names with nothing behind the inbox but
the recorder (`telemetry.record`): no pipeline, no web server.  `replay`
plays a recording back through the normalizer:
- printing (the default): one JSON line per recorded message, the readings
  and errors `telemetry parse` would print, with each message's recorded
  receive time, so device times are judged as they were live: the same
  readings as the live run, as fast as it goes (`--speed` paces it);
- `--serve`: into a running server through `ReplaySource`, an input like any
  reader, so the page shows it, paced at `--speed` (1: as recorded).  Its
  times are shifted to now (`--times shift`, the default): each message is
  stamped when it is played and device times in payloads are not used
  (their route's `time` is `receive`), so the page shows the session live,
  as it happened, and a faster replay compresses it evenly; device times
  from another day would otherwise be refused as too far off (or land
  hours outside the chart).  `--times keep` keeps every recorded time, for
  a look at when things happened; then the page's range must reach back.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from telemetry.config import Config, make_normalizer
from telemetry.errors import TelemetryError
from telemetry.handoff import MAX_BATCH, Inbox
from telemetry.model import RawMessage, Route
from telemetry.parsetool import json_line, outcome_json
from telemetry.record import MAX_ERRORS, Recorder, read_session
from telemetry.sources import ThreadedSource

TIMES = ("shift", "keep")


def paced(
    messages: Iterator[RawMessage], speed: float, sleep: Callable[[float], bool]
) -> Iterator[RawMessage]:
    """`messages` at their recorded pace divided by `speed` (0: no pacing); ends when
    `sleep` says it was interrupted."""
    first: float | None = None
    start = time.monotonic()
    for msg in messages:
        if speed > 0:
            if first is None:
                first = msg.recv_ts
            wait = start + max(0.0, msg.recv_ts - first) / speed - time.monotonic()
            if wait > 0 and sleep(wait):
                return
        yield msg


class ReplaySource(ThreadedSource):
    """A recording played into the inbox, paced, once."""

    kind = "replay"

    def __init__(self, path: str | Path, speed: float = 1.0, times: str = "shift") -> None:
        super().__init__(Path(path).name)
        self.path = Path(path)
        self.speed = speed
        self.shift = times == "shift"
        self.errors: list[str] = []

    def _run(self, inbox: Inbox) -> None:
        self._set_state("connected")
        routes: dict[Route, Route] = {}
        for msg in paced(read_session(self.path, self.errors), self.speed, self._worker.sleep):
            if self.shift:
                route = routes.get(msg.route)
                if route is None:
                    route = routes[msg.route] = dataclasses.replace(msg.route, time="receive")
                played = RawMessage(route, msg.topic, msg.payload, time.time())
            else:
                played = msg
            # As fast as it goes: wait for room rather than drop the oldest.
            while not inbox.wait_below(inbox.capacity - MAX_BATCH, 0.5):
                if self._stopping:
                    return
            inbox.put(played)
            self.received += 1
        error = f"the recording ended after {self.received} messages"
        if self.errors:
            noted = len(self.errors)  # only the first MAX_ERRORS are
            count = f"{MAX_ERRORS} or more" if noted >= MAX_ERRORS else str(noted)
            error += f"; {count} problems, the first: {self.errors[0]}"
        self._set_state("stopped", error=error)


def replay_print(config: Config, path: str | Path, speed: float = 0.0) -> Iterator[str]:
    """Each recorded message's readings and errors, one JSON line each."""
    normalizer = make_normalizer(config.limits)
    errors: list[str] = []

    def sleep(seconds: float) -> bool:
        time.sleep(seconds)
        return False  # nothing interrupts a printing replay but Ctrl-C

    for msg in paced(read_session(path, errors), speed, sleep):
        out = {"received": msg.recv_ts, "source": msg.route.source, "topic": msg.topic}
        yield json_line(out | outcome_json(normalizer.normalize(msg)))
    for error in errors:
        yield json_line({"readings": [], "errors": [error]})


def record(config: Config, duration: float | None = None) -> int:
    """Run the config's readers and record what they receive to `[record] file`, until
    SIGINT/SIGTERM or `duration` seconds.  TelemetryError when the file cannot be
    written, at the start or later (a full disk)."""
    from telemetry.server import build_sources  # noqa: PLC0415 (the readers' modules)

    settings = config.record
    assert settings.file is not None
    recorder = Recorder(settings.file, settings.max_size, settings.keep)
    sources = build_sources(config)

    async def run() -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        inbox = Inbox(config.limits.inbox, recorder.submit)
        try:
            await asyncio.to_thread(recorder.start)
        except OSError as exc:
            raise TelemetryError(f"cannot record to {settings.file}: {exc}") from None
        inbox.bind(loop)
        for source in sources:
            source.start(inbox)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), duration)
        await asyncio.gather(*(asyncio.to_thread(s.stop) for s in sources))
        inbox.bind(None)
        while inbox.drain():  # what arrived last is recorded too
            pass
        await asyncio.to_thread(recorder.stop)

    asyncio.run(run())
    if recorder.failed is not None:  # a full disk: the readers ran on, recording nothing
        raise TelemetryError(f"the recording stopped: {recorder.failed}")
    return 0
