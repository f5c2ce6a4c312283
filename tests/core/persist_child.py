"""A child process that saves a history and is killed (SIGKILL) in the middle of it.

    python -m tests.core.persist_child DIR MODE K

Commits 0 .. K-1 of `persist_helpers.drive` go through; commit K is killed:
- `record`: half of its log record written;
- `build`: a new snapshot (commit K is made one) half built beside the old;
- `copying`: the same, its series copied one a step, points arriving between the
  steps, killed at the third;
- `renamed`: the new snapshot renamed into place, the log not yet restarted;
- `header`: the log's header half rewritten in place (restarting it);
- `after`: commit K a new snapshot, done; commit K+1 killed half way through its
  record, written over the old records of the restarted log;
- `none`: not killed: it commits on and prints each commit done, until killed
  from outside (at a time the test picks).
The faults are injected by replacing one function with one that kills the
process at that point; the kill and the files it leaves are real.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from telemetry.history import SeriesSnapshot
from telemetry.persist import History, copies, log, snapshot
from telemetry.persist.copies import Owner, here
from tests.core.persist_helpers import add_commit, new_store

T = TypeVar("T")


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def main(folder: Path, mode: str, k: int) -> None:
    store = new_store()
    h = History(folder / "h.db")
    h.load(store)
    for i in range(k):
        add_commit(store, i)
        assert h.save(h.snapshot(store))
        print(i, flush=True)
    if mode == "none":
        i = k
        while True:
            add_commit(store, i, points=400)
            assert h.save(h.snapshot(store))
            print(i, flush=True)
            i += 1
    add_commit(store, k)
    patch = pytest.MonkeyPatch()
    owner: Owner = here

    def half(fd: int, data: bytes, offset: int) -> None:
        os.pwrite(fd, data[: len(data) // 2], offset)
        die()

    if mode == "record":
        patch.setattr(log, "_write_all", half)
    else:
        h._whole_next = True
        if mode == "build":
            insert = snapshot._insert
            inserted = []

            def insert_then_die(conn: sqlite3.Connection, s: SeriesSnapshot) -> None:
                insert(conn, s)
                inserted.append(s)
                if len(inserted) == 2:
                    conn.execute("COMMIT")  # two series' pages in the file, the third not
                    die()

            patch.setattr(snapshot, "_insert", insert_then_die)
        elif mode == "copying":
            patch.setattr(copies, "COPY_BYTES", 1)
            steps = iter(range(3))

            def busy_then_die(task: Callable[[], T]) -> T:
                if next(steps) == 2:
                    die()
                for series in store.series.values():
                    series.append(series.entry.last_ts + 0.5, 1.0)
                return task()

            owner = busy_then_die
        elif mode == "renamed":
            patch.setattr(log.Log, "restart", lambda *_: die())
        elif mode == "header":
            patch.setattr(log, "_write_all", half)
        elif mode == "after":  # the new snapshot and the log restarted; then a record
            assert h.save(h.snapshot(store))
            add_commit(store, k + 1)
            patch.setattr(log, "_write_all", half)
    h.save(h.snapshot(store), owner)
    raise SystemExit(f"commit {k} was not killed in mode {mode}")


if __name__ == "__main__":
    main(Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]))
