"""The server the browser benchmark's pages load: the real app, its history full.

`python -m bench.browser_server PORT`: the real app on 127.0.0.1 with an
in-process `SimulatedSource` of `SERIES` series at `RATE` Hz, half in °C and half
in % (so the page draws two charts), their readings spread over each second (a
sensor's `phase`) as independent devices' are.  Before it listens, each series'
history is filled point by point at the same rate for the last `FILLED` seconds
(the longest range measured and a margin), from the same signal, into the
server's own store (the path a history loaded from disk takes): a window of any
measured range is full from the moment a page opens, and the live points go on
from there.
"""

from __future__ import annotations

import contextlib
import json
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

from bench import fanout
from bench.browser_pages import UNITS
from bench.fanout_server import HOST
from bench.model import BenchError

SERIES = 20
RATE = 1.0  # Hz per series
FILLED = 3600 + 120  # s of history before the server listens
SOURCE = "bench"


class BrowserError(BenchError):
    """A page did not get ready, or the server did not get its series."""


def sensors() -> list[Any]:
    """`SERIES` series at `RATE` Hz: dev0..dev9 with t (°C) and h (%), spread over
    each interval."""
    from simulators import signals  # noqa: PLC0415
    from simulators.inprocess import SimSensor  # noqa: PLC0415

    out = []
    for i in range(SERIES):
        celsius = i % 2 == 0
        out.append(
            SimSensor(
                f"dev{i // 2}",
                "t" if celsius else "h",
                UNITS[0] if celsius else UNITS[1],
                1 / RATE,
                signals.sine(20.0 if celsius else 50.0, 5.0, 600.0 + 37 * i, noise=0.05, seed=i),
                phase=i / SERIES / RATE,
            )
        )
    return out


def fill(store: Any, sensors: list[Any], now: float) -> int:
    """Each sensor's points at its rate and phase over the `FILLED` seconds before
    `now`, into `store`; how many points."""
    from telemetry.model import Reading  # noqa: PLC0415

    count = 0
    for s in sensors:
        series = store.create(Reading(s.device, s.sensor, 0.0, s.unit, now, now), SOURCE, s.unit)
        t = now - FILLED + s.phase
        while t < now:
            value = s.signal(t - now)
            series.append(t, round(value, s.decimals))
            t += s.interval
            count += 1
    return count


def serve(port: int) -> None:
    """The real app on 127.0.0.1:`port`, its history filled, `sensors()` in process."""
    from simulators.inprocess import SimulatedSource  # noqa: PLC0415
    from telemetry.config import Config, ServerConfig  # noqa: PLC0415
    from telemetry.server import make_server  # noqa: PLC0415

    config = Config(server=replace(ServerConfig(), host=HOST, port=port))
    simulated = sensors()
    server = make_server(config, [SimulatedSource(SOURCE, simulated)])
    fill(server.runtime.pipeline.store, simulated, time.time())
    server.run()


@contextlib.contextmanager
def running() -> Iterator[str]:
    """The server in its own process; yields its origin once it lists every series."""
    # The page is what is measured here: the server runs with the other processes.
    with fanout.server_process("project", ["-m", "bench.browser_server"], [], measured=False) as (
        _,
        port,
    ):
        origin = f"http://{HOST}:{port}"
        deadline = time.monotonic() + 30
        while _series_count(origin) < SERIES:
            if time.monotonic() > deadline:
                raise BrowserError(f"the server did not list {SERIES} series within 30 s")
            time.sleep(0.1)
        yield origin


def _series_count(origin: str) -> int:
    with urllib.request.urlopen(f"{origin}/api/series", timeout=5) as response:
        return len(json.load(response)["series"])


if __name__ == "__main__":
    serve(int(sys.argv[1]))
