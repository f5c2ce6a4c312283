"""The child processes of `bench.sdcard`, each built from a config as the server is.

    python -m bench.sdcard_child build FOLDER SERIES
    python -m bench.sdcard_child day FOLDER LAYOUT VALUES COMMITS DEVICE
    python -m bench.sdcard_child load FOLDER LAYOUT

Each makes a `Runtime` from `[history] file = ...` (the store, the pipeline and
the `History` the server would have) and prints one JSON object.

`build` fills SERIES series with a month and a day at 1 Hz (every point, given
with its time: `Series.extend` a day at a time), so the raw ring and every
rollup tier are full; a series past the 50th is a copy of an earlier one under
its own name (the same sizes, filled in seconds).  One commit saves it (a new
snapshot: more than `WHOLE_MAX` bytes of series whose changes are not all
known, each taken whole); then minutes of points are
committed until the log is one commit short of a new snapshot: `worst/`, the
largest log a load replays.  One more commit writes a new snapshot and
restarts the log: `best/`, as a server is after each new snapshot (its log
file as long as it grew, its records old).  `old/` is the same history saved
by version 1 (`bench.persist_v1`).

`day` loads a copy of `worst` (so the run starts with a new snapshot, whatever
the values: a day of sensor values fills less than a log) or `old`, and runs
COMMITS commits, each after one minute
of points for every series (`Series.append` point by point, as the pipeline
does), measuring `/proc/self/io` around each commit: `version 2` through the
runtime's `History` (the changes taken on the event loop, the save in a worker
thread that has the loop copy the series of a new snapshot a few at a time, as
`Runtime.commit`; the time on the loop is both), `old` through `HistoryV1` the
same way.  DEVICE
is the `/sys/block/<dev>/stat` of the file system FOLDER is on (or `-`): the
sectors it wrote over the measured commits are counted too.

`load` times `History.load` (or `HistoryV1.load`) of a layout in a fresh process.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from bench.persist_v1 import HistoryV1
from bench.procs import run_loop
from telemetry.config import parse_config
from telemetry.history import FloatArray, Series, Store
from telemetry.loopcall import OnLoop
from telemetry.model import Reading
from telemetry.persist import History
from telemetry.runtime import Runtime

DAY = 86_400
DAYS = 31  # the longest default tier keeps 30 days
START = 1_750_000_000.0
FILLED = 50  # series filled point by point; more are copies
ROLLUP_WIDTHS = (10.0, 60.0, 240.0, 7200.0)  # the default tiers (checked against the config)

T = TypeVar("T")


class TimedOnLoop:
    """`OnLoop`, adding up the time its tasks take on the loop (`spent`, `longest`)."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._on_loop = OnLoop(loop)
        self.spent = 0.0
        self.longest = 0.0

    def __call__(self, task: Callable[[], T], /) -> T:
        def timed() -> T:
            start = time.perf_counter()
            try:
                return task()
            finally:
                took = time.perf_counter() - start
                self.spent += took
                self.longest = max(self.longest, took)

        return self._on_loop(timed)


def proc_io() -> dict[str, int]:
    with open("/proc/self/io", encoding="ascii") as f:
        return {k: int(v) for k, v in (line.split(":") for line in f)}


def device_bytes(stat: str) -> int:
    with open(stat, encoding="ascii") as f:
        return int(f.read().split()[6]) * 512  # sectors written, of 512 bytes


def runtime_for(path: Path) -> Runtime:
    runtime = Runtime(parse_config(f'[history]\nfile = "{path}"\n'))
    widths = tuple(width for width, _ in runtime.pipeline.store.rollups)
    assert widths == ROLLUP_WIDTHS, widths
    return runtime


def points(
    rng: np.random.Generator, t0: float, n: int, values: str, level: float
) -> tuple[FloatArray, FloatArray]:
    """`n` readings at 1 Hz from `t0`: receive times (the second, plus a network and
    scheduling delay of a few milliseconds, at the clock's full precision) and
    values: `decimals` (a sensor's reading, one or two decimals) or `noisy` (a
    computed quantity at full float precision)."""
    delay = np.minimum(rng.gamma(2.0, 0.004, n), 0.5)
    ts: FloatArray = t0 + np.arange(n, dtype=np.float64) + delay
    walk: FloatArray = level + np.cumsum(rng.normal(0.0, 0.02, n))
    if values == "decimals":
        return ts, np.round(walk, 1 + int(level) % 2)
    noisy: FloatArray = walk + rng.normal(0.0, 0.05, n)
    return ts, noisy


def series_names(count: int) -> list[Reading]:
    return [Reading(f"dev{n}", "temperature", 0.0, "°C", START, START) for n in range(count)]


# -- build ----------------------------------------------------------------------------


def fill(store: Store, count: int) -> list[Series]:
    made = []
    for n, reading in enumerate(series_names(count)):
        series = store.create(reading, "bench", "°C")
        assert series is not None
        made.append(series)
        if n >= FILLED:
            continue
        rng = np.random.default_rng(n)
        level = 15.0 + n % 10
        for day in range(DAYS):
            ts, values = points(rng, START + day * DAY + n / count, DAY, "noisy", level)
            series.extend(ts, values)
            level = float(values[-1])
    for n in range(FILLED, count):  # copies, each under its own name
        copy = made[n % FILLED].snapshot()
        name = series_names(count)[n]
        store.restore([replace(copy, id=name.series, device=name.device)])
        made[n] = store.series[name.series]
    return made


async def commit(history: History, store: Store) -> None:
    """What `Runtime.commit` does."""
    owner = OnLoop(asyncio.get_running_loop())
    assert await asyncio.to_thread(history.save, history.snapshot(store), owner)


def minute(series: list[Series], t0: float, rng: np.random.Generator, values: str) -> None:
    for n, s in enumerate(series):
        ts, vs = points(rng, t0 + n / len(series), 60, values, 15.0 + n % 10)
        for t, v in zip(ts.tolist(), vs.tolist(), strict=True):
            s.append(t, v)


async def build(folder: Path, count: int) -> dict[str, Any]:
    runtime = runtime_for(folder / "live" / "h.db")
    store, history = runtime.pipeline.store, runtime.history
    assert history is not None
    await asyncio.to_thread(history.load, store)
    made = fill(store, count)
    await commit(history, store)  # every series whole: a new snapshot
    rng, t0 = np.random.default_rng(1), START + DAYS * DAY
    while history.log_bytes < 2 * history.snapshot_bytes:  # the next commit compacts
        minute(made, t0, rng, "noisy")
        t0 += 60
        await commit(history, store)
    assert history.compactions == 2, history.compactions
    worst = {"snapshot": history.snapshot_bytes, "log": history.log_bytes}
    shutil.copytree(folder / "live", folder / "worst")
    minute(made, t0, rng, "noisy")
    await commit(history, store)
    assert history.compactions == 3, history.compactions
    best = {"snapshot": history.snapshot_bytes, "log": history.log_bytes}
    shutil.copytree(folder / "live", folder / "best")
    history.close()
    shutil.rmtree(folder / "live")
    old = HistoryV1(folder / "old" / "h.db")
    assert old.save(old.snapshot(store))
    old.close()
    return {"best": best, "worst": worst, "old": files(folder / "old")}


def files(folder: Path) -> dict[str, int]:
    return {p.name: p.stat().st_size for p in folder.iterdir()}


# -- a day of commits -------------------------------------------------------------------


def new_buckets(t_from: float, t_to: float, count: int) -> int:
    return count * sum(int(t_to // w) - int(t_from // w) for w in ROLLUP_WIDTHS)


async def day(folder: Path, layout: str, values: str, commits: int, device: str) -> dict[str, Any]:
    runtime = runtime_for(folder / "h.db")
    store = runtime.pipeline.store
    history = runtime.history
    assert history is not None
    old = HistoryV1(folder / "h.db") if layout == "old" else None
    await asyncio.to_thread(old.load if old is not None else history.load, store)
    series = list(store.series.values())
    t0 = max(s.entry.last_ts for s in series) + 1.0
    rng = np.random.default_rng(7)
    rows = []
    sectors = 0  # written on the device until the commit before
    if device != "-":
        os.sync()
        sectors = device_bytes(device)
    for i in range(commits):
        minute(series, t0 + 60 * i, rng, values)
        io0, start, compactions = proc_io(), time.perf_counter(), history.compactions
        if old is not None:
            taken = old.snapshot(store)
            loop = step = time.perf_counter() - start
            assert await asyncio.to_thread(old.save, taken)
        else:
            taken_new = history.snapshot(store)
            loop = time.perf_counter() - start
            owner = TimedOnLoop(asyncio.get_running_loop())
            assert await asyncio.to_thread(history.save, taken_new, owner)
            step = max(loop, owner.longest)
            loop += owner.spent
        io1, took = proc_io(), time.perf_counter() - start
        written = None
        if device != "-":
            written, sectors = device_bytes(device) - sectors, device_bytes(device)
        rows.append(
            {
                "device": written,
                "write_bytes": io1["write_bytes"] - io0["write_bytes"],
                "wchar": io1["wchar"] - io0["wchar"],
                "loop_s": loop,
                "step_s": step,
                "commit_s": took,
                "compacted": history.compactions > compactions,
                "log_bytes": history.log_bytes,
                "snapshot_bytes": history.snapshot_bytes,
            }
        )
    (old or history).close()
    if device != "-":  # what the file system wrote after the last commit (its journal)
        os.sync()
        rows[-1]["device"] = int(rows[-1]["device"] or 0) + device_bytes(device) - sectors
    span = (t0, t0 + 60.0 * commits)  # the commits' minutes
    return {
        "rows": rows,
        "series": len(series),
        "new_points": len(series) * 60 * commits,
        "new_buckets": new_buckets(span[0] - 1.0, span[1] - 1.0, len(series)),
        "files": files(folder),
    }


# -- load ---------------------------------------------------------------------------------


def load(folder: Path, layout: str) -> dict[str, Any]:
    runtime = runtime_for(folder / "h.db")
    store, history = runtime.pipeline.store, runtime.history
    assert history is not None
    start, cpu = time.perf_counter(), time.process_time()
    if layout == "old":
        HistoryV1(folder / "h.db").load(store)
    else:
        history.load(store)
    took, cpu = time.perf_counter() - start, time.process_time() - cpu
    return {"load_s": took, "cpu_s": cpu, "series": len(store.series), "bytes": store.nbytes()}


if __name__ == "__main__":
    command, where = sys.argv[1], Path(sys.argv[2])
    if command == "build":
        out = run_loop(build(where, int(sys.argv[3])))
    elif command == "day":
        out = run_loop(day(where, sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6]))
    else:
        out = load(where, sys.argv[3])
    print(json.dumps(out))
