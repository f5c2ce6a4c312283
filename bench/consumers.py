"""The Python consumers of the ingest benchmark, each run as a process of its own.

`python -m bench.consumers project|paho --port P --client-id ID --topic F
--template T --messages N --timeout S` connects with a persistent session the
harness has already filled, reads until N messages have arrived, and prints one
JSON line: messages, readings, rejections, drops, and the CPU and wall seconds
from just before it connects until the N-th message is handled.

CPU is `time.process_time()`: every thread of the process (paho's network
thread, the event loop, the hub's ticker), and nothing of the interpreter's
start or imports, which a long-running server pays once.

- `project`: the server's real path: `MqttSource` (its own paho thread) into
  the `Runtime`'s `Inbox`, drained in batches on the event loop the server runs
  (uvloop when installed) into `Pipeline.ingest`, with the hub's ticker running
  and no clients.  The inbox is replaced by one whose consumer also counts the
  batches, so the run ends when the pipeline has seen every message.
- `paho`: a paho-mqtt 2.x client whose `on_message` only counts, in
  `loop_forever()`: the least any paho-based reader can spend.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from bench import procs
from devices.mqtt import MqttSource
from telemetry.config import Config, MqttConfig, Subscription
from telemetry.handoff import Inbox
from telemetry.model import RawMessage
from telemetry.runtime import Runtime
from telemetry.sources import Source

HOST = "127.0.0.1"


def _result(messages: int, readings: int, cpu: float, wall: float, **extra: Any) -> dict[str, Any]:
    return {"messages": messages, "readings": readings, "cpu": cpu, "wall": wall, **extra}


@dataclass(slots=True)
class Measured:
    """What `measure_pipeline` saw: messages handled, CPU and wall seconds."""

    handled: int
    cpu: float
    wall: float
    runtime: Runtime
    inbox: Inbox

    def counts(self) -> dict[str, Any]:
        pipeline = self.runtime.pipeline
        return {
            "dropped": self.inbox.dropped,
            "batches": self.inbox.batches,
            "rejected": dict(pipeline.rejected),
            "series": len(pipeline.store.series),
        }


async def measure_pipeline(
    config: Config,
    source: Source,
    n: int,
    timeout: float,  # noqa: ASYNC109 (a whole run's limit, passed from the command line)
    started: Callable[[], Awaitable[None]] | None = None,
) -> Measured:
    """The server's path from `source` through the `Runtime`'s inbox into the
    pipeline, until `n` messages are handled (or dropped: reported) or `timeout`;
    CPU and wall from just before the runtime starts.  `started` runs once it has
    (e.g. to tell a device to begin)."""
    runtime = Runtime(config, [source])
    done = asyncio.get_running_loop().create_future()
    handled = 0

    def on_batch(batch: list[RawMessage]) -> None:
        nonlocal handled
        runtime.pipeline.ingest(batch)
        runtime.hub.nudge()
        handled += len(batch)
        # A dropped message will never be handled: count it as arrived, report it.
        if handled + inbox.dropped >= n and not done.done():
            done.set_result(None)

    # Wired as the runtime wires its own: the ticker hears of arrivals and drains it.
    inbox = runtime.inbox = Inbox(config.limits.inbox, on_batch, runtime.hub.nudge)
    runtime.hub.ticker.feed = inbox
    cpu0, wall0 = time.process_time(), time.perf_counter()
    await runtime.start()
    if started is not None:
        await started()
    # On a timeout the harness sees the short count and says so.
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(done, timeout)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    await runtime.stop()
    return Measured(handled, cpu, wall, runtime, inbox)


async def _project(args: argparse.Namespace) -> dict[str, Any]:
    config = Config(
        mqtt=(
            MqttConfig(
                name="bench",
                host=HOST,
                port=args.port,
                client_id=args.client_id,
                subscribe=(Subscription(args.topic, template=args.template),),
            ),
        )
    )
    source = MqttSource(config.mqtt[0], config.limits)
    m = await measure_pipeline(config, source, args.messages, args.timeout)
    return _result(
        m.handled,
        m.runtime.pipeline.accepted,
        m.cpu,
        m.wall,
        received=source.received,
        source_rejected=dict(source.rejected),
        **m.counts(),
    )


def paho_subscriber(
    client_id: str,
    topic: str,
    on_message: Callable[[mqtt.Client, Any, mqtt.MQTTMessage], None],
    clean_session: bool = True,
) -> mqtt.Client:
    """A bare paho-mqtt client, not yet connected, that subscribes to `topic` (QoS 0)
    on every connect, with paho's own `on_message(client, userdata, message)` (no
    call in between: it is a baseline, of `ingest` and `e2e`)."""
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session
    )

    def on_connect(
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        client.subscribe(topic, 0)

    client.on_connect = on_connect
    client.on_message = on_message
    return client


def _paho(args: argparse.Namespace) -> dict[str, Any]:
    n: int = args.messages
    count = 0

    def on_message(client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        nonlocal count
        count += 1
        if count == n:
            client.disconnect()

    client = paho_subscriber(args.client_id, args.topic, on_message, clean_session=False)
    # Ends a stuck run with the count so far; costs nothing while it waits.
    watchdog = threading.Timer(args.timeout, client.disconnect)
    watchdog.daemon = True
    cpu0, wall0 = time.process_time(), time.perf_counter()
    client.connect(HOST, args.port, 600)
    watchdog.start()
    client.loop_forever()
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    watchdog.cancel()
    # A bare loop turns no message into a reading; it "reads" each one.
    return _result(count, count, cpu, wall)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.consumers")
    parser.add_argument("consumer", choices=("project", "paho"))
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--client-id", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--template")
    parser.add_argument("--messages", type=int, required=True)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    if args.consumer == "project":
        result = procs.run_loop(_project(args))
        result["event_loop"] = "uvloop" if "uvloop" in sys.modules else "asyncio"
    else:
        result = _paho(args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
