"""Publish → SSE client latency at a Pi's light load: 20 sensors at 1 Hz.

    python -m bench.light_latency [--seconds 30] [--spread | --together]

The real server as its own process, one `[[mqtt]]` reader on a private
mosquitto, one `/events` client.  Each message's payload is the time it was
published (this machine's clock), so a reading's latency is when the client
read its frame minus its value.  `--spread`: the 20 sensors publish one every
50 ms, as sensors with their own phases do; `--together`: all 20 at once, once
a second, as one device reporting 20 values does.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from simulators.broker import Broker, find_mosquitto, free_port

SENSORS = 20


def _read_frames(host: str, port: int, latencies: list[float], stop: threading.Event) -> None:
    conn = http.client.HTTPConnection(host, port, timeout=60)
    conn.request("GET", "/events")
    response = conn.getresponse()
    buffer, name = b"", ""
    while not stop.is_set():
        chunk = response.read1(65536)
        if not chunk:
            return
        now = time.time()
        buffer += chunk
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            if line.startswith(b"event: "):
                name = line[7:].decode()
            elif line.startswith(b"data: ") and name == "readings":
                for point in json.loads(line[6:])["series"].values():
                    latencies.append(now - point[1])


def measure(seconds: float, together: bool) -> dict[str, float]:
    program = find_mosquitto()
    if program is None:
        raise SystemExit("mosquitto is needed: sudo apt-get install mosquitto")
    repo = Path(__file__).resolve().parent.parent
    latencies: list[float] = []
    with tempfile.TemporaryDirectory(prefix="bench-latency-") as folder:
        broker = Broker(program, Path(folder), free_port())
        broker.start()
        config = Path(folder) / "light.toml"
        config.write_text(
            f'[server]\nport = 0\n[[mqtt]]\nname = "home"\n'
            f'url = "mqtt://{broker.host}:{broker.port}"\n[[mqtt.subscribe]]\n'
            'topic = "light/+/v"\ntemplate = "light/{device}/v"\nformat = "number"\n',
            encoding="utf-8",
        )
        server = subprocess.Popen(
            [sys.executable, "-m", "telemetry", "serve", "--config", str(config)],
            cwd=repo,
            env={**os.environ, "PYTHONPATH": str(repo)},
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        stop = threading.Event()
        publisher = mqtt.Client(CallbackAPIVersion.VERSION2)
        try:
            assert server.stdout is not None
            url = server.stdout.readline().split()[-1]
            host, _, port = url.split("//", 1)[1].rstrip("/").rpartition(":")
            reader = threading.Thread(
                target=_read_frames, args=(host, int(port), latencies, stop), daemon=True
            )
            reader.start()
            publisher.connect(broker.host, broker.port)
            publisher.loop_start()
            time.sleep(2.0)
            latencies.clear()
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                for n in range(SENSORS):
                    publisher.publish(f"light/s{n}/v", repr(time.time()))
                    if not together:
                        time.sleep(1 / SENSORS)
                if together:
                    time.sleep(1.0)
            time.sleep(1.0)
        finally:
            stop.set()
            publisher.loop_stop()
            server.terminate()
            server.wait(10)
            broker.stop()
    latencies.sort()

    def quantile(q: float) -> float:
        return round(1000 * latencies[min(len(latencies) - 1, int(q * len(latencies)))], 1)

    return {"readings": len(latencies), "p50_ms": quantile(0.5), "p99_ms": quantile(0.99)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.light_latency", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--together", action="store_true", help="all 20 at once, once a second")
    args = parser.parse_args(argv)
    result = measure(args.seconds, args.together)
    how = "together" if args.together else "spread"
    print(
        f"20 sensors at 1 Hz, {how}: {result['readings']:.0f} readings, "
        f"p50 {result['p50_ms']} ms, p99 {result['p99_ms']} ms"
    )


if __name__ == "__main__":
    main()
