"""The soak run's clients: streams that come and go, one that falls asleep, API calls.

They all run in one asyncio loop in the harness process, on loopback, against
the server's `GET /events` and JSON API; `bench.soak` starts and stops them and
samples the server in between.  Each kind of client is a slot, a loop that runs
one client, pauses a moment and runs the next, until the churn is told to stop:

- readers (`readers` slots): `GET /events`, half of them with `?series=`
  patterns; about a third resume with `Last-Event-ID` (the newest cursor any
  reader saw), and one in twenty sends a malformed cursor, which must get a
  `reset`.  Each reads for 0.5–4 s, then leaves, by turns with a clean close
  (FIN) and a TCP reset (SO_LINGER on with a zero timeout, then close);
- the sleeper (one slot): opens a stream, reads its head, then stops reading
  without closing, as a laptop that goes to sleep, until the server cuts it
  (the server's `streams.cut` counter moves; only the sleeper ever stops
  reading, so the cut is its).  Its socket advertises an Ethernet-sized MSS and
  a small receive buffer: over loopback's 64 KiB MSS the kernel gives the
  server's end a send buffer of megabytes, which no LAN client causes, and the
  cut would wait for that to fill.  Once cut it lies still a moment longer (the
  server keeps the socket until the bytes already queued drain), then by turns
  wakes and reads to the end (EOF: the server did close it) or vanishes
  (closes with unread data, which is a reset).  When the churn stops first, it
  vanishes uncut and is counted as interrupted;
- API calls (one slot): `/api/series`, `/api/history`, `/healthz`, `/metrics`
  in turn, about one a second, each on a new connection.

Every wait is bounded: a stream head within 10 s, a sleeper's cut within
`stall_max`, a woken sleeper's EOF within 10 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
import struct
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any, cast
from urllib.parse import quote

from bench.e2e_server import request
from bench.fanout_server import HOST

PATTERNS = ("dev1*", "dev?/temperature", "*/temperature", "dev0/temperature")
API_PATHS = (
    "/api/series",
    "/api/history?series=dev0%2Ftemperature&points=200",
    "/healthz",
    "/metrics",
)
MALFORMED = "soak-not-a-cursor"
LAN_MSS = 1448  # Ethernet's
SLEEPER_RCVBUF = 4096
READ = 65536
TIMEOUT = 10.0
POLL = 1.0  # how often the sleeper asks whether it was cut


@dataclass(slots=True)
class Tally:
    """What the churn did.  Mutable: its running counts, written by the churn alone."""

    connected: int = 0  # streams answered 200 whose `hello` arrived
    refused: int = 0  # streams answered anything but 200
    failed: int = 0  # no connection, no head in time, or no `hello`
    ended_early: int = 0  # readers whose stream the server ended (never expected)
    clean: int = 0  # readers that left with a FIN
    reset: int = 0  # readers that left with a reset
    with_patterns: int = 0
    resumed: int = 0  # readers that sent the newest cursor ...
    resumed_reset: int = 0  # ... and got a `reset` all the same (never expected)
    malformed: int = 0  # readers that sent a malformed cursor ...
    malformed_reset: int = 0  # ... and got their `reset`
    events: int = 0
    bytes: int = 0
    stalled: int = 0  # sleepers that stopped reading
    cut: int = 0  # ... and saw the server's cut counter move
    woke: int = 0  # cut, then read to EOF
    woke_no_eof: int = 0  # cut, then read on without an EOF (never expected)
    vanished: int = 0  # cut, then closed with unread data (a reset)
    interrupted: int = 0  # the churn stopped before the cut: closed with a reset
    not_cut: int = 0  # no cut within `stall_max` (never expected)
    cut_after: list[float] = field(default_factory=list)  # seconds from asleep to cut
    api: dict[str, int] = field(default_factory=dict)  # "path status" -> calls

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class _Events:
    """A stream read as far as the soak needs: event names and the newest cursor."""

    def __init__(self) -> None:
        self.partial = b""
        self.names: Counter[str] = Counter()
        self.cursor: str | None = None

    def feed(self, data: bytes) -> None:
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:  # chunk-size lines (hex) are neither
            if line.startswith(b"event: "):
                self.names[line[7:].rstrip(b"\r").decode()] += 1
            elif line.startswith(b"id: "):
                self.cursor = line[4:].rstrip(b"\r").decode()


def _reset_close(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset: SO_LINGER on, zero timeout."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.close()


async def _close(writer: asyncio.StreamWriter, reset: bool) -> None:
    if reset:
        _reset_close(writer)
    else:
        writer.close()
    with contextlib.suppress(OSError):
        await writer.wait_closed()


async def _pause(stop: asyncio.Event, seconds: float) -> None:
    """`seconds`, or less when `stop` is set meanwhile."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


def _transport(writer: asyncio.StreamWriter) -> asyncio.Transport:
    # Typed as a write transport; an open_connection transport reads as well.
    return cast(asyncio.Transport, writer.transport)


async def _ask(
    writer: asyncio.StreamWriter, reader: asyncio.StreamReader, target: str, last_id: str | None
) -> bytes:
    """Send `GET target` for a stream; the response head."""
    lines = [f"GET {target} HTTP/1.1", f"Host: {HOST}", "Accept: text/event-stream"]
    if last_id is not None:
        lines.append(f"Last-Event-ID: {last_id}")
    writer.write(("\r\n".join(lines) + "\r\n\r\n").encode())
    return await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), TIMEOUT)


class Churn:
    """The slots above against the server on `port`; counts go to `tally`."""

    def __init__(
        self, port: int, tally: Tally, rng: random.Random, readers: int, stall_max: float
    ) -> None:
        self.port = port
        self.tally = tally
        self.rng = rng
        self.readers = readers
        self.stall_max = stall_max
        self.cursor: str | None = None  # the newest any reader saw
        self._leaves = 0
        self._wakes = 0
        self._api_turn = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Every slot, until `stop` is set and each has finished its client."""
        async with asyncio.TaskGroup() as group:
            for i in range(self.readers):
                group.create_task(self._slot(self._reader, stop), name=f"soak-reader-{i}")
            group.create_task(self._slot(self._sleeper, stop), name="soak-sleeper")
            group.create_task(self._slot(self._api, stop), name="soak-api")

    async def _opened(
        self,
        writer: asyncio.StreamWriter,
        reader: asyncio.StreamReader,
        target: str,
        last_id: str | None,
    ) -> bool:
        """Ask for a stream; True once it is answered 200, else counted and closed."""
        try:
            head = await _ask(writer, reader, target, last_id)
        except (OSError, TimeoutError, asyncio.IncompleteReadError):
            self.tally.failed += 1
            await _close(writer, reset=True)
            return False
        if not head.startswith(b"HTTP/1.1 200"):
            self.tally.refused += 1
            await _close(writer, reset=False)
            return False
        return True

    async def _slot(
        self, client: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            await client(stop)
            await _pause(stop, self.rng.uniform(0.05, 0.5))

    async def _reader(self, stop: asyncio.Event) -> None:
        rng, tally = self.rng, self.tally
        target = "/events"
        if rng.random() < 0.5:
            chosen = rng.sample(PATTERNS, rng.randint(1, 2))
            target += "?" + "&".join(f"series={quote(p, safe='')}" for p in chosen)
        draw = rng.random()
        last_id = MALFORMED if draw < 0.05 else self.cursor if draw < 0.35 else None
        try:
            reader, writer = await asyncio.open_connection(HOST, self.port)
        except OSError:
            tally.failed += 1
            return
        if not await self._opened(writer, reader, target, last_id):
            return
        events = await self._read(reader, rng.uniform(0.5, 4.0))
        if events.names["hello"]:
            tally.connected += 1
        else:
            tally.failed += 1
        tally.with_patterns += target != "/events"
        if last_id == MALFORMED:
            tally.malformed += 1
            tally.malformed_reset += events.names["reset"] > 0
        elif last_id is not None:
            tally.resumed += 1
            tally.resumed_reset += events.names["reset"] > 0
        tally.events += sum(events.names.values())
        self.cursor = events.cursor or self.cursor
        reset = self._leaves % 2 == 1
        self._leaves += 1
        if reset:
            tally.reset += 1
        else:
            tally.clean += 1
        await _close(writer, reset)

    async def _read(self, reader: asyncio.StreamReader, seconds: float) -> _Events:
        """What the stream brings for `seconds`."""
        events = _Events()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while (left := deadline - loop.time()) > 0:
            try:
                data = await asyncio.wait_for(reader.read(READ), left)
            except TimeoutError:
                break
            except OSError:
                data = b""
            if not data:
                self.tally.ended_early += 1
                break
            self.tally.bytes += len(data)
            events.feed(data)
        return events

    async def _server_cut(self) -> int:
        _, _, body = await request(self.port, "/api/series")
        return int(json.loads(body)["streams"]["cut"])

    async def _sleeper(self, stop: asyncio.Event) -> None:
        tally, loop = self.tally, asyncio.get_running_loop()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, LAN_MSS)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SLEEPER_RCVBUF)
        sock.setblocking(False)
        try:
            await asyncio.wait_for(loop.sock_connect(sock, (HOST, self.port)), TIMEOUT)
        except (OSError, TimeoutError):
            sock.close()
            tally.failed += 1
            return
        reader, writer = await asyncio.open_connection(sock=sock)
        cut_before = await self._server_cut()
        if not await self._opened(writer, reader, "/events", None):
            return
        _transport(writer).pause_reading()  # asleep: from here on nothing is read
        tally.connected += 1
        tally.stalled += 1
        asleep = loop.time()
        deadline = asleep + self.stall_max
        while await self._server_cut() == cut_before:
            if stop.is_set() or loop.time() > deadline:
                if stop.is_set():
                    tally.interrupted += 1
                else:
                    tally.not_cut += 1
                await _close(writer, reset=True)
                return
            await asyncio.sleep(POLL)
        tally.cut += 1
        tally.cut_after.append(round(loop.time() - asleep, 1))
        await asyncio.sleep(self.rng.uniform(0.5, 2.0))  # still asleep, the socket held
        self._wakes += 1
        if self._wakes % 2 == 0:
            tally.vanished += 1
            await _close(writer, reset=True)
            return
        _transport(writer).resume_reading()
        if await self._drained(reader):
            tally.woke += 1
        else:
            tally.woke_no_eof += 1
        await _close(writer, reset=False)

    async def _drained(self, reader: asyncio.StreamReader) -> bool:
        """Whether reading on reaches the end of the stream within TIMEOUT."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + TIMEOUT
        while (left := deadline - loop.time()) > 0:
            try:
                data = await asyncio.wait_for(reader.read(READ), left)
            except TimeoutError:
                return False
            except OSError:
                return True  # the server reset it: ended all the same
            if not data:
                return True
        return False

    async def _api(self, stop: asyncio.Event) -> None:
        path = API_PATHS[self._api_turn % len(API_PATHS)]
        self._api_turn += 1
        try:
            status, _, _ = await request(self.port, path)
        except (OSError, TimeoutError):
            status = 0
        key = f"{path.partition('?')[0]} {status}"
        self.tally.api[key] = self.tally.api.get(key, 0) + 1
        await _pause(stop, self.rng.uniform(0.5, 1.5))
