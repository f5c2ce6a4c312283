"""The republishing load of `bench.loads`: 200 sensors' readings republished to MQTT.

    python -m bench.loads_republish [--seconds 60] [--repeat 3] [--json FILE] [--same] [--twin]

Two project servers side by side on the same publisher (200 sensors at 1 Hz,
own phases, `bench.loads_publisher`) and one client each: one with the usual
config, one with the same config and `OUTPUT`, an `[[output.mqtt]]` republishing
every reading (about 900 a second: each message holds four or five) to the same
broker, with Home Assistant discovery on (issue 23: republishing at 200 sensors
at 1 Hz adds at most 15% to the server's CPU).  The ratio is CPU with the
output / CPU without, window by window; each repeat is a pair of windows in
both start orders (`bench.loads.orders`), since the server started first costs
more in most windows.  The broker's own work is not counted: it is another
process.  `--same` runs the second server without the output too, for the noise
between two identical servers.  `--twin` gives each server a broker and a
publisher of its own (`bench.loads.measure`'s `twins`; see `bench.loads_alerts`):
the start order then no longer skews a window.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import statistics
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.ingest import private_broker

# Every reading, as an owner feeding Home Assistant would write it: the output's
# own connection to the reader's broker, QoS 0, retained, every point.
OUTPUT = (
    '[[output.mqtt]]\nname = "bench"\nmqtt = "home"\nprefix = "bench/republished"\n'
    'discovery = true\ndiscovery_prefix = "bench/homeassistant"\n'
)


def run(
    seconds: float, repeat: int, *, same: bool = False, twin: bool = False
) -> list[dict[str, Any]]:
    """`repeat` pairs of windows, each pair in both start orders.  `same`: the
    second server runs without the output too (the project from this directory
    again, as "project@.")."""
    from bench.loads import LOADS_EXTRA, measure, orders  # noqa: PLC0415 (it imports this module)

    (load,) = [load for load in LOADS_EXTRA if load.republish]
    other = f"project@{Path.cwd()}" if same else "republish"
    runs = []
    with (
        private_broker() as broker,
        private_broker() if twin else contextlib.nullcontext(broker) as second,
        tempfile.TemporaryDirectory(prefix="bench-rep-") as name,
    ):
        twins = (broker, second) if twin else ()
        for i in range(repeat):
            for kinds in orders(load, i):
                order = tuple(other if kind == "republish" else kind for kind in kinds)
                r = measure(
                    load, broker, Path(name), window=seconds, settle=5.0, order=order, twins=twins
                )
                r["republish"] = r.pop(other)
                r["first"] = "republish" if order[0] == other else "project"
                runs.append(r)
                with_, without = r["republish"]["percent"], r["project"]["percent"]
                print(
                    f"{i + 1}/{repeat}, {r['first']} first: republishing {with_:.3f}%, "
                    f"without {without:.3f}%, ratio {with_ / without:.3f}, "
                    f"{r['republish'].get('output_sent_in_window', 0):.0f} republished in "
                    f"the window, {r['republish'].get('output_dropped', 0):.0f} dropped",
                    flush=True,
                )
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loads_republish", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured window")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the windows to this file")
    parser.add_argument(
        "--same", action="store_true", help="both servers without the output: the noise floor"
    )
    parser.add_argument(
        "--twin", action="store_true", help="a broker and a publisher for each server"
    )
    args = parser.parse_args(argv)
    runs = run(args.seconds, args.repeat, same=args.same, twin=args.twin)
    ratios = [r["republish"]["percent"] / r["project"]["percent"] for r in runs]
    pairs = [math.sqrt(a * b) for a, b in zip(ratios[::2], ratios[1::2], strict=True)]
    with_ = statistics.median(r["republish"]["percent"] for r in runs)
    without = statistics.median(r["project"]["percent"] for r in runs)
    print(
        f"median: republishing {with_:.3f}%, without {without:.3f}%, ratio "
        f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}); "
        f"by pair (both orders, geometric mean): {', '.join(f'{p:.3f}' for p in pairs)}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
