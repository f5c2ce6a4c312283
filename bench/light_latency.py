"""Publish → SSE client latency at a Pi's light load, on its own: 20 sensors at 1 Hz.

    python -m bench.light_latency [--seconds 30] [--together] [--clients 1]

`bench.loads`' 20-sensor load for one window: the project's server and the
baseline app side by side, one publisher (Zigbee2MQTT and Tasmota payloads, each
carrying its publish time), `--clients` SSE clients each.  Without `--together`
the sensors publish at their own phases (about one reading every 50 ms); with
it, all 20 at once, once a second.  Prints each server's p50 and p99, and the
project's split: publish → its reader, reader → the frame.
"""

from __future__ import annotations

import argparse
import tempfile
from collections.abc import Sequence
from pathlib import Path

from bench.ingest import private_broker
from bench.loads import Load, measure

SENSORS = 20


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.light_latency", description=__doc__)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--together", action="store_true", help="all 20 at once, once a second")
    parser.add_argument("--clients", type=int, default=1)
    args = parser.parse_args(argv)
    mode = "together" if args.together else "spread"
    load = Load("light", f"{SENSORS} sensors at 1 Hz, {mode}", SENSORS, mode, args.clients)
    with private_broker() as broker, tempfile.TemporaryDirectory(prefix="bench-light-") as name:
        result = measure(load, broker, Path(name), window=args.seconds, settle=3.0)
    for kind in load.servers:
        r = result[kind]
        line = (
            f"{load.title}, {kind}: {r['stamps']} readings, "
            f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms"
        )
        if "to_server_p50" in r:
            line += (
                f" (publish → reader p50 {r['to_server_p50']:.1f} ms, reader → frame "
                f"p50 {r['to_frame_p50']:.1f} ms)"
            )
        print(line)


if __name__ == "__main__":
    main()
