"""The processes of the end-to-end benchmark: the bare server and the clients.

    python -m bench.e2e_server baseline PORT --broker-port B
    python -m bench.e2e_server client KIND PORT SERVER_PID --clients N --window S ...

`baseline` is the bare way to put MQTT readings on SSE: paho-mqtt's network
thread (`loop_start()`) subscribed to `bench/+/temperature`, whose `on_message`
hands each message to the event loop with `call_soon_threadsafe`; there the
payload becomes a float and one event per reading is `json.dumps`-ed and put
into every client's `asyncio.Queue`, as `bench.fanout_server`'s baseline does;
Starlette + sse-starlette's `EventSourceResponse` stream the queues.  `GET
/count` says how many messages paho has handed over.  127.0.0.1 only.  (The
project's server is the real one, `python -m telemetry serve --config FILE`.)

`client` opens the SSE connections (raw asyncio sockets, one process for all,
`bench.fanout_server.Stream`), and after `--settle` seconds records, for a
window, the latency of what arrives: its own `time.time() % 100000` minus the
publish time each value carries (`bench.e2e_publisher`).  At both ends of the
window it asks the server for its count of messages taken in (the project:
`GET /metrics`; the baseline: `GET /count`) and reads the server's utime +
stime from /proc, so readings and CPU cover the same window.  It prints one
JSON object.

What the clients receive differs, and so does what a latency is taken on:

- the baseline sends every reading as an event: one latency per reading;
- the project sends one `readings` frame per tick with one point per series,
  `[ts, value, min, max]` when several readings of the series fell in the tick
  (`value` the last one, `ts` its receive time).  The figure is taken on the
  point's `value`, the newest reading of the series in that tick.  Since the
  published values only grow, `min` is the oldest reading folded into the
  point: its latency (`oldest_*`) bounds the others' from above.  `ts` (the
  server's receive time) and the frame's `t` (the tick) split the figure into
  publish → server, server → tick and tick → client.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from bench import procs
from bench.e2e_publisher import WRAP
from bench.fanout_server import (
    HOST,
    Stream,
    client_arguments,
    cpu_seconds,
    open_streams,
    queue_per_client,
)

BASELINE_EVENT = b"event: reading\r\ndata: "


def age_ms(now: float, stamp: float) -> float:
    """Milliseconds from `stamp` (a publish time modulo WRAP) to `now` (epoch seconds),
    across the wrap; slightly negative when the stamp's rounding (±0.5 ms) exceeds it."""
    return ((now % WRAP) - stamp + WRAP / 2) % WRAP * 1000 - WRAP / 2 * 1000


def _paho_reader(
    broker_port: int, topic_filter: str, on_message: Callable[[str, bytes | bytearray], None]
) -> Any:
    """A paho-mqtt client subscribed to `topic_filter`, calling `on_message(topic,
    payload)` in its network thread once started (`loop_start()`)."""
    from bench.consumers import paho_subscriber  # noqa: PLC0415 (only this side needs paho)

    def message(client: Any, userdata: Any, msg: Any) -> None:
        on_message(msg.topic, msg.payload)

    client = paho_subscriber(f"bench-e2e-{os.getpid()}", topic_filter, message)
    client.connect(HOST, broker_port, 60)
    return client


def serve_baseline(port: int, broker_port: int, topic_filter: str) -> None:
    import uvicorn  # noqa: PLC0415
    from starlette.applications import Starlette  # noqa: PLC0415
    from starlette.requests import Request  # noqa: PLC0415
    from starlette.responses import JSONResponse  # noqa: PLC0415
    from starlette.routing import Route  # noqa: PLC0415

    queues: set[asyncio.Queue[dict[str, str]]] = set()
    taken = 0  # messages paho handed to the loop
    deepest = 0  # the longest any client's queue has been

    def deliver(topic: str, payload: bytes | bytearray) -> None:
        nonlocal deepest
        try:
            value = float(payload)
        except ValueError:
            return
        _, device, sensor = topic.split("/", 2)
        series, now = f"{device}/{sensor}", time.time()
        for queue in queues:
            data = json.dumps({"series": series, "t": now, "value": value})
            queue.put_nowait({"event": "reading", "data": data})
            deepest = max(deepest, queue.qsize())

    events = queue_per_client(queues)

    async def count(request: Request) -> JSONResponse:
        return JSONResponse({"messages": taken, "queue_max": deepest})

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        loop = asyncio.get_running_loop()

        def on_message(topic: str, payload: bytes | bytearray) -> None:  # in paho's thread
            nonlocal taken
            taken += 1
            loop.call_soon_threadsafe(deliver, topic, payload)

        client = _paho_reader(broker_port, topic_filter, on_message)
        client.loop_start()
        yield
        client.disconnect()
        client.loop_stop()

    app = Starlette(
        routes=[Route("/events", events), Route("/count", count)],
        lifespan=lifespan,
    )
    uvicorn.run(app, host=HOST, port=port, log_config=None, access_log=False)


class Probe(Stream):
    """One SSE connection recording publish → receipt, in ms, of what it receives."""

    def __init__(self, project: bool, headed: asyncio.Future[None]) -> None:
        super().__init__(project, headed)
        self.recording = False
        self.latencies: list[float] = []  # the figure: per point (project), per event
        self.oldest: list[float] = []  # project: the oldest reading folded into a point
        self.to_server: list[float] = []  # project: publish → the server's receive time
        self.to_tick: list[float] = []  # project: receive time → the tick's frame
        self.delivery: list[float] = []  # project: tick → client, per frame

    def data_received(self, data: bytes) -> None:
        now = time.time()
        body = self.body(data)
        if body is None:
            return
        if self.project:
            self._frames(now, body)
        else:
            self._events(now, body)

    def _frames(self, now: float, body: bytes) -> None:
        for frame in self.project_events(body):
            series: dict[str, list[float]] = frame["series"]
            self.readings += len(series)
            if not self.recording:
                continue
            tick = frame["t"]
            self.delivery.append((now - tick) * 1000)
            for point in series.values():
                ts, value = point[0], point[1]
                self.latencies.append(age_ms(now, value))
                low, high = (point[2], point[3]) if len(point) == 4 else (value, value)
                if high - low < WRAP / 2:  # not a tick across the wrap of the stamps
                    self.oldest.append(age_ms(now, low))
                self.to_server.append(age_ms(ts, value))
                self.to_tick.append((tick - ts) * 1000)

    def _events(self, now: float, body: bytes) -> None:
        self.buf += body
        cut = self.buf.rfind(b"\r\n\r\n")
        if cut < 0:
            return
        block, self.buf = self.buf[:cut], self.buf[cut + 4 :]
        at = block.find(BASELINE_EVENT)
        while at >= 0:
            start = at + len(BASELINE_EVENT)
            end = block.find(b"\r\n", start)
            self.readings += 1
            if self.recording:
                line = block[start:] if end < 0 else block[start:end]
                self.latencies.append(age_ms(now, json.loads(line)["value"]))
            at = block.find(BASELINE_EVENT, start)


async def request(port: int, path: str) -> tuple[int, bytes, bytes]:
    """`GET path` on its own connection: the status, the head and the body (a
    Content-Length response; the connection is closed after it)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    try:
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
        raw = await asyncio.wait_for(reader.read(), 10)
    finally:
        writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    status = head[9:12]
    return int(status) if status.isdigit() else 0, head, body


async def _get(port: int, path: str) -> bytes:
    """The body of `GET path`, which must answer 200 with a Content-Length."""
    status, head, body = await request(port, path)
    if status != 200 or b"chunked" in head.lower():
        raise RuntimeError(f"GET {path}: {head[:200].decode('latin-1')}")
    return body


async def metrics(port: int) -> dict[str, float]:
    """The project's `GET /metrics` samples that have no labels, by name."""
    found = {}
    for line in (await _get(port, "/metrics")).decode().splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, _, value = line.partition(" ")
            found[name] = float(value)
    return found


async def server_counts(kind: str, port: int) -> dict[str, float]:
    """The server's own counters: `messages` taken in, and what else it says."""
    if kind == "baseline":
        counts: dict[str, float] = json.loads(await _get(port, "/count"))
        return counts
    found = await metrics(port)
    return {
        "messages": found["telemetry_messages_received_total"],
        "readings": found["telemetry_readings_stored_total"],
        "inbox_dropped": found["telemetry_inbox_dropped_total"],
        "coalesced": found["telemetry_sse_coalesced_total"],
        "cut": found["telemetry_sse_cut_total"],
    }


def quantiles(xs: list[float], prefix: str = "") -> dict[str, float]:
    if not xs:
        return {}
    xs = sorted(xs)

    def q(f: float) -> float:
        return xs[min(len(xs) - 1, int(f * len(xs)))]

    return {
        f"{prefix}p50": q(0.50),
        f"{prefix}p99": q(0.99),
        f"{prefix}max": xs[-1],
        f"{prefix}mean": sum(xs) / len(xs),
    }


async def client(args: argparse.Namespace) -> dict[str, Any]:
    project = args.kind == "project"
    probes = await open_streams(args.port, lambda headed: Probe(project, headed), args.clients)
    await asyncio.sleep(args.settle)
    before = [p.readings for p in probes]
    counts0 = await server_counts(args.kind, args.port)
    for p in probes:
        p.recording = True
    cpu0, t0 = cpu_seconds(args.server_pid), time.perf_counter()
    await asyncio.sleep(args.window)
    cpu1, t1 = cpu_seconds(args.server_pid), time.perf_counter()
    for p in probes:
        p.recording = False
    counts1 = await server_counts(args.kind, args.port)
    for p in probes:
        if p.transport is not None:
            p.transport.abort()
    wall = t1 - t0
    received = [(p.readings - b) / wall for p, b in zip(probes, before, strict=True)]
    result: dict[str, Any] = {
        "clients": len(probes),
        "cpu": cpu1 - cpu0,
        "wall": wall,
        "counts": {k: counts1[k] - counts0[k] for k in counts0 if k != "queue_max"},
        "queue_max": counts1.get("queue_max"),
        "received_per_client_per_s": min(received),
        "latencies": sum(len(p.latencies) for p in probes),
        **quantiles([x for p in probes for x in p.latencies]),
    }
    if project:
        result.update(
            **quantiles([x for p in probes for x in p.oldest], "oldest_"),
            **quantiles([x for p in probes for x in p.to_server], "to_server_"),
            **quantiles([x for p in probes for x in p.to_tick], "to_tick_"),
            **quantiles([x for p in probes for x in p.delivery], "delivery_"),
        )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e_server")
    sub = parser.add_subparsers(dest="role", required=True)
    b = sub.add_parser("baseline")
    b.add_argument("port", type=int)
    b.add_argument("--broker-port", type=int, required=True)
    b.add_argument("--topic", default="bench/+/temperature")
    c = sub.add_parser("client")
    c.add_argument("kind", choices=("project", "baseline"))
    client_arguments(c, settle=2.0)
    args = parser.parse_args(argv)
    if args.role == "baseline":
        serve_baseline(args.port, args.broker_port, args.topic)
    else:
        print(json.dumps(procs.run_loop(client(args))))


if __name__ == "__main__":
    main()
