"""The SSE clients of `bench.loads`, and what it measures of the servers.

    python -m bench.loads_clients --server NAME KIND PORT PID CLIENTS ... \\
        --window 60 --settle 5
    python -m bench.loads_clients --server NAME KIND PORT PID 1 --finals 20 --timeout 120

One process for every client of every server (the harness runs it on the other
core): each client is a raw asyncio socket that sends `GET /events`, takes the
chunked body apart and parses every `readings` frame (JSON), as a page would.
For each frame it counts the frame, its points and bytes; each point of a
`stamp` series (`bench.loads_publisher`) gives a latency: this machine's clock
minus the publish time the value carries.

Window mode: after `--settle` seconds, over `--window` seconds, each server's
CPU (`bench.cpu.Sample`) and its own count of messages taken in (the project:
`GET /metrics`; the baseline: `GET /stats`), read just outside the CPU window so
the reads cost nothing inside it; and, after the window, a project's alert
states and their changes in the window (`GET /api/alerts`).  Finals mode (the
reconnect burst): once the streams are open and have settled, it samples each
server, prints `ready` (the harness then starts the broker), and waits until
every server's first stream has seen `--finals` final stamps; then it samples
that server again.  Either way it ends by printing one JSON object, by server name.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import orjson

from bench import procs
from bench.cpu import Sample
from bench.e2e_server import age_ms, metrics, quantiles, request
from bench.loads_publisher import FINAL

HOST = "127.0.0.1"


class SseClient(asyncio.Protocol):
    """One `GET /events` stream: the head, the chunked body, the events."""

    def __init__(self, headed: asyncio.Future[None], finals: int = 0) -> None:
        self.headed = headed
        self.head = b""
        self.raw = b""  # chunked body not yet taken apart
        self.left = 0  # bytes of the current chunk still to come
        self.skip = 0  # bytes of a chunk's closing CRLF still to come
        self.text = b""  # the event stream, de-chunked, not yet parsed
        self.frames = 0
        self.points = 0
        self.bytes = 0
        self.recording = False
        self.latencies: list[float] = []
        # Of Zigbee2MQTT's stamps, whose point's time is the server's receipt (a
        # Tasmota point's is the device's): publish → receipt → the frame's time.
        self.to_server: list[float] = []
        self.to_frame: list[float] = []
        self.finals_wanted = finals
        self.finals: set[str] = set()
        self.finished: asyncio.Future[float] | None = None  # time the finals were all in
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(
            f"GET /events HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        now = time.time()
        if not self.headed.done():
            self.head += data
            end = self.head.find(b"\r\n\r\n")
            if end < 0:
                return
            if not self.head.startswith(b"HTTP/1.1 200") or b"chunked" not in self.head.lower():
                self.headed.set_exception(RuntimeError(self.head[:300].decode("latin-1")))
                return
            self.headed.set_result(None)
            data, self.head = self.head[end + 4 :], b""
        self.bytes += len(data)
        self._dechunk(self.raw + data)
        self._events(now)

    def _dechunk(self, raw: bytes) -> None:
        while raw:
            if self.left:
                part = raw[: self.left]
                self.text += part
                self.left -= len(part)
                raw = raw[len(part) :]
                if self.left:
                    break
                self.skip = 2
            if self.skip:
                taken = min(self.skip, len(raw))
                raw, self.skip = raw[taken:], self.skip - taken
                if self.skip:
                    break
            line_end = raw.find(b"\r\n")
            if line_end < 0:
                break
            self.left = int(raw[:line_end].split(b";")[0], 16)
            raw = raw[line_end + 2 :]
            if not self.left:  # the last chunk: the stream ended
                break
        self.raw = raw

    def _events(self, now: float) -> None:
        text = self.text.replace(b"\r\n", b"\n")
        while (end := text.find(b"\n\n")) >= 0:
            block, text = text[:end], text[end + 2 :]
            name = data = b""
            for line in block.split(b"\n"):
                if line.startswith(b"event:"):
                    name = line[6:].strip()
                elif line.startswith(b"data:"):
                    data = line[5:].lstrip()
            if name == b"readings":
                self._frame(now, orjson.loads(data))
        self.text = text

    def _frame(self, now: float, frame: dict[str, Any]) -> None:
        series: dict[str, list[float]] = frame["series"]
        self.frames += 1
        self.points += len(series)
        for sid, point in series.items():
            if not sid.endswith(("stamp", "Stamp")):
                continue
            value = point[1]
            if value >= FINAL:
                self.finals.add(sid)
                finished = self.finished
                if len(self.finals) >= self.finals_wanted and finished and not finished.done():
                    finished.set_result(now)
            elif self.recording:
                self.latencies.append(age_ms(now, value))
                if sid.endswith("/stamp"):
                    self.to_server.append(age_ms(point[0], value))
                    self.to_frame.append((frame["t"] - point[0]) * 1000)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.headed.done():
            self.headed.set_exception(RuntimeError(f"connection lost: {exc}"))


@dataclass(slots=True)
class Server:
    name: str
    kind: str  # "project" (its /metrics) or "baseline" (its /stats)
    port: int
    pid: int
    clients: int
    streams: list[SseClient] = field(default_factory=list)

    async def taken_in(self) -> float:
        """Messages the server says it has taken in."""
        if self.kind == "baseline":
            _, _, body = await request(self.port, "/stats")
            return float(json.loads(body)["messages"])
        return (await metrics(self.port))["telemetry_messages_received_total"]

    async def alerts(self, since: float) -> dict[str, int]:
        """The project's alert states (`GET /api/alerts`): how many, how many
        firing, and the changes since `since` (wall clock); {} without rules."""
        if self.kind == "baseline":
            return {}
        status, _, body = await request(self.port, "/api/alerts")
        answer = json.loads(body) if status == 200 else {}
        states = answer.get("states", [])
        if not states:
            return {}
        return {
            "alert_states": len(states),
            "alert_firing": sum(s["state"] == "firing" for s in states),
            "alert_changes": sum(c["since"] >= since for c in answer["changes"]),
            "alert_fired": sum(
                c["since"] >= since and c["state"] == "firing" for c in answer["changes"]
            ),
        }

    async def outputs(self) -> dict[str, float]:
        """The project's `[output.*]` counters summed (`GET /api/series`); {} without."""
        if self.kind == "baseline":
            return {}
        status, _, body = await request(self.port, "/api/series")
        listed = json.loads(body).get("outputs", []) if status == 200 else []
        if not listed:
            return {}
        return {
            f"output_{key}": float(sum(o[key] for o in listed))
            for key in ("sent", "dropped", "failed", "queued")
        }

    async def open(self, finals: int = 0) -> None:
        loop = asyncio.get_running_loop()
        for _ in range(self.clients):
            headed: asyncio.Future[None] = loop.create_future()
            factory = functools.partial(SseClient, headed, finals)
            _, stream = await loop.create_connection(factory, HOST, self.port)
            self.streams.append(stream)
            await asyncio.wait_for(headed, 30)


def _received(server: Server, wall: float) -> dict[str, Any]:
    streams = server.streams
    latencies = [x for s in streams for x in s.latencies]
    return {
        "clients": len(streams),
        "frames_per_s": min((s.frames / wall for s in streams), default=0.0),
        "points_per_s": min((s.points / wall for s in streams), default=0.0),
        "bytes_per_s": min((s.bytes / wall for s in streams), default=0.0),
        "stamps": min((len(s.latencies) for s in streams), default=0),
        **quantiles(latencies),
        **quantiles([x for s in streams for x in s.to_server], "to_server_"),
        **quantiles([x for s in streams for x in s.to_frame], "to_frame_"),
    }


async def _taken_in(servers: list[Server]) -> list[float]:
    """Every server's count, asked at once: asked in turn, a slow /metrics put
    the second count tens of milliseconds (several messages) later."""
    return list(await asyncio.gather(*(server.taken_in() for server in servers)))


async def window(servers: list[Server], settle: float, seconds: float) -> dict[str, Any]:
    for server in servers:
        await server.open()
    await asyncio.sleep(settle)
    taken0 = await _taken_in(servers)
    outputs0 = [await server.outputs() for server in servers]
    for server in servers:
        for s in server.streams:
            s.frames = s.points = s.bytes = 0
            s.recording = True
    began = time.time()
    t0, before = time.monotonic(), [Sample.of(server.pid) for server in servers]
    await asyncio.sleep(seconds)
    after, t1 = [Sample.of(server.pid) for server in servers], time.monotonic()
    for server in servers:
        for s in server.streams:
            s.recording = False
    taken1 = await _taken_in(servers)
    alerts = [await server.alerts(began) for server in servers]
    outputs1 = [await server.outputs() for server in servers]
    for was, now in zip(outputs0, outputs1, strict=True):
        if "output_sent" in now:  # what the window sent, beside the totals
            now["output_sent_in_window"] = now["output_sent"] - was.get("output_sent", 0.0)
    wall = t1 - t0
    return {
        server.name: {
            "wall": wall,
            "messages": taken1[i] - taken0[i],
            **after[i].since(before[i]),
            **_received(server, wall),
            **alerts[i],
            **outputs1[i],
        }
        for i, server in enumerate(servers)
    }


async def finals(servers: list[Server], settle: float, count: int, limit: float) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    for server in servers:
        await server.open(count)
        server.streams[0].finished = loop.create_future()
    await asyncio.sleep(settle / 2)
    quiet = [Sample.of(server.pid) for server in servers]
    await asyncio.sleep(settle / 2)
    before = [Sample.of(server.pid) for server in servers]
    quiet_rate = [(b.on_cpu - q.on_cpu) / (settle / 2) for b, q in zip(before, quiet, strict=True)]
    began = time.time()
    print("ready", flush=True)
    out: dict[str, Any] = {}
    pending = {loop.create_task(_done(s.streams[0], s.pid)): i for i, s in enumerate(servers)}
    done, _ = await asyncio.wait(pending, timeout=limit)
    for task in done:
        i = pending[task]
        at, sample = task.result()
        server = servers[i]
        out[server.name] = {
            "started": began,
            "finished": at,
            "quiet_cpu_per_s": quiet_rate[i],
            "messages": await server.taken_in(),
            **sample.since(before[i]),
        }
    return out


async def _done(stream: SseClient, pid: int) -> tuple[float, Sample]:
    """When `stream` saw its last final stamp, and its server's sample just after."""
    assert stream.finished is not None
    at = await stream.finished
    return at, Sample.of(pid)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bench.loads_clients")
    parser.add_argument(
        "--server",
        nargs=5,
        action="append",
        required=True,
        metavar=("NAME", "KIND", "PORT", "PID", "CLIENTS"),
    )
    parser.add_argument("--settle", type=float, default=5.0)
    parser.add_argument("--window", type=float, default=60.0)
    parser.add_argument("--finals", type=int, default=0, help="wait for this many final stamps")
    parser.add_argument("--timeout", type=float, default=120.0)
    return parser


def main(argv: Sequence[str] | None = None) -> None:
    args = _parser().parse_args(argv)
    servers = [
        Server(name, kind, int(port), int(pid), int(clients))
        for name, kind, port, pid, clients in args.server
    ]
    if args.finals:
        result = procs.run_loop(finals(servers, args.settle, args.finals, args.timeout))
    else:
        result = procs.run_loop(window(servers, args.settle, args.window))
    sys.stdout.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    main()
