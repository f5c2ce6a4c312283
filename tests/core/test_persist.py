"""Saving the history to SQLite and restoring it: same answers after a restart."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from telemetry.config import Config
from telemetry.history import Ring, Rollup, Store
from telemetry.model import RawMessage, Reading, Route
from telemetry.persist import History
from telemetry.runtime import Runtime

ROLLUPS = ((10.0, 3600.0), (60.0, 86400.0))


def reading(sensor: str, ts: float, value: float) -> Reading:
    return Reading("dev", sensor, value, "C", ts, ts)


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
    for sid, series in store.series.items():
        info, back = series.entry, again.series[sid].entry
        assert answers(again, sid) == answers(store, sid)
        assert (back.count, back.last_ts, back.last_value) == (
            info.count,
            info.last_ts,
            info.last_value,
        )
        assert (back.unit, back.source, back.first_seen) == ("C", "bench", 1000.0)
        series.flush()
        again.series[sid].flush()
        for a, b in zip(series._rollups, again.series[sid]._rollups, strict=True):
            assert a.buckets(-np.inf, np.inf)["count"].tolist() == (
                b.buckets(-np.inf, np.inf)["count"].tolist()
            )


def test_create_returns_the_restored_series_and_appends_continue(tmp_path: Path) -> None:
    store = filled()
    save(store, tmp_path / "h.db")
    again = restored(tmp_path / "h.db")
    series = again.create(reading("a", 3000.0, 5.0), "bench", "C")
    assert series is again.series["dev/a"]
    assert series.append(3000.0, 5.0) is None
    series.flush()
    assert series._ring.last_ts == 3000.0
    assert series._rollups[0].buckets(2990.0, 3000.0)["last"].tolist() == [5.0]
    for i in range(3000):  # the restored buffers keep growing and wrapping
        assert series.append(3001.0 + i, float(i)) is None
    series.flush()
    assert len(series._ring) == 500


def test_saves_only_write_changed_series_and_keep_the_rest(tmp_path: Path) -> None:
    store = filled()
    history = History(tmp_path / "h.db")
    assert len(history.snapshot(store)) == 2
    assert history.save(history.snapshot(store))
    assert history.snapshot(store) == []
    store.series["dev/a"].append(5000.0, 1.0)
    changed = history.snapshot(store)
    assert [s.id for s in changed] == ["dev/a"]
    assert history.save(changed)
    history.close()
    again = restored(tmp_path / "h.db")
    assert again.series["dev/a"].entry.last_ts == 5000.0
    assert answers(again, "dev/b") == answers(store, "dev/b")


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
    save(filled(), tmp_path / "h.db")
    store = Store(1, 500, 900.0, ROLLUPS)
    assert History(tmp_path / "h.db").load(store) == 1
    assert len(store.series) == 1


@pytest.mark.parametrize(
    "content", [b"this is not a database at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000]
)
def test_a_corrupt_file_starts_empty_with_one_warning(
    tmp_path: Path, content: bytes, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "h.db"
    path.write_bytes(content)
    store = Store(10, 500, 900.0, ROLLUPS)
    history = History(path)
    with caplog.at_level(logging.WARNING, logger="telemetry.persist"):
        assert history.load(store) == 0
    assert store.series == {}
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1
    assert "cannot be read" in warnings[0].getMessage()
    assert (tmp_path / "h.db.unreadable").read_bytes() == content
    # Saving starts a fresh file.
    assert history.save(history.snapshot(filled()))
    history.close()
    assert set(restored(path).series) == {"dev/a", "dev/b"}


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
        store = Store(10, 500, 900.0, ROLLUPS)
        with caplog.at_level(logging.WARNING, logger="telemetry.persist"):
            assert History(path).load(store) == 0
        assert store.series == {}
        assert why in caplog.text
        assert path.with_name(path.name + ".unreadable").exists()


def test_a_missing_file_is_created_empty(tmp_path: Path) -> None:
    path = tmp_path / "sub" / "h.db"
    store = Store(10, 500, 900.0, ROLLUPS)
    history = History(path)
    assert history.load(store) == 0
    history.close()
    assert path.exists()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


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
