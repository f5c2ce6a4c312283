"""What the persistence tests share: a store, commits of known points, exact states.

`drive` adds the points of commit `i` and commits: three series at jittered
times, one created at the second commit, a late point and a repeat at the
third, a unit learned at the fourth; the same in a test and in the child
process it kills, so the parent knows what each commit held.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from telemetry.history import Series, Store
from telemetry.model import Reading
from telemetry.persist import History

ROOT = Path(__file__).resolve().parent.parent.parent
ROLLUPS = ((10.0, 3600.0), (60.0, 86400.0))
START = 1_700_000_000.0


def new_store(rollups: tuple[tuple[float, float], ...] = ROLLUPS) -> Store:
    return Store(10, 500, 900.0, rollups)


def reading(sensor: str, ts: float, value: float, unit: str | None = "C") -> Reading:
    return Reading("dev", sensor, value, unit, ts, ts)


def series_for(store: Store, sensor: str, ts: float, unit: str | None = "C") -> Series:
    series = store.create(reading(sensor, ts, 0.0, unit), "bench", unit)
    assert series is not None
    return series


def add_commit(store: Store, i: int, points: int = 40) -> None:
    """The points of commit `i`: sensor-like (two decimals) and full-precision noise."""
    rng = np.random.default_rng(i)
    t0 = START + i * points
    sensors = ("a", "b", "c") if i >= 1 else ("a", "b")
    for n, sensor in enumerate(sensors):
        series = series_for(store, sensor, t0)
        ts = t0 + np.arange(points) + rng.uniform(0.0, 0.02, points)
        if n == 0:
            values = np.round(20 + np.cumsum(rng.normal(0, 0.1, points)), 2)
        else:
            values = rng.normal(0, 1e3, points)
        for t, v in zip(ts.tolist(), values.tolist(), strict=True):
            series.append(t, v)
    if i == 2:  # a late point, and a repeat of a stored one (refused)
        a = store.series["dev/a"]
        assert a.append(t0 - 5.5, 99.25) is None
        assert a.append(t0 - 5.5, 99.25) == "duplicate"
    if i == 3:
        store.series["dev/b"].entry.set_unit("kWh")


def drive(history: History, store: Store, commits: range, points: int = 40) -> None:
    for i in commits:
        add_commit(store, i, points)
        assert history.save(history.snapshot(store))


def exact_state(series: Series) -> list[object]:
    """Everything a series answers with, bit for bit: raw points, every rollup's
    columns (the means too, so the sums behind them), its catalog entry."""
    ts, values = series.raw()
    bits: list[object] = [ts.view(np.uint64).tolist(), values.view(np.uint64).tolist()]
    for rollup in series._rollups:
        for key, column in sorted(rollup.buckets(-math.inf, math.inf).items()):
            bits.append((rollup.width, key, column.view(np.uint64).tolist()))
    e = series.entry
    meta = (e.device, e.sensor, e.unit, e.source, e.first_seen)
    return [*bits, meta, (e.count, e.last_ts, e.last_value)]


def store_state(store: Store) -> dict[str, list[object]]:
    return {sid: exact_state(series) for sid, series in sorted(store.series.items())}


def reference(commits: int, points: int = 40) -> dict[str, list[object]]:
    """The state after `commits` commits, kept in memory only (but taken the same way,
    so the same runs: a commit puts held points in)."""
    store = new_store()
    store.track_changes(whole=False)
    for i in range(commits):
        add_commit(store, i, points)
        for series in store.series.values():
            series.take_changes()
    return store_state(store)


def loaded(path: object) -> Store:
    store = new_store()
    history = History(str(path))
    history.load(store)
    history.close()
    return store
