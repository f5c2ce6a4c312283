"""An idle server's cost, on its own: `bench.loads`' idle load, for one window.

    python -m bench.idle [--seconds 120] [--json FILE]

The project's server and the baseline app side by side, each with its reader
connected to a private mosquitto and nothing published, no client ("readers
connected, nothing arriving"); after a warm-up, each one's CPU (every thread's
time on a CPU, `bench.cpu`) and wake-ups (its threads' context switches) over
the window, per second.  `python -m bench --only loads` runs it with the other
loads, repeated.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.ingest import private_broker
from bench.loads import LOADS, measure

WARM_UP = 5.0  # seconds after the servers listen


def run(seconds: float) -> dict[str, Any]:
    (idle,) = [load for load in LOADS if load.key == "idle"]
    with private_broker() as broker, tempfile.TemporaryDirectory(prefix="bench-idle-") as name:
        return measure(idle, broker, Path(name), window=seconds, settle=WARM_UP)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.idle", description=__doc__)
    parser.add_argument("--seconds", type=float, default=120.0, help="the measured window")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    result = run(args.seconds)
    for kind in ("project", "baseline"):
        r = result[kind]
        print(
            f"idle {kind}, one MQTT reader, nothing arriving, {r['wall']:.0f} s: "
            f"{r['percent']:.3f}% of a core, {r['wakeups_per_s']:.1f} wake-ups/s"
        )
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
