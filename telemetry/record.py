"""Recording every raw message, and reading a recording back.

A recording is gzip JSON lines, one raw message a line, a superset of what
`telemetry parse` reads (so `zcat session.jsonl.gz | telemetry parse` works):

    {"received": 1765090000.123, "source": "home", "transport": "mqtt",
     "topic": "tele/plug/SENSOR", "payload": "{...}", "route": {"format": "auto", ...}}

`port` instead of `topic` for a serial line; `payload_b64` instead of
`payload` for bytes that are not UTF-8; `route` holds the route's fields that
differ from a route's defaults (format, template, device, timezone, precision,
radio, prefix, time), so a replay reads each message exactly as it was read.

`Recorder` is fed on the loop (`submit`, which only appends to a bounded
queue, dropping the oldest and counting them when the disk cannot keep up)
and writes in a thread of its own, at most once a `FLUSH_EVERY`: a power cut
loses at most that.  A file that reaches `max_size` compressed bytes is
rotated: `session.jsonl.gz` becomes `session.1.jsonl.gz`, that one
`session.2.jsonl.gz`, and so on up to `keep`; the oldest is deleted.  At most
(keep + 1) x max_size bytes stay on disk.  A restart appends to the current
file (a new gzip member; readers see one stream), once the writer's thread
has read the file through to check that it ends whole (messages wait in the
queue meanwhile; the start does not): a recorder that was killed (a crash, a
power cut) left its last member without an end, and a member appended after
that would be read as part of the broken one, garbage or nothing.  Such a file
is rotated first, its readable part kept.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import gzip
import json
import logging
import math
import os
import stat
import threading
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from telemetry.model import RawMessage, Route
from telemetry.outputs import OutputStatus
from telemetry.threads import Worker

logger = logging.getLogger(__name__)

FLUSH_EVERY = 1.0  # seconds between writes
QUEUE = 50_000  # messages waiting for the writer; past that the oldest are dropped
SUFFIX = ".jsonl.gz"
MAX_ERRORS = 100  # problems of a recording noted while reading it
CHECK_READ = 1 << 16  # bytes read (and inflated) at a time when checking a file's end
_DEFAULT_ROUTE = Route("", "")
_ROUTE_FIELDS = tuple(
    f.name for f in dataclasses.fields(Route) if f.name not in ("source", "transport")
)


def encode(msg: RawMessage) -> dict[str, Any]:
    """One raw message as a recording's line (a dict for JSON)."""
    route = msg.route
    out: dict[str, Any] = {
        "received": msg.recv_ts,
        "source": route.source,
        "transport": route.transport,
        "port" if route.transport == "serial" else "topic": msg.topic,
    }
    try:
        out["payload"] = msg.payload.decode("utf-8")
    except UnicodeDecodeError:
        out["payload_b64"] = base64.b64encode(msg.payload).decode("ascii")
    fields = {
        name: getattr(route, name)
        for name in _ROUTE_FIELDS
        if getattr(route, name) != getattr(_DEFAULT_ROUTE, name)
    }
    if fields:
        out["route"] = fields
    return out


def decode(item: dict[str, Any]) -> RawMessage:
    """A recording's line back into the raw message; ValueError when it is not one."""
    try:
        route_fields = item.get("route") or {}
        if not isinstance(route_fields, dict) or not set(route_fields) <= set(_ROUTE_FIELDS):
            raise ValueError("route has unknown fields")
        for name, value in route_fields.items():
            if not _route_value(name, value):
                raise ValueError(f"route {name} is {value!r}")
        route = Route(str(item["source"]), str(item["transport"]), **route_fields)
        topic = item["port"] if route.transport == "serial" else item["topic"]
        if "payload_b64" in item:
            payload = base64.b64decode(item["payload_b64"], validate=True)
        else:
            payload = str(item["payload"]).encode("utf-8", "surrogatepass")
        received = float(item["received"])
        if not math.isfinite(received):
            raise ValueError(f"received is {received}")
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"not a recorded message: {exc}") from None
    return RawMessage(route, str(topic), payload, received)


def _route_value(name: str, value: object) -> bool:
    """Whether `value` is of the type of the route's field `name` (a line's route is
    hashed and read by the normalizer: a list there would break either)."""
    default = getattr(_DEFAULT_ROUTE, name)
    if isinstance(default, bool):
        return isinstance(value, bool)
    return isinstance(value, str) or (default is None and value is None)


def rotated(path: Path, index: int) -> Path:
    """`session.jsonl.gz` -> `session.<index>.jsonl.gz` (or `<name>.<index>`)."""
    name = path.name
    if name.endswith(SUFFIX):
        return path.with_name(f"{name[: -len(SUFFIX)]}.{index}{SUFFIX}")
    return path.with_name(f"{name}.{index}")


def left_unclosed(path: Path) -> bool:
    """Whether `path` is a regular file whose last gzip member never ended (its
    recorder was killed: a crash, a power cut).  Anything but a regular file
    (`/dev/null`, a FIFO) is neither read nor rotated."""
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            return False
    except FileNotFoundError:
        return False
    with open(path, "rb") as f:
        inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)  # gzip
        member_open = False
        while chunk := f.read(CHECK_READ):
            while chunk:
                member_open = True
                try:
                    inflate.decompress(chunk, CHECK_READ)  # the text is not kept
                except zlib.error:
                    return True
                chunk = inflate.unconsumed_tail
                if inflate.eof:  # a member ended; what follows is the next one
                    chunk = inflate.unused_data
                    inflate = zlib.decompressobj(zlib.MAX_WBITS | 16)
                    member_open = False
        return member_open


def read_session(path: str | Path, errors: list[str] | None = None) -> Iterator[RawMessage]:
    """The raw messages of a recording, in order.  A line that is no message, or a
    file cut short by a crash, is noted in `errors` (when given; the first
    MAX_ERRORS) and skipped; so is a read error (a bad sector), which ends it."""
    with gzip.open(path, "rt", encoding="utf-8", errors="surrogateescape") as f:
        number = 0
        try:
            for number, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    item = json.loads(line)
                    if not isinstance(item, dict):
                        raise ValueError("not a JSON object")
                    yield decode(item)
                except (ValueError, RecursionError) as exc:  # nested past the parser's depth
                    if errors is not None and len(errors) < MAX_ERRORS:
                        errors.append(f"{path}:{number}: {exc}")
        except (EOFError, zlib.error, OSError) as exc:  # BadGzipFile is an OSError
            if errors is not None:
                errors.append(f"{path}: cut short after line {number}: {exc}")


class Recorder:
    """Writes raw messages to a rotated, size-capped gzip JSON lines file."""

    def __init__(self, path: str | Path, max_size: int, keep: int, queue: int = QUEUE) -> None:
        self.path = Path(path)
        self.max_size = max_size
        self.keep = keep
        self._queue: deque[RawMessage] = deque(maxlen=queue)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._worker = Worker("telemetry-recorder")
        self._raw: IO[bytes] | None = None
        self._gzip: gzip.GzipFile | None = None
        self.written = 0  # messages written
        self.dropped = 0  # messages the queue dropped
        self.rotations = 0
        self.failed: str | None = None  # why writing stopped, if it did

    def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Opened here: a file that cannot be written fails the start, at once.
        self._raw = open(self.path, "ab")  # noqa: SIM115 (closed in `_close`)
        self._worker.start(self._run)
        logger.info("recording every raw message to %s", self.path)

    def submit(self, batch: Sequence[RawMessage]) -> None:
        """Queue messages for writing; never waits (called on the loop)."""
        with self._lock:
            over = len(self._queue) + len(batch) - (self._queue.maxlen or 0)
            self._queue.extend(batch)
            if over > 0:
                self.dropped += over
        self._wake.set()

    def status(self) -> OutputStatus:
        """The recording as an output (`record`): failing once a write failed, so
        `/healthz`, `/api/series` and `/metrics` show a full disk."""
        with self._lock:
            queued, dropped = len(self._queue), self.dropped
        failed = self.failed
        state = "ok" if failed is None else "failing"
        return OutputStatus(
            "record",
            "record",
            state,
            self.written,
            int(failed is not None),
            dropped,
            queued,
            failed,
        )

    def stop(self, timeout: float = 5.0) -> None:
        """Write what waits, close the file; bounded by `timeout`."""
        self._worker.request_stop()
        self._wake.set()
        if not self._worker.stop(timeout):
            logger.warning("recorder: did not finish writing within %.1f s", timeout)
            return
        self._close()

    def _run(self) -> None:
        self._guarded(self._open)
        while True:
            self._wake.wait()
            self._wake.clear()
            self._write_waiting()
            if self._worker.sleep(FLUSH_EVERY):  # batches the writes; a stop ends it
                self._write_waiting()
                return

    def _write_waiting(self) -> None:
        with self._lock:
            batch = list(self._queue)
            self._queue.clear()
        if batch and self._gzip is not None:
            self._guarded(lambda: self._write(batch))

    def _guarded(self, step: Callable[[], None]) -> None:
        try:
            step()
        except Exception as exc:  # a full disk: stop recording, keep serving
            self.failed = str(exc)
            logger.error("recorder: writing %s failed; recording stopped: %s", self.path, exc)
            with contextlib.suppress(Exception):
                self._close()

    def _write(self, batch: Iterable[RawMessage]) -> None:
        assert self._gzip is not None and self._raw is not None
        for msg in batch:
            # ASCII, with \u escapes: a lone surrogate in a topic (JSON ingest takes
            # one) is written and read back like any other character.
            line = json.dumps(encode(msg), separators=(",", ":")) + "\n"
            self._gzip.write(line.encode("ascii"))
            self.written += 1
            # The compressed size grows in steps as zlib's buffer fills; checked per
            # message, a file ends within one buffer (tens of kB) of `max_size`.
            if self._raw.tell() >= self.max_size:
                self._rotate()
        self._gzip.flush()

    def _open(self) -> None:
        """This run's gzip member, once a file left unclosed is set aside.  In the
        writer's thread, as the check reads the whole file; what arrives meanwhile
        waits in the queue."""
        if left_unclosed(self.path):
            logger.warning(
                "recorder: %s was not closed (a crash or a power cut); rotated, not appended to",
                self.path,
            )
            self._rotate()
            return
        assert self._raw is not None
        self._gzip = gzip.GzipFile(fileobj=self._raw, mode="wb")
        if self._raw.tell() >= self.max_size:
            self._rotate()

    def _start_file(self) -> None:
        self._raw = open(self.path, "ab")  # noqa: SIM115 (closed in `_close`)
        self._gzip = gzip.GzipFile(fileobj=self._raw, mode="wb")

    def _close(self) -> None:
        gz, raw = self._gzip, self._raw
        self._gzip = self._raw = None
        if gz is not None:
            gz.close()
        if raw is not None:
            raw.close()

    def _rotate(self) -> None:
        self._close()
        self._shift()
        self._start_file()

    def _shift(self) -> None:
        """The current file becomes `.1`, `.1` becomes `.2`, ...; the oldest goes."""
        if self.keep == 0:
            self.path.unlink(missing_ok=True)
        else:
            rotated(self.path, self.keep).unlink(missing_ok=True)
            for index in range(self.keep - 1, 0, -1):
                older = rotated(self.path, index)
                if older.exists():
                    os.replace(older, rotated(self.path, index + 1))
            os.replace(self.path, rotated(self.path, 1))
        self.rotations += 1
