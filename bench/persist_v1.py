"""The history's persistence before the snapshot and the log: the baseline.

`HistoryV1` is `telemetry/persist.py`'s saving as it was at commit 4c89a6d, copied
unchanged but for the names: one SQLite file in WAL mode (`synchronous=NORMAL`);
every commit copies each series that changed since the last save (its whole
ring, rollups and held points) on the event loop and rewrites them in one
transaction.  `python -m bench --only sdcard` measures its writes beside the
new layout's; the tests write a version 1 file with it, to check it still loads.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import numpy.typing as npt

from telemetry.history import FloatArray, SeriesSnapshot, Store
from telemetry.model import series_id

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1
APPLICATION_ID = 0x54454C4D  # "TELM": tells our files from other SQLite databases
RAW = "raw"
HELD = "held"  # points a series held, not yet in its ring and rollups (raw columns)

# Stored byte order and type of every array column, by name.
RAW_COLUMNS = (("ts", "<f8"), ("value", "<f8"))
ROLLUP_COLUMNS = (
    ("first", "<f4"),
    ("last", "<f4"),
    ("low", "<f4"),
    ("high", "<f4"),
    ("first_at", "<f4"),
    ("last_at", "<f4"),
    ("sum", "<f8"),
    ("count", "<u4"),
)
BLOB_COLUMNS = tuple(name for name, _ in RAW_COLUMNS + ROLLUP_COLUMNS)

SCHEMA = f"""
CREATE TABLE series (
    id TEXT PRIMARY KEY,
    device TEXT NOT NULL,
    sensor TEXT NOT NULL,
    unit TEXT,
    source TEXT NOT NULL,
    first_seen REAL NOT NULL,
    last_ts REAL,
    last_value REAL,
    count INTEGER NOT NULL
);
CREATE TABLE arrays (
    series TEXT NOT NULL REFERENCES series(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,  -- 'raw', or a rollup's bucket width in seconds
    newest INTEGER NOT NULL,
    oldest INTEGER NOT NULL,
    {", ".join(f'"{name}" BLOB' for name in BLOB_COLUMNS)},
    PRIMARY KEY (series, kind)
);
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
"""

_BLOBS = ", ".join(f'"{name}"' for name in BLOB_COLUMNS)
_MARKS = ", ".join("?" for _ in BLOB_COLUMNS)
INSERT_ARRAYS = (
    f"INSERT INTO arrays (series, kind, newest, oldest, {_BLOBS}) VALUES (?, ?, ?, ?, {_MARKS})"
)
SELECT_ARRAYS = f"SELECT series, kind, newest, oldest, {_BLOBS} FROM arrays"

AnyArray = npt.NDArray[np.generic]


class UnreadableHistory(Exception):
    """The file is not a history this version can read."""


def _kind(width: float) -> str:
    return repr(float(width))


def _blob(array: AnyArray, dtype: str) -> bytes:
    return np.ascontiguousarray(array, dtype=dtype).tobytes()


def _array(blob: object, dtype: str) -> AnyArray:
    """A stored column as a writable array in the machine's byte order."""
    if not isinstance(blob, bytes):
        raise UnreadableHistory("an array column is not a blob")
    stored = np.dtype(dtype)
    if len(blob) % stored.itemsize:
        raise UnreadableHistory("an array blob has a partial element")
    return np.frombuffer(blob, dtype=stored).astype(stored.newbyteorder("="))


def _raw(row: tuple[int, int, tuple[object, ...]] | None) -> tuple[FloatArray, FloatArray]:
    """A saved row of raw points (`raw` or `held`) as its two columns."""
    if row is None:
        return np.empty(0), np.empty(0)
    data = row[2][: len(RAW_COLUMNS)]
    ts, values = (_array(blob, t) for blob, (_, t) in zip(data, RAW_COLUMNS, strict=True))
    return ts.astype(np.float64), values.astype(np.float64)


class HistoryV1:
    """The SQLite file at `path`, saved as version 1 did."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()  # saves run in worker threads, one at a time
        self._conn: sqlite3.Connection | None = None
        self._saved: dict[str, int] = {}  # series id -> its count when last saved

    # -- the event loop's part -------------------------------------------------

    def snapshot(self, store: Store) -> list[SeriesSnapshot]:
        """Copies of every series changed since the last save (all of them the first
        time).  Quick: run it on the event loop, where the store is consistent."""
        return [
            series.snapshot()
            for series in store.series.values()
            if self._saved.get(series.id) != series.entry.count
        ]

    # -- the worker thread's part ----------------------------------------------

    def _connect(self) -> sqlite3.Connection:
        if self._conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                self._check_schema(conn)
            except BaseException:
                conn.close()
                raise
            self._conn = conn
        return self._conn

    def _check_schema(self, conn: sqlite3.Connection) -> None:
        app = conn.execute("PRAGMA application_id").fetchone()[0]
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        if app == 0 and version == 0 and tables == 0:  # a new, empty file
            conn.executescript(f"BEGIN;{SCHEMA}COMMIT;")
            return
        if app != APPLICATION_ID:
            raise UnreadableHistory("it is not a telemetry history (another database)")
        if version != SCHEMA_VERSION:
            raise UnreadableHistory(
                f"it has schema version {version}; this version reads {SCHEMA_VERSION}"
            )

    def save(self, snapshot: Iterable[SeriesSnapshot]) -> bool:
        """Write the snapshot in one transaction; False (logged) when that failed."""
        snapshot = list(snapshot)
        with self._lock:
            try:
                self._write(snapshot)
            except (sqlite3.Error, OSError, UnreadableHistory) as exc:
                logger.warning("history not saved to %s: %s", self.path, exc)
                return False
        for s in snapshot:
            self._saved[s.id] = s.count
        return True

    def _write(self, snapshot: list[SeriesSnapshot]) -> None:
        conn = self._connect()
        conn.execute("BEGIN IMMEDIATE")
        try:
            for s in snapshot:
                conn.execute(
                    "INSERT OR REPLACE INTO series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        s.id,
                        s.device,
                        s.sensor,
                        s.unit,
                        s.source,
                        s.first_seen,
                        s.last_ts,
                        s.last_value,
                        s.count,
                    ),
                )
                conn.execute("DELETE FROM arrays WHERE series = ?", (s.id,))
                rows: list[tuple[object, ...]] = []
                raw = [_blob(a, t) for a, (_, t) in zip(s.raw, RAW_COLUMNS, strict=True)]
                rows.append((s.id, RAW, -1, -1, *raw, *[None] * len(ROLLUP_COLUMNS)))
                if len(s.held[0]):
                    held = [_blob(a, t) for a, (_, t) in zip(s.held, RAW_COLUMNS, strict=True)]
                    rows.append((s.id, HELD, -1, -1, *held, *[None] * len(ROLLUP_COLUMNS)))
                for width, newest, oldest, columns in s.rollups:
                    cols = [_blob(a, t) for a, (_, t) in zip(columns, ROLLUP_COLUMNS, strict=True)]
                    rows.append((s.id, _kind(width), newest, oldest, None, None, *cols))
                conn.executemany(INSERT_ARRAYS, rows)
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise

    def load(self, store: Store) -> int:
        """Restore the saved series into `store` (empty); how many.  An unreadable file
        is moved aside with one warning and the history starts empty."""
        if not self.path.exists():
            try:
                with self._lock:
                    self._connect()
            except (sqlite3.Error, OSError, UnreadableHistory) as exc:
                logger.warning("history file %s cannot be created: %s", self.path, exc)
            return 0
        try:
            with self._lock:
                restored = self._read(store)
            added = store.restore(restored)
        except (sqlite3.Error, OSError, UnreadableHistory, ValueError) as exc:
            self._set_aside(exc)
            return 0
        counts = {s.id: s.count for s in restored}
        for sid in added:
            self._saved[sid] = counts[sid]
        skipped = len(restored) - len(added)
        if skipped:
            logger.warning(
                "history: %d saved series not restored: the limit of %d series is reached",
                skipped,
                store.max_series,
            )
        logger.info("history: restored %d series from %s", len(added), self.path)
        return len(added)

    def _read(self, store: Store) -> list[SeriesSnapshot]:
        conn = self._connect()
        arrays: dict[str, dict[str, tuple[int, int, tuple[object, ...]]]] = {}
        conn.execute("BEGIN")
        try:
            for sid, kind, newest, oldest, *data in conn.execute(SELECT_ARRAYS):
                arrays.setdefault(sid, {})[kind] = (int(newest), int(oldest), tuple(data))
            rows = conn.execute(
                "SELECT id, device, sensor, unit, source, first_seen, last_ts, last_value, "
                "count FROM series ORDER BY first_seen"
            ).fetchall()
        finally:
            conn.execute("COMMIT")
        out = []
        for sid, device, sensor, unit, source, first_seen, last_ts, last_value, count in rows:
            if series_id(device, sensor) != sid:
                raise UnreadableHistory(f"series {sid!r} does not match its device and sensor")
            saved = arrays.get(sid, {})
            rollups = []
            for width, _keep in store.rollups:
                if _kind(width) in saved:
                    newest, oldest, data = saved[_kind(width)]
                    columns = tuple(
                        _array(blob, t)
                        for blob, (_, t) in zip(
                            data[len(RAW_COLUMNS) :], ROLLUP_COLUMNS, strict=True
                        )
                    )
                    rollups.append((width, newest, oldest, columns))
            out.append(
                SeriesSnapshot(
                    id=sid,
                    device=device,
                    sensor=sensor,
                    unit=unit,
                    source=source,
                    first_seen=float(first_seen),
                    last_ts=float(last_ts if last_ts is not None else first_seen),
                    last_value=float(last_value if last_value is not None else 0.0),
                    count=int(count),
                    raw=_raw(saved.get(RAW)),
                    rollups=tuple(rollups),
                    held=_raw(saved.get(HELD)),
                )
            )
        return out

    def _set_aside(self, exc: BaseException) -> None:
        self.close()
        aside = self.path.with_name(self.path.name + ".unreadable")
        try:
            for suffix in ("", "-wal", "-shm"):
                part = self.path.with_name(self.path.name + suffix)
                if part.exists():
                    part.replace(aside.with_name(aside.name + suffix))
        except OSError as move:
            logger.warning(
                "history file %s cannot be read (%s) nor moved aside (%s): "
                "starting with empty history; history will not be saved",
                self.path,
                exc,
                move,
            )
            return
        logger.warning(
            "history file %s cannot be read (%s): moved to %s; starting with empty history",
            self.path,
            exc,
            aside,
        )

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
