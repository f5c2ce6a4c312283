"""The sensors of `bench.loads`: payloads as firmware sends them, one message a packet.

    python -m bench.loads_publisher BROKER_PORT --sensors 20 --mode spread
    python -m bench.loads_publisher BROKER_PORT --sensors 20 --mode together
    python -m bench.loads_publisher BROKER_PORT --sensors 100 --mode rate --rate 1000

Half the sensors are Zigbee2MQTT devices, one JSON object on their own topic
(`zigbee2mqtt/sensorN`: battery, humidity, linkquality, temperature); the other
half Tasmota devices, one SENSOR message carrying several sensors
(`tele/tasmotaN/SENSOR`: its `Time`, an AM2301's temperature and humidity, a
DS18B20 with its id and temperature, `TempUnit`).  Every payload also carries
the time it was published, `time.time() % 100000` to 0.1 ms, as one more number
(`stamp` / `Stamp`): both servers stream it as a series of its own, so a client
on this machine reads each reading's latency off its value.

Modes, until SIGTERM (then one JSON line: messages sent, seconds, the most it
was ever late):
- `spread`: each sensor once a second at its own phase (seeded), with its own
  clock, a little off a second (±1 ms a second), so the phases slide against each
  other and the server's tick, as independent devices do;
- `together`: all sensors at once, every second, as one burst;
- `rate`: `--rate` messages a second, the sensors in turn, evenly spaced; all
  of them Zigbee2MQTT devices (a Tasmota device tells the time to the second, and
  sends a SENSOR message every 10 s at the most, never several a second).
Each message goes in its own `send` with TCP_NODELAY: one message, one packet.
The packets are encoded by hand (`bench.wire`), so the publisher costs little and
the same for every server.
"""

from __future__ import annotations

import argparse
import contextlib
import heapq
import json
import math
import random
import signal
import time
from collections.abc import Sequence
from types import FrameType

from bench import wire

HOST = "127.0.0.1"
WRAP = 100_000.0  # the stamp is time.time() modulo this (as bench.e2e_publisher's)
FINAL = 1_000_000.0  # a burst's last message per sensor carries a stamp of FINAL + n
TOPIC_FILTERS = ("zigbee2mqtt/+", "tele/+/SENSOR")


def topic(n: int) -> str:
    return f"zigbee2mqtt/sensor{n}" if n % 2 == 0 else f"tele/tasmota{n}/SENSOR"


def readings_per_message(n: int) -> int:
    """The numbers sensor `n`'s payload holds (its stamp included)."""
    return 5 if n % 2 == 0 else 4


def payload(n: int, k: int, stamp: float, now: float) -> bytes:
    """Sensor `n`'s `k`-th message, published at `now` (epoch s), stamped `stamp`."""
    wave = math.sin(now / 600 + n)
    if n % 2 == 0:
        return (
            f'{{"battery":{97 - n % 5},"humidity":{45 + 5 * wave:.2f},'
            f'"linkquality":{100 + (7 * k + n) % 50},"temperature":{20 + 2 * wave:.2f},'
            f'"stamp":{stamp:.4f}}}'
        ).encode()
    clock = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now))
    return (
        f'{{"Time":"{clock}","AM2301":{{"Temperature":{20 + 2 * wave:.1f},'
        f'"Humidity":{45 + 5 * wave:.1f}}},"DS18B20":{{"Id":"01131B4C{n:04X}",'
        f'"Temperature":{19 + wave:.1f}}},"TempUnit":"C","Stamp":{stamp:.4f}}}'
    ).encode()


def burst(sensors: int, messages: int) -> list[tuple[str, bytes]]:
    """`messages` in turn from `sensors` sensors at 1 Hz each, as they were sent
    while the reader was away (the last a second ago), each stamped with its
    sequence number; the last one of each sensor stamped FINAL + n: a client that has
    seen every FINAL has seen everything (the broker keeps the order)."""
    now = time.time()
    out = []
    for k in range(messages):
        n, sent = k % sensors, now - (messages - k) / sensors
        last = k >= messages - sensors
        out.append((topic(n), payload(n, k, FINAL + n if last else k, sent)))
    return out


class _Stop(Exception):
    pass


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


class Sender:
    """One connection; `send(n)` publishes sensor n's next message in its own packet."""

    def __init__(self, conn: wire.Connection, sensors: int) -> None:
        self.conn = conn
        self.topics = [topic(n) for n in range(sensors)]
        self.count = [0] * sensors
        self.sent = 0
        self.late = 0.0  # seconds: the latest it ever sent a message

    def send(self, n: int) -> None:
        now = time.time()
        self.conn.send(
            wire.publish_packet(self.topics[n], payload(n, self.count[n], now % WRAP, now))
        )
        self.count[n] += 1
        self.sent += 1

    def at(self, due: float) -> None:
        """Sleep until monotonic `due`, noting how late the wake-up was."""
        left = due - time.monotonic()
        if left > 0:
            time.sleep(left)
        self.late = max(self.late, time.monotonic() - due)


def run(sender: Sender, mode: str, sensors: int, rate: float, seed: int) -> None:
    """Publish until SIGTERM."""
    start = time.monotonic() + 0.05
    if mode == "together":
        for second in range(1 << 62):
            sender.at(start + second)
            for n in range(sensors):
                sender.send(n)
    elif mode == "rate":
        for k in range(1 << 62):
            sender.at(start + k / rate)
            sender.send(2 * (k % sensors))  # the Zigbee2MQTT ones
    else:
        rng = random.Random(seed)
        periods = [1.0 + rng.uniform(-0.001, 0.001) for _ in range(sensors)]
        due = [(start + rng.random(), n) for n in range(sensors)]
        heapq.heapify(due)
        while True:
            when, n = due[0]
            sender.at(when)
            sender.send(n)
            heapq.heapreplace(due, (when + periods[n], n))


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loads_publisher")
    parser.add_argument("port", type=int, help="the broker's port on 127.0.0.1")
    parser.add_argument("--sensors", type=int, default=20)
    parser.add_argument("--mode", choices=("spread", "together", "rate"), default="spread")
    parser.add_argument("--rate", type=float, default=1000.0, help="messages a second (rate)")
    parser.add_argument("--seed", type=int, default=19)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    client_id = f"bench-loads-pub-{time.monotonic_ns()}"
    with wire.Connection(HOST, args.port, client_id, clean=True, nodelay=True) as conn:
        sender = Sender(conn, 2 * args.sensors if args.mode == "rate" else args.sensors)
        began = time.monotonic()
        with contextlib.suppress(_Stop):
            run(sender, args.mode, args.sensors, args.rate, args.seed)
    seconds = time.monotonic() - began
    said = {"sent": sender.sent, "seconds": seconds, "late_max": sender.late}
    print(json.dumps(said), flush=True)


if __name__ == "__main__":
    main()
