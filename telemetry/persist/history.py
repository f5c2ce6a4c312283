"""Optional persistence of the history: a snapshot, and a log of what changed since.

Two files: `<file>`, the snapshot (every series whole, SQLite: `snapshot.py`),
and `<file>-log` beside it, one record appended per commit (`log.py`,
`records.py`).  Every `commit_interval` the runtime calls `snapshot` on the
event loop, which takes from each series the runs of points it stored since the
commit before (`Series.take_changes`: no copies of whole arrays, nothing put
in: quick), and `save` in a worker thread, which encodes them into one record,
appends it to the log and syncs it.  Rollup buckets are not logged: replaying
the points through the series' own methods at load rebuilds them, bit for bit.

When the log outgrows `COMPACT_RATIO` times the snapshot (and `MIN_LOG`), the
commit is a new snapshot instead: `save` writes it beside the old one and
renames it over it, then starts the log again from its start, so the history on
disk stays within a few snapshots' size.  A series whose changes are not all
known (more points since the last commit than `CHANGES_MAX`) goes into the
record whole, or, when such series hold more than `WHOLE_MAX` bytes (the first
commit after a burst or a fill), the commit is a new snapshot too.

A new snapshot never holds a copy of every series at once: `save` copies them a
few at a time, each step run by the store's owner (`copies`: the event loop in
the server), and writes each into the new file before it asks for the next.  A
series' copy and the start of its changes for the next record are taken in the
same step, so what the series stores while the others are being copied goes
into the log after the snapshot, once.  A commit taken while the copying goes
on leaves out the series not copied yet: their copy will hold what they stored.

`load` reads the snapshot, then replays the log records that follow it.  A power
cut in the middle of a commit leaves the log's last record cut short: it is
dropped, with one warning, and the next record is written over it, so at most
that commit is lost; in the middle of a new snapshot it leaves the old snapshot
and its log, whole.  A snapshot that cannot be read never stops the server:
one warning, the file (and its log) moved aside to `<file>.unreadable`, and the
history starts empty; a log that does not belong to the snapshot is moved aside
alone.

The event loop owns the keys that name series in the log (`_declared`) and
which series a new snapshot has still to copy (`Copies.pending`); the worker
owns the files; a commit passes from one to the other through `_queue`, so
commits are written in the order they were taken.
"""

from __future__ import annotations

import logging
import os
import secrets
import sqlite3
import threading
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from telemetry.errors import NotRun
from telemetry.history import Changes, Series, SeriesSnapshot, Store
from telemetry.persist import records, snapshot
from telemetry.persist.copies import Copies, Owner, here
from telemetry.persist.log import Header, Log, Scan, UnreadableLog
from telemetry.persist.records import BadRecord, Declared, Points, Record
from telemetry.persist.replay import Meta, Replay
from telemetry.persist.snapshot import UnreadableHistory

logger = logging.getLogger(__name__)

COMPACT_RATIO = 2  # a new snapshot when the log is this many times the snapshot's size
MIN_LOG = 1 << 20  # ... and at least this many bytes (a young history's snapshot is small)
WHOLE_MAX = 4 << 20  # bytes of series a record takes whole; past this, a new snapshot


@dataclass(frozen=True, slots=True)
class Commit:
    """What `snapshot` took: a new snapshot (`copies`, taken while it is written), or
    the changes since the commit before (`record`, its sequence number still 0)."""

    copies: Copies | None
    record: Record

    @property
    def empty(self) -> bool:
        r = self.record
        return self.copies is None and not (r.declared or r.whole or len(r.points.keys))


class History:
    """The snapshot at `path` and its log: `load` into a store at start, then
    `snapshot` (event loop) and `save` (worker thread) every commit."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.log_path = self.path.with_name(self.path.name + "-log")
        self._lock = threading.Lock()  # saves run in worker threads, one at a time
        self._queue: deque[Commit] = deque()
        self._log: Log | None = None
        self._seq = 0  # the last commit on disk
        self._lineage: int | None = None
        self._whole_next = True  # the next commit writes a new snapshot
        self._broken = False  # a write failed: no record until a new snapshot
        self._disabled = False  # the file could not be read nor moved aside
        self._declared: dict[str, tuple[int, Meta]] = {}  # id -> key and fields in the log
        self._copies: Copies | None = None  # the last new snapshot's
        self.snapshot_bytes = 0
        self.log_bytes = 0
        self.compactions = 0
        self.dropped_bytes = 0  # of the log, at load: a record cut short by a power cut

    # -- the event loop's part -------------------------------------------------

    def snapshot(self, store: Store) -> Commit:
        """Take what changed since the last commit, or mark the commit a new snapshot
        (then `save` copies the series).  Quick: run it on the event loop, where the
        store is consistent; then `save` it from a worker thread."""
        if not store.tracking:
            store.track_changes(whole=True)
        copies = self._copies
        pending = copies.pending if copies is not None and copies.copying else None
        if pending is None and self._snapshot_due(store):
            self._whole_next = False
            self._declared.clear()  # a new log declares its keys again
            self._copies = Copies(store)
            commit = Commit(self._copies, Record(0))
        else:
            taken = [
                (series, series.take_changes())
                for sid, series in store.series.items()
                if pending is None or sid not in pending  # (the rest: in their copy)
            ]
            commit = self._changes(taken)
        self._queue.append(commit)
        return commit

    def forget(self) -> None:
        """Series were taken out of the store: the next commit writes a new snapshot
        without them.  Its sequence number is past every record in the log, and the
        log starts again after it, so no record of theirs is replayed at load."""
        self._whole_next = True

    def _snapshot_due(self, store: Store) -> bool:
        if self._whole_next or self.log_bytes >= max(COMPACT_RATIO * self.snapshot_bytes, MIN_LOG):
            return True
        whole = (s.nbytes for s in store.series.values() if not s.changes_known)
        return sum(whole) > WHOLE_MAX

    def _changes(self, taken: Sequence[tuple[Series, Changes | None]]) -> Commit:
        """A record of the changes: each series named by its key in the log, declared
        (its catalog fields) when new to the log or changed."""
        declared: list[Declared] = []
        whole: list[tuple[int, SeriesSnapshot]] = []
        runs = []
        for series, changes in taken:
            e = series.entry
            meta: Meta = (e.device, e.sensor, e.unit, e.source, e.first_seen)
            known = self._declared.get(e.id)
            key = known[0] if known is not None else len(self._declared)
            if changes is None:
                whole.append((key, series.snapshot()))
            else:
                if known is None or known[1] != meta:
                    base = (changes.count, changes.last_ts, changes.last_value)
                    declared.append(Declared(key, e.id, *meta, *base))
                if changes.runs:
                    runs.append((key, changes.runs))
            self._declared[e.id] = (key, meta)
        return Commit(None, Record(0, tuple(declared), tuple(whole), Points.of(runs)))

    # -- the worker thread's part ----------------------------------------------

    def save(self, commit: Commit, owner: Owner = here) -> bool:
        """Write every commit taken up to `commit`, in order; False (logged) when one
        failed (then the next commit writes a new snapshot).  `owner` runs the steps
        that copy series for a new snapshot (never the calling thread's event loop)."""
        with self._lock:
            ok = True
            while self._queue:
                taken = self._queue.popleft()
                ok = self._write(taken, owner) and ok
                if taken is commit:
                    break
            return ok

    def _write(self, commit: Commit, owner: Owner) -> bool:
        try:
            return self._write_one(commit, owner)
        finally:
            if commit.copies is not None:
                commit.copies.done = True  # after _broken and _whole_next are set

    def _write_one(self, commit: Commit, owner: Owner) -> bool:
        if self._disabled:
            return False
        try:
            if commit.copies is not None:
                self._compact(commit.copies.each(owner))
            elif self._broken:
                return False  # its changes go into the new snapshot the next commit writes
            elif not commit.empty:
                self._append(commit.record)
        except (OSError, sqlite3.Error, NotRun) as exc:
            logger.warning("history not saved to %s: %s", self.path, exc)
            self._broken = True
            self._whole_next = True
            return False
        return True

    def _append(self, record: Record) -> None:
        if self._log is None:
            raise OSError(f"the log {self.log_path} is not open")
        seq = self._seq + 1
        self.log_bytes += self._log.append(seq, records.encode(replace(record, seq=seq)))
        self._seq = seq

    def _compact(self, series: Iterable[SeriesSnapshot]) -> None:
        """A new snapshot of `series` in place of the old one, then the log started
        again after it (in place: see `log`)."""
        self._broken = True  # until both files are whole
        seq = self._seq + 1
        if self._lineage is None:
            self._lineage = secrets.randbits(63)
        self.snapshot_bytes = snapshot.write(self.path, series, seq, self._lineage)
        self._seq = seq
        header = Header(self._lineage, seq)
        if self._log is not None and self._log.header.lineage == self._lineage:
            self._log.restart(header)
        else:
            self._close()
            self._log = Log.create(self.log_path, header)
        self.log_bytes = self._log.size
        self.compactions += 1
        self._broken = False

    # -- start ------------------------------------------------------------------

    def load(self, store: Store) -> int:
        """Restore the saved series into `store` (empty), then keep track of what it
        stores; how many series it holds.  A snapshot that cannot be read is moved
        aside with one warning and the history starts empty."""
        with self._lock:
            for name in (self.path.name, self.log_path.name):
                self.path.with_name(name + ".new").unlink(missing_ok=True)  # a cut-off write
            if self.path.exists():
                try:
                    self._load(store)
                except (sqlite3.Error, OSError, UnreadableHistory, ValueError) as exc:
                    store.series.clear()
                    self._declared.clear()
                    self._set_aside(exc)
            if not self.path.exists() and not self._disabled:
                self._start_empty()
        store.track_changes(whole=False)
        logger.info("history: restored %d series from %s", len(store.series), self.path)
        return len(store.series)

    def _start_empty(self) -> None:
        if self.log_path.exists():
            self._set_log_aside("there is no snapshot it follows")
        try:
            self._compact([])
        except (OSError, sqlite3.Error) as exc:
            logger.warning("history file %s cannot be created: %s", self.path, exc)
        else:
            self._whole_next = False

    def _load(self, store: Store) -> None:
        widths = [width for width, _ in store.rollups]
        with snapshot.opened(self.path) as saved:
            refused = 0
            for one in saved.series(widths):  # each built into the store, then let go
                refused += not store.restore([one])
            lineage = saved.lineage
            self._seq, self._lineage = saved.seq, lineage
        if refused:
            logger.warning(
                "history: %d saved series not restored: the limit of %d series is reached",
                refused,
                store.max_series,
            )
        self.snapshot_bytes = self.path.stat().st_size
        self._whole_next = lineage is None  # version 1: a version 2 file at once
        if lineage is None:
            if self.log_path.exists():
                self._set_log_aside("its snapshot has no log")
            return
        try:
            self._load_log(store, lineage, self._seq)
        except OSError as exc:  # the snapshot is restored; the log cannot be read or written
            logger.warning("history log %s: %s; a new one at the next commit", self.log_path, exc)
            self._whole_next = True

    def _load_log(self, store: Store, lineage: int, after: int) -> None:
        try:
            file = self.log_path.open("rb")
        except FileNotFoundError:
            self._log = Log.create(self.log_path, Header(lineage, after))
            self.log_bytes = self._log.size
            return
        with file:
            try:
                scan = Scan(file)
            except UnreadableLog as exc:
                self._set_log_aside(str(exc))
                return
            if scan.header.lineage != lineage:
                self._set_log_aside("it belongs to another snapshot")
                return
            if scan.header.base > after:
                self._set_log_aside("it starts after its snapshot (commits are missing)")
                return
            self._replay(store, scan, after)
        self._log = Log.open(self.log_path, scan.header, scan.end)
        self.log_bytes = scan.end

    def _replay(self, store: Store, scan: Scan, after: int) -> None:
        replay = Replay(store)
        for seq, data in scan.records():
            if seq <= after:
                continue  # already in the snapshot (a cut between its rename and a new log)
            if seq != self._seq + 1:
                scan.stop(f"commit {seq} where {self._seq + 1} was expected")
                break
            try:
                replay.apply(records.decode(data))
            except (BadRecord, ValueError) as exc:
                scan.stop(str(exc))
                break
            self._seq = seq
        replay.finish()
        self._declared = replay.declared
        if scan.problem:
            self.dropped_bytes = scan.dropped
            logger.warning(
                "history log %s: %s at byte %d: %d bytes dropped (the commit in them is "
                "lost, and any after it)",
                self.log_path,
                scan.problem,
                scan.end,
                scan.dropped,
            )

    # -- files that cannot be read -------------------------------------------

    def _set_aside(self, exc: BaseException) -> None:
        self._close()
        aside = self.path.with_name(self.path.name + ".unreadable")
        try:
            for suffix in ("", "-wal", "-shm", "-log"):
                part = self.path.with_name(self.path.name + suffix)
                if part.exists():
                    part.replace(aside.with_name(aside.name + suffix))
        except OSError as move:
            self._disabled = True
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

    def _set_log_aside(self, problem: str) -> None:
        """The log cannot follow the snapshot: moved aside; the next commit writes a new
        snapshot and log."""
        aside = self.log_path.with_name(self.log_path.name + ".unreadable")
        self._whole_next = True
        try:
            self.log_path.replace(aside)
        except OSError as exc:
            logger.warning("history log %s: %s; not moved aside: %s", self.log_path, problem, exc)
            return
        logger.warning(
            "history log %s: %s; moved to %s (the snapshot alone is restored)",
            self.log_path,
            problem,
            aside,
        )

    def close(self) -> None:
        with self._lock:
            self._close()

    def _close(self) -> None:
        if self._log is not None:
            self._log.close()
            self._log = None
