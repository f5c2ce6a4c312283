"""HTTP ingest's core, with no HTTP in it: a request body into raw messages and refusals.

`web.ingest` reads a request and answers it; this module does what is pure:
- `inflate` a gzip body, stopping at a cap (a zip bomb is refused at the cap,
  never inflated whole);
- `line_protocol`: each line of InfluxDB line protocol checked with the `influx`
  family's own grammar (`parse_line`), so the answer names exactly the lines
  the family would refuse, by number, with the family's reason; every good
  line becomes one `RawMessage` on the `influx` family's route;
- `json_lines`: each line of the JSON `telemetry parse` reads, routed by the
  config as `parse` routes it, under the ingest's source name.
What is refused later, by the pipeline (a series over the limit, a device time
too far off), is counted under the source, as for any reader.

`HttpSource` is the ingest's face as a source: its name in the catalog and
`/healthz`, and its counters; requests hand it their messages for the inbox.
"""

from __future__ import annotations

import re
import threading
import time
import zlib
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from telemetry.errors import TelemetryError
from telemetry.handoff import Inbox
from telemetry.model import RawMessage, Route
from telemetry.normalize.families.influx import DATA_LINE, BadLine, data_lines, parse_line
from telemetry.parsetool import MessageReader
from telemetry.sources import SourceStatus

# `precision` as InfluxDB v1 (`n`, `u`) and v2 (`ns`, `us`) spell it, to the
# `influx` family's names.  v1's `m` and `h` are refused: no client sends them.
PRECISIONS = {"n": "ns", "ns": "ns", "u": "us", "us": "us", "ms": "ms", "s": "s"}
MAX_REFUSALS_SHOWN = 100  # lines named in one answer, as InfluxDB 3 does
NOT_BLANK = re.compile(r"^[^\S\n]*\S[^\n]*", re.MULTILINE)  # a JSON line: any but a blank one


class IngestError(TelemetryError):
    """A request that is refused whole: `status` is its HTTP status."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def too_large(message: str) -> IngestError:
    return IngestError(413, "request too large", message)


def invalid(message: str) -> IngestError:
    return IngestError(400, "invalid", message)


@dataclass(frozen=True, slots=True)
class Refused:
    line: int
    reason: str


@dataclass(slots=True)
class Parsed:
    """A body's messages, the lines refused, and how many lines it had."""

    messages: list[RawMessage] = field(default_factory=list)
    refused: list[Refused] = field(default_factory=list)
    lines: int = 0

    @property
    def written(self) -> int:
        return self.lines - len(self.refused)


def inflate(body: bytes, limit: int) -> bytes:
    """A gzip body inflated; `too_large` as soon as it passes `limit` bytes."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise invalid(f"the body is not gzip: {exc}") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise too_large(f"the body inflates to over {limit} bytes")
    if not inflater.eof:
        raise invalid("the gzip body is cut short")
    if inflater.unused_data:
        raise invalid("data after the end of the gzip body")
    return out


def _text(body: bytes) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise invalid(f"the body is not UTF-8 (byte {exc.start})") from None


def _count(lines: Iterator[object], limit: int) -> int:
    """How many `lines`; `too_large` past `limit`.  Counted, not held: a small gzip
    body can inflate to millions of short lines."""
    found = sum(1 for _ in lines)
    if found > limit:
        raise too_large(f"{found} lines; at most {limit} a request")
    return found


def line_protocol(
    body: bytes, route: Route, topic: str, now: float, *, max_lines: int, max_line: int
) -> Parsed:
    """Each line of `body` checked as line protocol, the good ones as messages."""
    text = _text(body)
    out = Parsed(lines=_count(DATA_LINE.finditer(text), max_lines))
    for number, line in data_lines(text):
        data = line.encode("utf-8")
        if len(data) > max_line:
            out.refused.append(Refused(number, f"{len(data)} bytes; at most {max_line} a line"))
            continue
        try:
            parse_line(line)
        except BadLine as exc:
            out.refused.append(Refused(number, str(exc)))
            continue
        out.messages.append(RawMessage(route, topic, data, now))
    return out


def json_lines(body: bytes, reader: MessageReader, now: float, *, max_lines: int) -> Parsed:
    """Each line of `body` read as `telemetry parse` reads it (its `received` ignored:
    the server stamps what it receives)."""
    text = _text(body)
    out = Parsed(lines=_count(NOT_BLANK.finditer(text), max_lines))
    for number, line in data_lines(text, NOT_BLANK):
        try:
            out.messages.extend(reader.line(line, now))
        except ValueError as exc:
            out.refused.append(Refused(number, str(exc)[:200]))
    return out


def refusal_message(parsed: Parsed) -> str:
    """What an answer says of the refused lines: InfluxDB's `partial write` wording,
    then each line's number and reason (the first MAX_REFUSALS_SHOWN)."""
    shown = "; ".join(f"line {r.line}: {r.reason}" for r in parsed.refused[:MAX_REFUSALS_SHOWN])
    more = len(parsed.refused) - MAX_REFUSALS_SHOWN
    if more > 0:
        shown += f"; and {more} more"
    return (
        f"partial write: {len(parsed.refused)} of {parsed.lines} lines refused, "
        f"{parsed.written} written: {shown}"
    )


class HttpSource:
    """HTTP ingest as a source: named in the catalog, with its counters.

    It has no thread: requests hand it their messages (`put`), on the loop.
    """

    kind = "http"

    def __init__(self, name: str) -> None:
        self._name = name
        self._inbox: Inbox | None = None
        self._since = time.time()
        self._lock = threading.Lock()  # `status` is read from any thread
        self.received = 0
        self.requests = 0
        self.rejected: Counter[str] = Counter()

    @property
    def name(self) -> str:
        return self._name

    def start(self, inbox: Inbox) -> None:
        self._inbox = inbox
        self._since = time.time()

    def stop(self, timeout: float = 2.0) -> None:
        self._inbox = None

    def refuse(self, reason: str, count: int = 1) -> None:
        with self._lock:
            self.rejected[reason] += count

    def room(self, count: int) -> bool:
        """Whether the inbox takes `count` more messages without dropping any (its
        oldest, any reader's).  An empty one takes any number, so that a body of more
        lines than the inbox holds is not refused for good."""
        inbox = self._inbox
        return inbox is None or not len(inbox) or len(inbox) + count <= inbox.capacity

    def put(self, messages: Sequence[RawMessage]) -> bool:
        """Hand `messages` to the inbox; False when the server is not running."""
        inbox = self._inbox
        if inbox is None:
            return False
        with self._lock:
            self.requests += 1
            self.received += len(messages)
        if messages:
            inbox.put_many(messages)
        return True

    def status(self) -> SourceStatus:
        with self._lock:
            return SourceStatus(
                self._name,
                self.kind,
                "connected" if self._inbox is not None else "stopped",
                self._since,
                received=self.received,
                rejected=tuple(sorted(self.rejected.items())),
            )
