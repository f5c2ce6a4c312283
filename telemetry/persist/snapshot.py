"""The snapshot: every series, whole, in one SQLite file (stdlib `sqlite3`).

Tables `series` (the catalog fields) and `arrays` (a series' raw points, the
points it held, and each rollup's columns, as little-endian blobs), as schema
version 1 had them; version 2 adds `snapshot`: the sequence number of the last
commit the file includes and the lineage id that ties the log to it.  Version 1
files (each commit rewrote the changed series in place, in WAL mode) are still
read, and replaced by a version 2 file at the first commit.

A snapshot is never changed in place: `write` builds a new file beside it with
no journal (each page written once), syncs it, renames it over the old one and
syncs the directory, so a power cut leaves either the old file or the new one,
whole.  `opened` reads one a series at a time (`Reader.series`: a load never
holds the whole file's arrays), `read` all at once; both raise
`UnreadableHistory` for a file they cannot take (not SQLite, another program's
database, another schema version, arrays that do not fit).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from telemetry.errors import TelemetryError
from telemetry.history import FloatArray, SeriesSnapshot
from telemetry.model import series_id
from telemetry.persist.log import forget, sync_directory

SCHEMA_VERSION = 2
READS = (1, 2)
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
    kind TEXT NOT NULL,  -- 'raw', 'held', or a rollup's bucket width in seconds
    newest INTEGER NOT NULL,
    oldest INTEGER NOT NULL,
    {", ".join(f'"{name}" BLOB' for name in BLOB_COLUMNS)},
    PRIMARY KEY (series, kind)
);
CREATE TABLE snapshot (
    seq INTEGER NOT NULL,  -- the last commit the file includes
    lineage INTEGER NOT NULL  -- the id its log carries
);
PRAGMA application_id = {APPLICATION_ID};
PRAGMA user_version = {SCHEMA_VERSION};
"""

_BLOBS = ", ".join(f'"{name}"' for name in BLOB_COLUMNS)
_MARKS = ", ".join("?" for _ in BLOB_COLUMNS)
INSERT_ARRAYS = (
    f"INSERT INTO arrays (series, kind, newest, oldest, {_BLOBS}) VALUES (?, ?, ?, ?, {_MARKS})"  # noqa: S608 (constant names)
)
SELECT_ONE = f"SELECT series, kind, newest, oldest, {_BLOBS} FROM arrays WHERE series = ?"  # noqa: S608

AnyArray = npt.NDArray[np.generic]


class UnreadableHistory(TelemetryError):
    """The file is not a history this version can read."""


@dataclass(frozen=True, slots=True)
class Saved:
    """What a snapshot holds: the series, the last commit included, the lineage (None
    for a version 1 file, which has no log)."""

    series: list[SeriesSnapshot]
    seq: int
    lineage: int | None


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


# -- writing --------------------------------------------------------------------------


def write(path: Path, series: Iterable[SeriesSnapshot], seq: int, lineage: int) -> int:
    """A new snapshot of `series` at `path`, in place of the one there; its size."""
    path.parent.mkdir(parents=True, exist_ok=True)
    new = path.with_name(path.name + ".new")
    new.unlink(missing_ok=True)
    conn = sqlite3.connect(new, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")  # a new file: nothing to roll back to
        conn.execute("PRAGMA synchronous=OFF")  # synced once, whole, below
        conn.executescript(f"BEGIN;{SCHEMA}")
        conn.execute("INSERT INTO snapshot VALUES (?, ?)", (seq, lineage))
        for s in series:
            _insert(conn, s)
        conn.execute("COMMIT")
    finally:
        conn.close()
    fd = os.open(new, os.O_RDONLY)
    try:
        os.fsync(fd)
        forget(fd)
        size = os.fstat(fd).st_size
    finally:
        os.close(fd)
    # A journal left by another program's write to the old file would be applied to
    # the new one: none may remain.  (The old file's WAL was checkpointed at load.)
    path.with_name(path.name + "-journal").unlink(missing_ok=True)
    os.replace(new, path)
    sync_directory(path)
    for suffix in ("-wal", "-shm"):
        path.with_name(path.name + suffix).unlink(missing_ok=True)
    return size


def _insert(conn: sqlite3.Connection, s: SeriesSnapshot) -> None:
    conn.execute(
        "INSERT INTO series VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
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
    no_rollup = [None] * len(ROLLUP_COLUMNS)
    raw = [_blob(a, t) for a, (_, t) in zip(s.raw, RAW_COLUMNS, strict=True)]
    rows: list[tuple[object, ...]] = [(s.id, RAW, -1, -1, *raw, *no_rollup)]
    if len(s.held[0]):
        held = [_blob(a, t) for a, (_, t) in zip(s.held, RAW_COLUMNS, strict=True)]
        rows.append((s.id, HELD, -1, -1, *held, *no_rollup))
    for width, newest, oldest, columns in s.rollups:
        cols = [_blob(a, t) for a, (_, t) in zip(columns, ROLLUP_COLUMNS, strict=True)]
        rows.append((s.id, _kind(width), newest, oldest, None, None, *cols))
    conn.executemany(INSERT_ARRAYS, rows)


# -- reading --------------------------------------------------------------------------


def read(path: Path, widths: Sequence[float]) -> Saved:
    """The snapshot at `path` (which exists), every series at once; the rollups of
    `widths` only."""
    with opened(path) as reader:
        return Saved(list(reader.series(widths)), reader.seq, reader.lineage)


@contextlib.contextmanager
def opened(path: Path) -> Iterator[Reader]:
    """The snapshot at `path` (which exists), open for reading its series one at a
    time (`Reader.series`), in one read transaction."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        version = _check_schema(conn)
        conn.execute("BEGIN")
        try:
            yield Reader(conn, version)
        finally:
            conn.execute("COMMIT")
    finally:
        conn.close()  # the last connection to a version 1 file checkpoints its WAL


def _check_schema(conn: sqlite3.Connection) -> int:
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    tables = conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
    if app == 0 and version == 0 and tables == 0:  # an empty file
        return 0
    if app != APPLICATION_ID:
        raise UnreadableHistory("it is not a telemetry history (another database)")
    if version not in READS:
        raise UnreadableHistory(f"it has schema version {version}; this version reads {READS}")
    return int(version)


class Reader:
    """An open snapshot: the last commit it includes (`seq`), its lineage (None for a
    version 1 file, which has no log), and its series one at a time, each read when
    it is asked for: a load never holds the whole file's arrays."""

    def __init__(self, conn: sqlite3.Connection, version: int) -> None:
        self._conn = conn
        self._version = version
        self.seq, self.lineage = 0, None
        if version >= 2:
            rows = conn.execute("SELECT seq, lineage FROM snapshot").fetchall()
            if len(rows) != 1:
                raise UnreadableHistory(f"its snapshot table has {len(rows)} rows, not 1")
            self.seq, self.lineage = int(rows[0][0]), int(rows[0][1])

    def series(self, widths: Sequence[float]) -> Iterator[SeriesSnapshot]:
        """Every series, oldest first, with the rollups of `widths` only."""
        if self._version == 0:
            return
        rows = self._conn.execute(
            "SELECT id, device, sensor, unit, source, first_seen, last_ts, last_value, "
            "count FROM series ORDER BY first_seen"
        ).fetchall()
        for row in rows:
            yield self._one(row, widths)

    def _one(self, row: tuple[Any, ...], widths: Sequence[float]) -> SeriesSnapshot:
        sid, device, sensor, unit, source, first_seen, last_ts, last_value, count = row
        if series_id(device, sensor) != sid:
            raise UnreadableHistory(f"series {sid!r} does not match its device and sensor")
        saved: dict[str, tuple[int, int, tuple[object, ...]]] = {
            kind: (int(newest), int(oldest), tuple(data))
            for _, kind, newest, oldest, *data in self._conn.execute(SELECT_ONE, (sid,))
        }
        rollups = []
        for width in widths:
            if _kind(width) in saved:
                newest, oldest, data = saved[_kind(width)]
                columns = tuple(
                    _array(blob, t)
                    for blob, (_, t) in zip(data[len(RAW_COLUMNS) :], ROLLUP_COLUMNS, strict=True)
                )
                rollups.append((width, newest, oldest, columns))
        return SeriesSnapshot(
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
