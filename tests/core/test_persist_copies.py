"""A new snapshot copied a few series at a time while points keep arriving: every
point saved once, in the snapshot or in the log after it, and the history restored
bit for bit."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pytest

from telemetry.errors import NotRun
from telemetry.history import Store
from telemetry.loopcall import OnLoop
from telemetry.persist import Commit, History, copies, history, records, snapshot
from telemetry.persist.log import Scan
from tests.core.persist_helpers import (
    ROLLUPS,
    START,
    add_commit,
    drive,
    loaded,
    new_store,
    series_for,
    store_state,
)

T = TypeVar("T")
SENSORS = ("a", "b", "d", "e", "f", "g")


def busy(store: Store, t0: float, step: int) -> None:
    """What arrives between two copies: a few new points in every series, a late one
    in one of them, and at the third step a new series."""
    for n, series in enumerate(list(store.series.values())):
        for k in range(7):
            series.append(t0 + step * 10 + k + 0.25 * n, float(step * 100 + k + n))
    first = next(iter(store.series.values()))
    assert first.append(t0 + step * 10 - 4.5, -1.0) is None  # late, among the stored
    if step == 3:
        series_for(store, "new", t0 + step * 10)


def saved_once(path: Path, widths: list[float]) -> None:
    """No point of the log after the snapshot is in the snapshot too."""
    saved = snapshot.read(path, widths)
    held = {s.id: {*s.raw[0].tolist(), *s.held[0].tolist()} for s in saved.series}
    with path.with_name(path.name + "-log").open("rb") as file:
        scan = Scan(file)
        keys: dict[int, str] = {}
        for _, data in scan.records():
            record = records.decode(data)
            keys.update({d.key: d.id for d in record.declared})
            keys.update({key: whole.id for key, whole in record.whole})
            for key, runs in record.points.by_key():
                logged = {t for ts, _, _ in runs for t in ts.tolist()}
                assert not logged & held.get(keys[key], set()), keys[key]


def test_series_copied_one_step_at_a_time_with_points_and_commits_between(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(copies, "COPY_BYTES", 1)  # one series a step
    path = tmp_path / "h.db"
    store = new_store()
    h = History(path)
    h.load(store)
    for sensor in SENSORS:
        series_for(store, sensor, START)
    drive(h, store, range(3))
    t0 = START + 10_000.0
    taken: list[Commit] = []
    steps = itertools.count(1)

    def owner(task: Callable[[], T]) -> T:
        step = next(steps)
        busy(store, t0, step)
        if step % 2 == 0:  # a commit while the copying goes on (the runtime's last)
            taken.append(h.snapshot(store))
        return task()

    h._whole_next = True
    commit = h.snapshot(store)
    assert commit.copies is not None
    copied = len(commit.copies.order)
    assert h.save(commit, owner)
    assert next(steps) == copied + 2  # one step a series, and one that finds none left
    assert taken and all(c.copies is None for c in taken)
    assert h.save(taken[-1])  # written after the snapshot, in order
    busy(store, t0, 100)
    drive(h, store, range(3, 5))
    h.close()
    again = loaded(path)
    assert store_state(again) == store_state(store)
    assert [s.entry.refused for s in again.series.values()] == [0] * len(store.series)
    saved_once(path, [w for w, _ in ROLLUPS])


def test_a_record_with_many_whole_series_becomes_a_new_snapshot(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More points than CHANGES_MAX since the last commit (a fill, a burst): each
    such series whole in the record, unless they are more than WHOLE_MAX bytes."""
    path = tmp_path / "h.db"
    store = Store(10, 100, 1e9, ROLLUPS)
    h = History(path)
    h.load(store)
    for sensor in SENSORS:
        series_for(store, sensor, START)
    drive(h, store, range(2))
    burst = START + 5000 + np.arange(5000.0)
    store.series["dev/a"].extend(burst, np.sin(burst))
    commit = h.snapshot(store)
    assert commit.copies is None and [s.id for _, s in commit.record.whole] == ["dev/a"]
    assert h.save(commit)
    monkeypatch.setattr(history, "WHOLE_MAX", store.series["dev/a"].nbytes)
    for sensor in ("b", "d"):
        store.series[f"dev/{sensor}"].extend(burst, np.cos(burst))
    compactions = h.compactions
    commit = h.snapshot(store)
    assert commit.copies is not None
    assert h.save(commit)
    assert h.compactions == compactions + 1
    busy(store, START + 20_000.0, 1)
    assert h.save(h.snapshot(store))
    h.close()
    again = Store(10, 100, 1e9, ROLLUPS)
    History(path).load(again)
    assert store_state(again) == store_state(store)


def test_snapshots_taken_on_a_running_loop_while_points_arrive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the runtime does it: the changes taken on the loop, the writing in a worker
    thread whose copies the loop runs between its other callbacks (a task storing
    points as fast as it can)."""
    monkeypatch.setattr(copies, "COPY_BYTES", 1)
    path = tmp_path / "h.db"
    store = new_store()
    h = History(path)

    async def run() -> int:
        h.load(store)
        for sensor in SENSORS:
            series_for(store, sensor, START)
        stop = asyncio.Event()
        stored = 0

        async def feed() -> None:
            nonlocal stored
            t = START
            while not stop.is_set():
                t += 0.5
                for series in store.series.values():
                    series.append(t, t % 7)
                stored += 1
                await asyncio.sleep(0)

        feeding = asyncio.create_task(feed(), name="test-feed")
        owner = OnLoop(asyncio.get_running_loop())
        for i in range(6):
            h._whole_next = i % 2 == 0  # snapshots and records, alternating
            assert await asyncio.to_thread(h.save, h.snapshot(store), owner)
        stop.set()
        await feeding
        assert await asyncio.to_thread(h.save, h.snapshot(store), owner)
        return stored

    assert asyncio.run(run()) > 10
    h.close()
    assert h.compactions >= 4
    again = loaded(path)
    assert store_state(again) == store_state(store)
    assert [s.entry.refused for s in again.series.values()] == [0] * len(store.series)
    saved_once(path, [w for w, _ in ROLLUPS])


def test_a_snapshot_that_fails_half_way_is_written_whole_by_the_next_commit(
    tmp_path: Path,
) -> None:
    """The loop gone in the middle of the copying: nothing written, and the series
    already copied (their changes started again) are not lost: the next commit is a
    new snapshot."""
    path = tmp_path / "h.db"
    store = new_store()
    h = History(path)
    h.load(store)
    drive(h, store, range(3))
    calls = itertools.count()

    def gone(task: Callable[[], T]) -> T:
        if next(calls) == 1:
            raise NotRun("the event loop is closed")
        return task()

    h._whole_next = True
    assert not h.save(h.snapshot(store), gone)
    add_commit(store, 3)
    commit = h.snapshot(store)
    assert commit.copies is not None
    assert h.save(commit)
    h.close()
    assert store_state(loaded(path)) == store_state(store)
