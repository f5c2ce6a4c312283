"""What a competent user would write instead: the baseline app of `bench.loads`.

    python -m bench.baseline_app PORT --broker-port B [--client-id ID] [--qos 1]

paho-mqtt's network thread subscribes to the loads' topics; each payload is read
as JSON (orjson) and its numbers kept per series (`<device>/<dotted.path>`) as
last value, min and max until the next frame.  A frame goes out as soon as data
arrives after a quiet spell and at most once per tick (100 ms): ONE encoding,
`{"t": ..., "series": {id: [ts, value] or [ts, value, min, max]}}`, the same
bytes written to every SSE client (sse-starlette, a bounded queue per client).
Nothing wakes while nothing arrives beyond what the libraries do themselves.
`GET /stats`: messages taken in and when paho last connected (the benchmark's).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson
import paho.mqtt.client as mqtt
import uvicorn
from paho.mqtt.enums import CallbackAPIVersion
from sse_starlette import EventSourceResponse
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

TICK = 0.1
TOPICS = ("zigbee2mqtt/+", "tele/+/SENSOR")


def numbers(prefix: str, tree: dict[str, Any], out: list[tuple[str, float]]) -> None:
    for key, value in tree.items():
        if isinstance(value, dict):
            numbers(f"{prefix}{key}.", value, out)
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out.append((prefix + key, float(value)))


class Relay:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.pending: dict[str, list[float]] = {}  # id -> [ts, value, min, max, count]
        self.clients: set[asyncio.Queue[bytes]] = set()
        self.wake = asyncio.Event()
        self.loop: asyncio.AbstractEventLoop  # set when the app starts, before paho's thread
        self.messages, self.connected_at = 0, 0.0

    def on_message(self, client: mqtt.Client, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        try:
            tree = orjson.loads(msg.payload)
        except orjson.JSONDecodeError:
            return
        found: list[tuple[str, float]] = []
        if isinstance(tree, dict):
            numbers(msg.topic.split("/")[1] + "/", tree, found)
        now = time.time()
        with self.lock:
            self.messages += 1
            first = not self.pending
            for sid, v in found:
                p = self.pending.get(sid)
                if p is None:
                    self.pending[sid] = [now, v, v, v, 1]
                else:
                    p[0], p[1], p[2], p[3], p[4] = now, v, min(p[2], v), max(p[3], v), p[4] + 1
        if first and found:
            self.loop.call_soon_threadsafe(self.wake.set)

    async def publish(self) -> None:
        seq, last = 0, -TICK
        while True:
            await self.wake.wait()
            await asyncio.sleep(last + TICK - time.monotonic())  # within a tick of the last
            self.wake.clear()
            with self.lock:
                points, self.pending = self.pending, {}
            last, seq = time.monotonic(), seq + 1
            series = {sid: p[:2] if p[4] == 1 else p[:4] for sid, p in points.items()}
            data = orjson.dumps({"t": time.time(), "series": series})
            frame = b"id: %d\nevent: readings\ndata: %s\n\n" % (seq, data)
            for queue in self.clients:
                if not queue.full():  # a client that does not read loses frames
                    queue.put_nowait(frame)

    async def events(self, request: Request) -> EventSourceResponse:
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=64)
        self.clients.add(queue)

        async def stream() -> AsyncIterator[bytes]:
            try:
                while True:
                    yield await queue.get()
            finally:
                self.clients.discard(queue)

        return EventSourceResponse(stream())

    async def stats(self, request: Request) -> JSONResponse:
        return JSONResponse({"messages": self.messages, "connected_at": self.connected_at})


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline_app")
    parser.add_argument("port", type=int)
    parser.add_argument("--broker-port", type=int, required=True)
    parser.add_argument("--client-id", help="a persistent session (clean_session false)")
    parser.add_argument("--qos", type=int, default=0)
    args = parser.parse_args()
    relay = Relay()
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, args.client_id or "", clean_session=args.client_id is None
    )

    def on_connect(client: mqtt.Client, userdata: Any, flags: Any, rc: Any, props: Any) -> None:
        client.subscribe([(topic, args.qos) for topic in TOPICS])
        relay.connected_at = time.time()

    client.on_connect, client.on_message = on_connect, relay.on_message

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        relay.loop = asyncio.get_running_loop()
        client.connect_async("127.0.0.1", args.broker_port)
        client.loop_start()
        task = asyncio.create_task(relay.publish())
        yield
        task.cancel()
        client.disconnect()
        client.loop_stop()

    routes = [Route("/events", relay.events), Route("/stats", relay.stats)]
    app = Starlette(routes=routes, lifespan=lifespan)
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
