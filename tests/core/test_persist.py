"""Saving the history (a snapshot and a log) and restoring it: the same answers after
a restart, bit for bit."""

from __future__ import annotations

import asyncio
import logging
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.persist_v1 import HistoryV1
from telemetry.config import Config
from telemetry.history import Ring, Rollup, Store
from telemetry.model import RawMessage, Route
from telemetry.persist import History, history
from telemetry.runtime import Runtime
from tests.core.persist_helpers import (
    ROLLUPS,
    add_commit,
    drive,
    loaded,
    new_store,
    reading,
    reference,
    store_state,
)


def filled(rollups: tuple[tuple[float, float], ...] = ROLLUPS) -> Store:
    store = Store(10, 500, 900.0, rollups)
    rng = np.random.default_rng(1)
    for sensor in ("a", "b"):
        series = store.create(reading(sensor, 1000.0, 1.0), "bench", "C")
        assert series is not None
        for i in range(2000):
            series.append(1000.0 + i * 0.7, float(rng.normal()))
        series.append(1500.3, 42.0)  # a late point
        for i in range(100):  # held, not yet in the ring and the rollups
            series.append(2500.0 + i, float(i))
    return store


def save(store: Store, path: Path) -> None:
    history = History(path)
    assert history.save(history.snapshot(store))
    history.close()


def restored(path: Path, rollups: tuple[tuple[float, float], ...] = ROLLUPS) -> Store:
    store = Store(10, 500, 900.0, rollups)
    history = History(path)
    history.load(store)
    history.close()
    return store


def answers(store: Store, sid: str) -> list[tuple[str, list[float], list[float]]]:
    series = store.series[sid]
    out = []
    for start, end, n in ((0.0, 1e12, 400), (2000.0, 2400.0, 1000), (1100.0, 2300.0, 40)):
        got = series.query(start, end, n)
        out.append((got.source, got.ts.tolist(), got.values.tolist()))
    return out


def test_a_round_trip_gives_the_same_answers(tmp_path: Path) -> None:
    store = filled()
    save(store, tmp_path / "h.db")
    again = restored(tmp_path / "h.db")
    assert set(again.series) == {"dev/a", "dev/b"}
    assert store_state(again) == store_state(store)
    for sid in store.series:
        assert answers(again, sid) == answers(store, sid)


def test_commits_replayed_from_the_log_give_the_history_back_bit_for_bit(tmp_path: Path) -> None:
    """New series, late points, a repeat, a unit learned later, sensor-like and
    full-precision values: all through log records, none through a snapshot."""
    path = tmp_path / "h.db"
    store = new_store()
    history = History(path)
    assert history.load(store) == 0
    drive(history, store, range(6))
    history.close()
    assert history.compactions == 1  # the empty snapshot made at load
    assert store_state(loaded(path)) == store_state(store) == reference(6)
    assert loaded(path).series["dev/b"].entry.unit == "kWh"


def test_a_commit_writes_only_what_changed(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    store = new_store()
    history = History(path)
    history.load(store)
    drive(history, store, range(2))
    size = history.log_path.stat().st_size
    assert history.save(history.snapshot(store))  # nothing new: nothing written
    assert history.log_path.stat().st_size == size
    store.series["dev/a"].append(1e10, 1.5)
    commit = history.snapshot(store)
    assert commit.copies is None and not commit.record.declared
    assert [
        (key, [ts.tolist() for ts, _, _ in runs]) for key, runs in commit.record.points.by_key()
    ] == [
        (0, [[1e10]])  # held: as it is held
    ]
    assert history.save(commit)
    assert 0 < history.log_path.stat().st_size - size < 200  # one point, and the frame
    history.close()
    assert store_state(loaded(path)) == store_state(store)


def test_the_log_grown_past_twice_the_snapshot_is_compacted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(history, "MIN_LOG", 0)
    monkeypatch.setattr(history, "COMPACT_RATIO", 0.1)  # a small store: compact often
    path = tmp_path / "h.db"
    store = new_store()
    h = History(path)
    h.load(store)
    sizes = []
    for i in range(40):
        drive(h, store, range(i, i + 1))
        sizes.append((h.compactions, h.snapshot_bytes, h.log_bytes))
        assert h.log_bytes < 0.1 * h.snapshot_bytes + 2_000  # one record past the bound at most
    h.close()
    assert sizes[-1][0] >= 3  # the load's, and at least two more
    assert any(log == 24 for _, _, log in sizes[1:])  # the log started again (its header)
    assert store_state(loaded(path)) == store_state(store) == reference(40)


def test_records_the_snapshot_includes_are_skipped(tmp_path: Path) -> None:
    """A power cut after a new snapshot is renamed into place and before the new log
    replaces the old: the old log's records are all in the snapshot."""
    path = tmp_path / "h.db"
    store = new_store()
    h = History(path)
    h.load(store)
    drive(h, store, range(3))
    old_log = h.log_path.read_bytes()
    h._whole_next = True  # the next commit writes a snapshot
    drive(h, store, range(3, 4))
    h.close()
    h.log_path.write_bytes(old_log)
    again = new_store()
    h = History(path)
    h.load(again)
    assert store_state(again) == reference(4)
    drive(h, again, range(4, 6))  # the stale log goes on
    h.close()
    assert store_state(loaded(path)) == reference(6)


def test_a_version_1_file_still_loads_and_becomes_a_version_2_file(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    store = filled()
    old = HistoryV1(tmp_path / "old.db")
    assert old.save(old.snapshot(store))
    store.series["dev/a"].append(9000.0, 3.0)  # a second commit, in the WAL
    assert old.save(old.snapshot(store))
    # The files as a power cut leaves them: the WAL not checkpointed into the file.
    for suffix in ("", "-wal"):
        path.with_name("h.db" + suffix).write_bytes((tmp_path / f"old.db{suffix}").read_bytes())
    old.close()
    assert path.with_name("h.db-wal").stat().st_size > 0
    again = new_store()
    h = History(path)
    assert h.load(again) == 2
    assert not path.with_name("h.db-wal").exists()  # read, and checkpointed
    assert again.series["dev/a"].entry.last_ts == 9000.0
    assert store_state(again) == store_state(store)  # held points held
    assert h.save(h.snapshot(again))  # the first commit writes a version 2 snapshot
    h.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    assert store_state(loaded(path)) == store_state(again)


def test_a_changed_rollup_config_keeps_what_still_fits(tmp_path: Path) -> None:
    store = filled()
    save(store, tmp_path / "h.db")
    # 10 s buckets now kept for 5 minutes only; 60 s gone; 300 s new.
    again = restored(tmp_path / "h.db", ((10.0, 300.0), (300.0, 86400.0)))
    fine, coarse = again.series["dev/a"]._rollups
    assert (fine.width, coarse.width) == (10.0, 300.0)
    assert coarse.newest < 0  # new: starts empty
    kept = fine.buckets(-np.inf, np.inf)
    before = store.series["dev/a"]._rollups[0].buckets(-np.inf, np.inf)
    assert 0 < len(kept["ts"]) <= fine.capacity
    n = len(kept["ts"])
    assert kept["ts"].tolist() == before["ts"][-n:].tolist()
    assert kept["mean"].tolist() == before["mean"][-n:].tolist()


def test_a_smaller_raw_ring_is_trimmed(tmp_path: Path) -> None:
    store = filled()
    save(store, tmp_path / "h.db")
    small = Store(10, 100, 30.0, ROLLUPS)
    History(tmp_path / "h.db").load(small)
    ts, _ = small.series["dev/a"].raw()
    assert 0 < len(ts) <= 100
    assert ts[-1] - ts[0] <= 30.0
    assert ts[-1] == store.series["dev/a"].raw()[0][-1]


def test_the_series_cap_applies_to_restored_series(tmp_path: Path) -> None:
    path = tmp_path / "h.db"
    h = History(path)
    h.load(new_store())
    drive(h, new_store(), range(3))  # a store of its own: every series whole, then its log
    h.close()
    store = Store(1, 500, 900.0, ROLLUPS)
    assert History(path).load(store) == 1
    assert len(store.series) == 1


@pytest.mark.parametrize(
    "content", [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000]
)
def test_a_corrupt_file_starts_empty_with_one_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "h.db"
    path.write_bytes(content)
    (tmp_path / "h.db-log").write_bytes(b"TELMLOG1" + bytes(16))
    store = new_store()
    h = History(path)
    with caplog.at_level(logging.WARNING, logger="telemetry.persist"):
        assert h.load(store) == 0
    assert store.series == {}
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "cannot be read" in warnings[0].getMessage()
    assert (tmp_path / "h.db.unreadable").read_bytes() == content
    assert (tmp_path / "h.db.unreadable-log").exists()  # its log went with it
    # Saving goes on in fresh files.
    drive(h, store, range(2))
    h.close()
    assert store_state(loaded(path)) == reference(2)


def test_a_foreign_database_or_another_version_is_not_read(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    foreign = tmp_path / "other.db"
    with sqlite3.connect(foreign) as conn:
        conn.execute("CREATE TABLE notes (x)")
    conn.close()
    newer = tmp_path / "newer.db"
    save(filled(), newer)
    with sqlite3.connect(newer) as conn:
        conn.execute("PRAGMA user_version = 99")
    conn.close()
    for path, why in ((foreign, "not a telemetry history"), (newer, "schema version 99")):
        caplog.clear()
        store = new_store()
        with caplog.at_level(logging.WARNING, logger="telemetry.persist"):
            assert History(path).load(store) == 0
        assert store.series == {}
        assert why in caplog.text
        assert path.with_name(path.name + ".unreadable").exists()


def test_a_missing_file_is_created_empty(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "h.db"
    h = History(path)
    assert h.load(new_store()) == 0
    h.close()
    assert path.exists() and h.log_path.stat().st_size == 24  # a header alone
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM series").fetchone()[0] == 0
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    conn.close()
    assert list(path.parent.iterdir()) == [path, h.log_path] or set(path.parent.iterdir()) == {
        path,
        h.log_path,
    }


def test_a_failed_write_is_reported_and_the_next_commit_saves_everything(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A disk error in the middle of an append: the half record is cut off, and as
    its changes are gone from the series, the next commit writes them all."""
    path = tmp_path / "h.db"
    store = new_store()
    h = History(path)
    h.load(store)
    drive(h, store, range(2))
    size = h.log_path.stat().st_size

    def half_then_fail(fd: int, data: bytes, offset: int) -> None:
        os.pwrite(fd, data[: len(data) // 2], offset)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("telemetry.persist.log._write_all", half_then_fail)
    add_commit(store, 2)
    with caplog.at_level(logging.WARNING, logger="telemetry.persist"):
        assert not h.save(h.snapshot(store))
    assert "No space left" in caplog.text
    assert h.log_path.stat().st_size > size  # half a record: overwritten by the next
    monkeypatch.undo()
    drive(h, store, range(3, 5))
    h.close()
    assert h.compactions == 2
    assert store_state(loaded(path)) == reference(5)


def test_ring_and_rollup_restore_refuse_inconsistent_state() -> None:
    with pytest.raises(ValueError, match="in order"):
        Ring.restore(10, 60.0, np.array([2.0, 1.0]), np.array([1.0, 1.0]))
    rollup = Rollup(10.0, 3600.0)
    rollup.add(100.0, 1.0)
    newest, oldest, columns = rollup.snapshot()
    with pytest.raises(ValueError, match="fit"):
        Rollup.restore(10.0, 3600.0, newest + 100, oldest, columns)


def test_with_no_file_the_runtime_never_opens_a_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError(f"sqlite3.connect{args} with persistence off")

    monkeypatch.setattr(sqlite3, "connect", refuse)
    monkeypatch.chdir(tmp_path)
    runtime = Runtime(Config())
    route = Route("t", "mqtt", "number", template="{device}/{sensor...}")

    async def run() -> bool:
        await runtime.start()
        runtime.pipeline.ingest([RawMessage(route, "a/t", b"1", 100.0)])
        saved = await runtime.commit()
        await runtime.stop()
        return saved

    assert asyncio.run(run()) is False
    assert runtime.pipeline.store.series["a/t"].entry.count == 1
    assert not runtime.pipeline.store.tracking  # nothing kept for a save that never comes
    assert list(tmp_path.iterdir()) == []


def test_a_server_without_a_history_file_does_not_load_sqlite() -> None:
    """Persistence off: not even the library is in memory."""
    code = (
        "import sys; from telemetry.config import Config; from telemetry.runtime import Runtime; "
        "import telemetry.server; Runtime(Config()); print('sqlite3' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"
