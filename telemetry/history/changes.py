"""What a series stored since the history was last saved: runs of points, in order.

A run is `(times, values, kind)`:
- `FLUSHED`: points that went into the ring and every rollup at once, together
  with the held points before them (taken earlier as `HELD`);
- `HELD`: points newer than every stored one, still held by the series;
- `LATE`: one point that went in at its place, older than the newest.
Replaying the runs in order (`Series.replay`) on a copy of the series as it was
does what the series did, batch for batch, so the copy ends up the same bit for
bit: the ring, and every rollup's sums, which depend on how points were batched.
"""

from __future__ import annotations

from dataclasses import dataclass

from telemetry.history.catalog import CatalogEntry
from telemetry.history.ring import FloatArray

FLUSHED, HELD, LATE = 0, 1, 2
KINDS = (FLUSHED, HELD, LATE)
Run = tuple[FloatArray, FloatArray, int]


@dataclass(frozen=True, slots=True)
class Changes:
    """What a series stored since its changes were last taken: its entry's count, last
    time and last value before, and the runs in the order they went in."""

    count: int
    last_ts: float
    last_value: float
    runs: tuple[Run, ...]


class Tracked:
    """The runs a series stored since its changes were last taken, up to `limit`
    points; `whole` once they are not all known (then the whole series is saved).
    `held_taken`: how many of the points the series holds were taken already."""

    __slots__ = ("base", "held_taken", "limit", "points", "runs", "whole")

    def __init__(self, entry: CatalogEntry, whole: bool, limit: int, held: int) -> None:
        self.base = (entry.count, entry.last_ts, entry.last_value)
        self.runs: list[Run] = []
        self.points = 0
        self.limit = limit
        self.whole = whole
        self.held_taken = held

    def add(self, ts: FloatArray, values: FloatArray, kind: int) -> None:
        if self.whole:
            return
        self.points += len(ts)
        if self.points > self.limit:
            self.whole = True
            self.runs.clear()
            return
        self.runs.append((ts, values, kind))

    def take(self, entry: CatalogEntry, held: tuple[FloatArray, FloatArray]) -> Changes | None:
        """The changes, with the points held and not taken yet as a last `HELD` run;
        None when they are not all known."""
        if len(held[0]):
            self.add(*held, HELD)
        if self.whole:
            return None
        count, last_ts, last_value = self.base
        return Changes(count, last_ts, last_value, tuple(self.runs))
