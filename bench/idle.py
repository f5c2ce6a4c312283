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
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from simulators.broker import Broker, find_mosquitto, free_port

WARM_UP = 5.0  # seconds after the server says it listens


def _cpu_seconds(pid: int) -> float:
    """Time on a CPU, every thread's, from the scheduler's own nanosecond count
    (`/proc/<pid>/task/*/schedstat`).  utime and stime are sampled at the clock
    tick, and a process that wakes on whole seconds, as an idle server does,
    can be charged a whole tick each time."""
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):  # a thread may end between listing and reading
            total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
    return total / 1e9


def _switches(pid: int) -> int:
    total = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        with contextlib.suppress(OSError):  # a thread may end between listing and reading
            for line in Path(f"/proc/{pid}/task/{task}/status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
    return total


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
            cpu, woke, started = _cpu_seconds(server.pid), _switches(server.pid), time.monotonic()
            time.sleep(seconds)
            elapsed = time.monotonic() - started
            cpu = _cpu_seconds(server.pid) - cpu
            woke = _switches(server.pid) - woke
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
