"""The processes of the fan-out benchmark: two servers and one client process.

    python -m bench.fanout_server project PORT [--idle]
    python -m bench.fanout_server baseline PORT [--idle]
    python -m bench.fanout_server client KIND PORT SERVER_PID --clients N ...

`project` runs the real app (`telemetry.server.make_server`) with an in-process
simulated source of 50 series at 10 Hz; `baseline` is the usual sse-starlette
app: one `asyncio.Queue` per client, a producer putting one event per reading
into every queue (one `json.dumps` per event per client).  `--idle`: no source,
no producer, nothing flows.  Both listen on 127.0.0.1 only.

`client` opens the connections (raw asyncio sockets, one process for all of
them), counts what arrives and reads the server's CPU time (utime + stime from
/proc/PID/stat) and RSS (/proc/PID/status) itself, so the window of counting
and the window of CPU are the same.  It prints one JSON object.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import json
import os
import resource
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from sse_starlette import EventSourceResponse
    from starlette.requests import Request

SERIES = 50
RATE = 10.0  # Hz per series
HOST = "127.0.0.1"
PROJECT_MARK = b"event: readings\ndata: "
BASELINE_MARK = b"event: reading\r\n"


def sensors() -> list[Any]:
    # Imports are local throughout: each process loads only its own side.
    from simulators import signals  # noqa: PLC0415
    from simulators.inprocess import SimSensor  # noqa: PLC0415

    return [
        SimSensor(
            f"dev{i // 5}",
            f"s{i % 5}",
            "°C",
            1 / RATE,
            signals.sine(20.0, 5.0, 60.0 + i, noise=0.05, seed=i),
        )
        for i in range(SERIES)
    ]


def serve_project(port: int, idle: bool, max_clients: int = 2100) -> None:
    from simulators.inprocess import SimulatedSource  # noqa: PLC0415
    from telemetry.config import Config, LimitsConfig, ServerConfig  # noqa: PLC0415
    from telemetry.server import make_server  # noqa: PLC0415

    config = Config(
        server=replace(ServerConfig(), host=HOST, port=port),
        limits=replace(LimitsConfig(), max_clients=max_clients, max_clients_per_host=max_clients),
    )
    sources = [] if idle else [SimulatedSource("bench", sensors())]
    make_server(config, sources).run()


def queue_per_client(
    queues: set[asyncio.Queue[dict[str, str]]],
) -> Callable[[Request], Awaitable[EventSourceResponse]]:
    """The usual sse-starlette endpoint: each stream adds a queue to `queues` for
    as long as it lasts and sends what a producer puts in it, an event at a time."""
    from sse_starlette import EventSourceResponse  # noqa: PLC0415

    async def events(request: Request) -> EventSourceResponse:
        queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
        queues.add(queue)

        async def stream() -> AsyncIterator[dict[str, str]]:
            try:
                while True:
                    yield await queue.get()
            finally:
                queues.discard(queue)

        return EventSourceResponse(stream())

    return events


def serve_baseline(port: int, idle: bool) -> None:
    import uvicorn  # noqa: PLC0415
    from starlette.applications import Starlette  # noqa: PLC0415
    from starlette.routing import Route  # noqa: PLC0415

    queues: set[asyncio.Queue[dict[str, str]]] = set()
    signals = [s.signal for s in sensors()]
    names = [f"{s.device}/{s.sensor}" for s in sensors()]

    async def produce() -> None:
        start = time.monotonic()
        due = start
        while True:
            due += 1 / RATE
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            now = time.time()
            for name, signal in zip(names, signals, strict=True):
                value = signal(time.monotonic() - start)
                if value is None:
                    continue
                for queue in queues:
                    data = json.dumps({"series": name, "t": now, "value": round(value, 2)})
                    queue.put_nowait({"event": "reading", "data": data})

    events = queue_per_client(queues)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = None if idle else asyncio.create_task(produce())
        yield
        if task is not None:
            task.cancel()

    app = Starlette(routes=[Route("/events", events)], lifespan=lifespan)
    uvicorn.run(app, host=HOST, port=port, log_config=None, access_log=False)


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid: int) -> int:
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for {pid}")


class Stream(asyncio.Protocol):
    """One SSE connection: waits for a 200 head, then counts readings."""

    def __init__(self, project: bool, headed: asyncio.Future[None]) -> None:
        self.project = project
        self.headed = headed
        self.head = b""
        self.buf = b""
        self.readings = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not subclasses of asyncio.Transport.
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(
            f"GET /events HTTP/1.1\r\nHost: {HOST}\r\nAccept: text/event-stream\r\n\r\n".encode()
        )

    def body(self, data: bytes) -> bytes | None:
        """`data` past the response head (None while the head is incomplete or bad)."""
        if self.headed.done():
            return data
        self.head += data
        end = self.head.find(b"\r\n\r\n")
        if end < 0:
            return None
        if not self.head.startswith(b"HTTP/1.1 200"):
            self.headed.set_exception(RuntimeError(self.head[:200].decode("latin-1")))
            return None
        self.headed.set_result(None)
        data, self.head = self.head[end + 4 :], b""
        return data

    def project_frames(self, data: bytes) -> list[dict[str, list[float]]]:
        """The `series` of each `readings` event completed by `data`."""
        return [frame["series"] for frame in self.project_events(data)]

    def project_events(self, data: bytes) -> list[dict[str, Any]]:
        """The data of each `readings` event completed by `data`."""
        self.buf += data
        cut = self.buf.rfind(b"\n\n")
        if cut < 0:
            return []
        block, self.buf = self.buf[:cut], self.buf[cut + 2 :]
        frames = []
        at = block.find(PROJECT_MARK)
        while at >= 0:
            start = at + len(PROJECT_MARK)
            end = block.find(b"\n", start)
            line = block[start:] if end < 0 else block[start:end]
            frames.append(json.loads(line))
            at = block.find(PROJECT_MARK, start)
        return frames

    def data_received(self, data: bytes) -> None:
        body = self.body(data)
        if body is None:
            return
        data = body
        # Chunked framing: each chunk holds whole events in both servers, so the
        # chunk-size lines never fall inside an event.
        if self.project:
            self.readings += sum(len(series) for series in self.project_frames(data))
        else:
            joined = self.buf + data
            self.readings += joined.count(BASELINE_MARK)
            self.buf = joined[-(len(BASELINE_MARK) - 1) :]

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.headed.done():
            self.headed.set_exception(RuntimeError(f"connection lost: {exc}"))


S = TypeVar("S", bound=Stream)


async def open_streams(port: int, factory: Callable[[asyncio.Future[None]], S], n: int) -> list[S]:
    """`n` connections to `GET /events`, 100 at a time, once each has its 200 head;
    `factory(headed)` makes each one's protocol, which resolves `headed` on the head."""
    loop = asyncio.get_running_loop()
    streams: list[S] = []
    for first in range(0, n, 100):
        futures = []
        for _ in range(first, min(first + 100, n)):
            headed: asyncio.Future[None] = loop.create_future()
            _, stream = await loop.create_connection(functools.partial(factory, headed), HOST, port)
            streams.append(stream)
            futures.append(headed)
        await asyncio.wait_for(asyncio.gather(*futures), 30)
    return streams


async def client(args: argparse.Namespace) -> dict[str, Any]:
    pid: int = args.server_pid
    result: dict[str, Any] = {}
    if args.idle:
        await asyncio.sleep(args.settle)
        cpu0 = cpu_seconds(pid)
        await asyncio.sleep(args.window)
        result["cpu_before"] = cpu_seconds(pid) - cpu0
        result["rss_before"] = rss_kib(pid)
    project = args.kind == "project"
    streams = await open_streams(args.port, lambda headed: Stream(project, headed), args.clients)
    await asyncio.sleep(args.settle)
    if args.idle:
        result["rss_after"] = rss_kib(pid)
    before = sum(s.readings for s in streams)
    cpu0, t0 = cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(args.window)
    cpu1, t1 = cpu_seconds(pid), time.perf_counter()
    result.update(
        readings=sum(s.readings for s in streams) - before,
        cpu=cpu1 - cpu0,
        wall=t1 - t0,
        clients=len(streams),
        rss=rss_kib(pid),
    )
    for s in streams:
        if s.transport is not None:
            s.transport.abort()
    return result


def client_arguments(parser: argparse.ArgumentParser, settle: float) -> None:
    """The arguments every benchmark's client process takes after its own."""
    parser.add_argument("port", type=int)
    parser.add_argument("server_pid", type=int)
    parser.add_argument("--clients", type=int, required=True)
    parser.add_argument("--window", type=float, required=True)
    parser.add_argument("--settle", type=float, default=settle)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fanout_server")
    sub = parser.add_subparsers(dest="role", required=True)
    for role in ("project", "baseline"):
        p = sub.add_parser(role)
        p.add_argument("port", type=int)
        p.add_argument("--idle", action="store_true")
    c = sub.add_parser("client")
    c.add_argument("kind", choices=("project", "baseline"))
    client_arguments(c, settle=1.0)
    c.add_argument("--idle", action="store_true")
    args = parser.parse_args(argv)
    if args.role == "project":
        serve_project(args.port, args.idle)
    elif args.role == "baseline":
        serve_baseline(args.port, args.idle)
    else:
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < args.clients + 100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.clients + 1000), hard))
        print(json.dumps(asyncio.run(client(args))))


if __name__ == "__main__":
    main()
