"""A new snapshot's series, copied a few at a time by the store's owner.

The event loop owns the store; the worker thread writing a new snapshot asks it
(`Owner`: `telemetry.loopcall.OnLoop` in the server, `here` where the caller
owns the store) for the next series, `Copies.take`, up to `COPY_BYTES` of them a
step, so no step holds the loop long and no copy of every series is ever held at
once.  Each series' copy and the start of its changes for the next record are
taken in the same step: what it stores afterwards goes into the log after the
snapshot, once.  `pending` tells a commit taken meanwhile which series to leave
out (their copy will hold what they stored).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Protocol, TypeVar

from telemetry.history import SeriesSnapshot, Store

COPY_BYTES = 1 << 18  # series copied in one step of the store's owner (one at least)

T = TypeVar("T")


class Owner(Protocol):
    """Runs `task` where the store's owner runs and gives back what it returned."""

    def __call__(self, task: Callable[[], T], /) -> T: ...


def here(task: Callable[[], T], /) -> T:
    """The caller owns the store (tests, tools with no event loop)."""
    return task()


class Copies:
    """The series of a new snapshot, copied a few at a time by `take`, which the
    store's owner runs; `pending` (the owner's): the ids not copied yet; `done`
    (the worker's): the worker is through with it, written or not."""

    __slots__ = ("_next", "done", "order", "pending", "store")

    def __init__(self, store: Store) -> None:
        self.store = store
        self.order = tuple(store.series)
        self.pending = set(self.order)
        self.done = False
        self._next = 0

    @property
    def copying(self) -> bool:
        return bool(self.pending) and not self.done

    def take(self) -> list[SeriesSnapshot]:
        """Copies of the next series, up to `COPY_BYTES` of them; each series' changes
        start again from its copy.  Empty when all are taken."""
        out: list[SeriesSnapshot] = []
        size = 0
        while self._next < len(self.order) and size < COPY_BYTES:
            sid = self.order[self._next]
            self._next += 1
            self.pending.discard(sid)
            series = self.store.get(sid)
            if series is None:
                continue
            series.track_changes(whole=False)  # what it holds now is in the copy
            out.append(series.snapshot())
            size += series.nbytes
        return out

    def each(self, owner: Owner) -> Iterator[SeriesSnapshot]:
        """Every copy, a step's worth at a time from `owner`, each let go once used."""
        while batch := owner(self.take):
            batch.reverse()
            while batch:
                yield batch.pop()
