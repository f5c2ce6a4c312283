"""An idle server's cost: CPU and wake-ups of `telemetry serve` with nothing arriving.

    python -m bench.idle [--seconds 120] [--json FILE]

A private mosquitto on a free loopback port, and the real server as its own
process (`python -m telemetry serve`) with one `[[mqtt]]` reader subscribed to
it and nothing published: "readers connected, nothing arriving".  After a
warm-up, it reads the server's CPU time (every thread's, from the scheduler's
nanosecond count) and its threads' context switches (`/proc/<pid>/task/*/status`,
voluntary and not: each is a wake-up) over the window, and prints both per second.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from bench.cpu import on_cpu, switches
from simulators.broker import Broker, find_mosquitto, free_port

WARM_UP = 5.0  # seconds after the server says it listens


def measure(seconds: float) -> dict[str, float]:
    program = find_mosquitto()
    if program is None:
        raise SystemExit("mosquitto is needed: sudo apt-get install mosquitto")
    repo = Path(__file__).resolve().parent.parent
    with tempfile.TemporaryDirectory(prefix="bench-idle-") as folder:
        broker = Broker(program, Path(folder), free_port())
        broker.start()
        config = Path(folder) / "idle.toml"
        config.write_text(
            '[server]\nport = 0\n[[mqtt]]\nname = "home"\n'
            f'url = "mqtt://{broker.host}:{broker.port}"\n'
            '[[mqtt.subscribe]]\ntopic = "tele/#"\n',
            encoding="utf-8",
        )
        env = {**os.environ, "PYTHONPATH": str(repo)}
        server = subprocess.Popen(
            [sys.executable, "-m", "telemetry", "serve", "--config", str(config)],
            cwd=repo,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        try:
            assert server.stdout is not None
            if "live at" not in server.stdout.readline():
                raise SystemExit("the server did not start")
            time.sleep(WARM_UP)
            cpu, woke, started = on_cpu(server.pid), switches(server.pid), time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - started
            cpu = on_cpu(server.pid) - cpu
            woke = switches(server.pid) - woke
        finally:
            server.terminate()
            server.wait(10)
            broker.stop()
    return {
        "seconds": round(elapsed, 1),
        "cpu_percent_of_a_core": round(100 * cpu / elapsed, 4),
        "wakeups_per_second": round(woke / elapsed, 2),
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.idle", description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0, help="the measured window")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    result = measure(args.seconds)
    print(
        f"idle server, one MQTT reader, nothing arriving, {result['seconds']:.0f} s: "
        f"{result['cpu_percent_of_a_core']:.3f}% of a core, "
        f"{result['wakeups_per_second']:.1f} wake-ups/s"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
