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

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from telemetry.history.catalog import CatalogEntry
from telemetry.history.ring import FloatArray

FLUSHED, HELD, LATE = 0, 1, 2
KINDS = (FLUSHED, HELD, LATE)
Run = tuple[FloatArray, FloatArray, int]


@dataclass(frozen=True, slots=True)
class Runs:
    """Runs as columns: each run's length and kind, every point's time and value, run
    after run (what a log record holds, and `Series.replay` takes)."""

    lengths: npt.NDArray[np.int64]
    kinds: npt.NDArray[np.uint8]
    ts: FloatArray
    values: FloatArray

    @classmethod
    def of(cls, runs: Sequence[Run]) -> Runs:
        if not runs:
            return cls(np.zeros(0, np.int64), np.zeros(0, np.uint8), np.empty(0), np.empty(0))
        return cls(
            np.array([len(ts) for ts, _, _ in runs], dtype=np.int64),
            np.array([kind for _, _, kind in runs], dtype=np.uint8),
            np.concatenate([ts for ts, _, _ in runs]).astype(np.float64, copy=False),
            np.concatenate([values for _, values, _ in runs]).astype(np.float64, copy=False),
        )

    @property
    def bounds(self) -> npt.NDArray[np.int64]:
        """Where each run starts in `ts`, and where the last ends."""
        bounds = np.zeros(len(self.lengths) + 1, dtype=np.int64)
        np.cumsum(self.lengths, out=bounds[1:])
        return bounds

    def runs(self) -> tuple[Run, ...]:
        b = self.bounds.tolist()
        return tuple(
            (self.ts[b[i] : b[i + 1]], self.values[b[i] : b[i + 1]], int(kind))
            for i, kind in enumerate(self.kinds.tolist())
        )


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
