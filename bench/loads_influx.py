"""The influx load: what `[[output.influx]]` costs the server at 200 sensors at 1 Hz.

    python -m bench.loads_influx [--seconds 60] [--repeat 3] [--json FILE] [--same]

Two project servers side by side on the same publisher (200 sensors at 1 Hz, own
phases, `bench.loads_publisher`) and one SSE client each, as `bench.loads_alerts`
runs them: one with the usual config, one with the same config and an
`[[output.influx]]` writing every reading (about 1,000 points a second: the
sensors' five or four values each) to a real VictoriaMetrics (Debian's
`victoria-metrics`) on loopback, with the defaults (batches every second,
gzip).  The database runs beside the harness, on the cores not measured: only
the server's own CPU is counted.  The ratio is CPU with the output / CPU
without, window by window, each repeat a pair of windows in both start orders;
`--same` runs the second server without the output, for the noise between two
identical servers.  Each window says how many rows the database took, so a
window where the output wrote nothing cannot pass for a cheap one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import shutil
import statistics
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench.ingest import private_broker
from bench.model import BenchError
from simulators.broker import free_port


@contextlib.contextmanager
def victoria(folder: Path) -> Iterator[str]:
    """A VictoriaMetrics on a free loopback port; yields its URL."""
    program = shutil.which("victoria-metrics")
    if program is None:
        raise BenchError("victoria-metrics is not installed: sudo apt-get install victoria-metrics")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    argv = [program, f"-storageDataPath={folder}", f"-httpListenAddr=127.0.0.1:{port}"]
    with subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as db:
        try:
            deadline = time.monotonic() + 20
            while not _answers(url + "/health"):
                if db.poll() is not None or time.monotonic() > deadline:
                    raise BenchError("VictoriaMetrics did not start")
                time.sleep(0.05)
            yield url
        finally:
            db.terminate()
            db.wait(20)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=1):
            return True
    except OSError:
        return False


def rows(url: str) -> int:
    """Rows VictoriaMetrics took over line protocol so far."""
    with urllib.request.urlopen(url + "/metrics", timeout=5) as answer:
        for line in answer.read().decode().splitlines():
            if line.startswith('vm_rows_inserted_total{type="influx"}'):
                return int(float(line.split()[-1]))
    return 0


def run(
    seconds: float, repeat: int, *, same: bool = False, pairs: bool = True
) -> list[dict[str, Any]]:
    """`repeat` pairs of windows, each pair in both start orders (`pairs` False:
    one window a repeat, the output's server first: the smoke test's)."""
    from bench.loads import EXTRA_CONFIG, Load, measure  # noqa: PLC0415 (as loads_alerts)

    title = "200 sensors at 1 Hz, own phases, [[output.influx]], 1 client"
    load = Load("200-influx-1", title, 200, "spread", 1)
    other = f"project@{Path.cwd()}" if same else "influx"
    runs = []
    with (
        private_broker() as broker,
        tempfile.TemporaryDirectory(prefix="bench-influx-") as name,
        victoria(Path(name) / "victoria") as url,
    ):
        EXTRA_CONFIG["influx"] = f'\n[[output.influx]]\nname = "vm"\nurl = "{url}"\n'
        for i in range(repeat):
            both = ((other, "project"), ("project", other))[:: 1 if i % 2 == 0 else -1]
            for order in both if pairs else both[:1]:
                before = rows(url)
                r = measure(load, broker, Path(name), window=seconds, settle=5.0, order=order)
                r["influx"], r["first"] = r.pop(other), "influx" if order[0] == other else "project"
                r["rows"] = rows(url) - before
                runs.append(r)
                with_, without = r["influx"]["percent"], r["project"]["percent"]
                print(
                    f"{i + 1}/{repeat}, {r['first']} first: with the output {with_:.3f}%, "
                    f"without {without:.3f}%, ratio {with_ / without:.3f}, "
                    f"{r['rows']} rows written",
                    flush=True,
                )
    return runs


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.loads_influx", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="the measured window")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", help="also write the windows to this file")
    parser.add_argument(
        "--same", action="store_true", help="both servers without the output: the noise floor"
    )
    args = parser.parse_args(argv)
    runs = run(args.seconds, args.repeat, same=args.same)
    ratios = [r["influx"]["percent"] / r["project"]["percent"] for r in runs]
    pairs = [math.sqrt(a * b) for a, b in zip(ratios[::2], ratios[1::2], strict=True)]
    with_ = statistics.median(r["influx"]["percent"] for r in runs)
    without = statistics.median(r["project"]["percent"] for r in runs)
    print(
        f"median: with the output {with_:.3f}%, without {without:.3f}%, ratio "
        f"{statistics.median(ratios):.3f} ({min(ratios):.3f}-{max(ratios):.3f}); "
        f"by pair (both orders, geometric mean): {', '.join(f'{p:.3f}' for p in pairs)}"
    )
    if args.json:
        Path(args.json).write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
