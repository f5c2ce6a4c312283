"""The month benchmark's server: `telemetry serve`'s composition, its history filled first.

    python -m bench.month_server CONFIG PORT --series N --days D --ready FILE

Builds the server as `telemetry serve --config CONFIG --port PORT` does
(`load_config`, then `telemetry.server.make_server`: the runtime, the web app
and uvicorn, with the readers the config names), then, before it serves, fills
its store with N series (`month0/temperature`...) holding every point at 1 Hz
for the last D days, ending now.  Each series comes in as readings do, its
first reading through `Pipeline.add` (which makes the series and its state),
the rest through `Series.extend` (numpy over a run: filling a month point by
point would take hours), every series advancing together, in runs short
enough that the ring and the rollups grow through the sizes a running
server's do (`_chunks`), and the allocator sees that growth interleaved
across the series.  Each series' last few points come through `Pipeline.add`
one by one, so it holds some (0 to HOLD - 1, spread over the series) as a
running server's do at any moment.

Once it listens (and, with `[history] file` set, once the runtime has saved
the whole fill with its own `commit`), it writes a JSON object to FILE: the
seconds the fill and the commit took.  It then serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import os
import time
from collections.abc import Awaitable, Iterator
from pathlib import Path

import numpy as np

from telemetry.config import load_config
from telemetry.history import HOLD, FloatArray
from telemetry.model import Reading
from telemetry.runtime import Runtime
from telemetry.server import Server, make_server

HOUR = 3600
DAY = 24 * HOUR
SOURCE = "bench"


def series_name(n: int) -> tuple[str, str]:
    return f"month{n}", "temperature"


def _signal(ts: FloatArray) -> FloatArray:
    """A cheap signal that moves every second (what it is does not change the memory)."""
    return np.asarray(20.0 + (ts % 977.0) * 0.01, dtype=np.float64)


def _chunks(start: float, through: float) -> Iterator[FloatArray]:
    """The seconds after `start` up to `through`, in runs: HOLD seconds at a time (as a
    series flushes what it holds at 1 Hz) over the first two hours, while the raw ring
    and the finest rollup grow; an hour at a time until two days, which every coarser
    rollup's growth spans bucket by bucket; then four hours at a time."""
    t = start + 1
    while t <= through:
        age = t - start
        step = HOLD if age < 2 * HOUR else HOUR if age < 2 * DAY else 4 * HOUR
        ts = np.arange(t, min(t + step, through + 1))
        yield ts
        t = float(ts[-1]) + 1


def fill(runtime: Runtime, series: int, days: float, end: float) -> None:
    """`series` series with every point at 1 Hz over the `days` before `end`, all of
    them advancing together, a run at a time, as a running server's do."""
    pipeline = runtime.pipeline
    start = float(int(end - days * DAY))
    last = float(int(end))
    now = time.monotonic()
    made = []
    for n in range(series):
        device, sensor = series_name(n)
        value = float(_signal(np.array([start]))[0]) + n % 10
        pipeline.add(Reading(device, sensor, value, "°C", start, start), SOURCE, now)
        got = pipeline.store.get(f"{device}/{sensor}")
        if got is None:
            raise RuntimeError(f"series {device}/{sensor} was refused: raise [limits] max_series")
        made.append(got)
    together = max(start, last - HOLD)
    for ts in _chunks(start, together):
        values = _signal(ts)
        for n, one in enumerate(made):
            one.extend(ts, values + n % 10)
    for n, one in enumerate(made):
        tail = (n * 7919) % HOLD  # points it will be holding at the end
        device, sensor = series_name(n)
        for ts in _chunks(together, max(together, last - tail)):
            one.extend(ts, _signal(ts) + n % 10)
        for t in np.arange(max(together, last - tail) + 1, last + 1).tolist():
            value = float(_signal(np.array([t]))[0]) + n % 10
            pipeline.add(Reading(device, sensor, value, "°C", t, t), SOURCE, now)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.month_server")
    parser.add_argument("config")
    parser.add_argument("port", type=int)
    parser.add_argument("--series", type=int, required=True)
    parser.add_argument("--days", type=float, required=True)
    parser.add_argument("--ready", required=True, help="a file to write when ready")
    args = parser.parse_args()
    config = load_config(args.config)
    config = dataclasses.replace(config, server=dataclasses.replace(config.server, port=args.port))
    report: dict[str, float] = {}
    tasks: set[asyncio.Task[None]] = set()
    server: Server

    def on_ready(url: str) -> None:
        async def commit_then_report() -> None:
            # Filled once the runtime has started (its history loaded and tracking what
            # is stored, as a running server's is), then saved by its own commit.
            t0 = time.perf_counter()
            fill(server.runtime, args.series, args.days, time.time())
            report["fill_s"] = time.perf_counter() - t0
            t0 = time.perf_counter()
            if server.runtime.history is not None:
                saved: Awaitable[bool] = server.runtime.commit()
                if not await saved:
                    raise RuntimeError("the runtime's commit failed")
            report["commit_s"] = time.perf_counter() - t0
            ready = Path(args.ready)
            ready.with_suffix(".tmp").write_text(json.dumps(report), encoding="utf-8")
            os.replace(ready.with_suffix(".tmp"), ready)

        task = asyncio.get_running_loop().create_task(commit_then_report(), name="bench-ready")
        tasks.add(task)

    server = make_server(config, on_ready=on_ready)
    server.run()


if __name__ == "__main__":
    main()
