"""One series: its catalog entry, its raw ring, its rollups and the points it holds.

A point newer than every stored one (nearly all of them) cannot be refused:
it waits in the series' one pending buffer, and HOLD of them go into the ring
and every rollup together, numpy over the lot; a late point or a repeat goes
in at once, one by one.  Reads (`query`, `raw`, `snapshot`, `nbytes`) never
change anything: they answer from what is stored plus what is held, the held
points being newer than everything stored.

With persistence on, a series also keeps the runs of points it stored since the
history was last saved (`track_changes`, `take_changes`, `replay`: see
`changes`), up to `CHANGES_MAX` points; past that it is saved whole instead.
Taking them puts nothing in: it is quick, and a series holds the same points
whether or not it is saved.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from telemetry.history.catalog import CatalogEntry
from telemetry.history.changes import FLUSHED, LATE, Changes, Runs, Tracked
from telemetry.history.ring import FloatArray, Ring
from telemetry.history.rollup import OFFSET_STEPS, Rollup
from telemetry.quantities import format_duration

# Points a series holds before they go into its ring and rollups: 8 KiB at most.
# Why this many: bench/README.md (ingest, and memory at 500 series).
HOLD = 512
# Sources that reach back to within this of each other reach equally far, beyond the
# step of the coarsest rollup's times within a bucket (1/OFFSET_STEPS of its width).
REACH_SLACK = 1e-3
# Points a series keeps for the next save at most; past that it is saved whole.  Not
# its ring's capacity: a burst or a fill between two commits would keep that many
# points in every series (the default's 20,000: five times a month-full series).
CHANGES_MAX = 8 * HOLD

AnyArray = npt.NDArray[np.generic]
# A rollup as saved: (bucket width, newest bucket, oldest bucket, columns as `Rollup.COLUMNS`).
SavedRollup = tuple[float, int, int, tuple[AnyArray, ...]]


@dataclass(frozen=True, slots=True)
class Answer:
    """What a query got: where from (`raw`, or a rollup's width such as `1m`) and copies
    of the points, oldest first.  The values of points before `float32_before` are a
    rollup's float32 numbers (widened to float64), those from it on raw float64 ones:
    they are written to JSON differently (see `web.history`)."""

    source: str
    ts: FloatArray
    values: FloatArray
    float32_before: float = -math.inf


@dataclass(frozen=True, slots=True)
class SeriesSnapshot:
    """One series as saved: its catalog fields, its raw points, its rollups and the
    points it held, all copies."""

    id: str
    device: str
    sensor: str
    unit: str | None
    source: str
    first_seen: float
    last_ts: float
    last_value: float
    count: int
    raw: tuple[FloatArray, FloatArray]
    rollups: tuple[SavedRollup, ...]
    held: tuple[FloatArray, FloatArray]


class Series:
    __slots__ = ("_held_ts", "_held_values", "_newest", "_ring", "_rollups", "_tracked", "entry")

    def __init__(
        self,
        entry: CatalogEntry,
        ring: Ring,
        rollups: Sequence[Rollup] = (),
        held: tuple[FloatArray, FloatArray] | None = None,
    ) -> None:
        """`held`: points saved while held (newer than the ring and the rollups)."""
        self.entry = entry
        self._ring = ring
        self._rollups = tuple(sorted(rollups, key=lambda r: r.width))  # finest first
        self._held_ts = array("d")
        self._held_values = array("d")
        self._tracked: Tracked | None = None
        newest = ring.last_ts
        self._newest = -math.inf if newest is None else newest  # held or stored
        if held is not None:
            ts, values = held
            if len(ts) != len(values):
                raise ValueError("held points: times and values differ in length")
            for t, v in zip(
                np.asarray(ts, dtype=np.float64).tolist(),
                np.asarray(values, dtype=np.float64).tolist(),
                strict=True,
            ):
                if t > self._newest:
                    self._newest = t
                    self._held_ts.append(t)
                    self._held_values.append(v)

    @property
    def id(self) -> str:
        return self.entry.id

    # -- writing ---------------------------------------------------------------------

    def append(self, ts: float, value: float) -> str | None:
        """Store a point; None, or why it was refused (counted in the entry):
        `duplicate`, or `too_old` when older than the ring and every rollup reach."""
        held = self._held_ts
        repeat = self._repeats_held(ts, value) if held and ts == held[-1] else None
        if repeat:
            self.entry.refused_one()
            return "duplicate"
        if ts == self._newest and repeat is None:
            # Another point at the newest time (a batch of lines without timestamps,
            # a device clock in whole seconds): no held point repeats it, so the
            # ring's points at that time decide; else it is held like a newer point,
            # as it goes at the end either way.
            if self._ring.repeats_newest(ts, value, coming=len(held)):
                self.entry.refused_one()
                return "duplicate"
            repeat = False
        if ts > self._newest or repeat is False:
            self._newest = ts
            held.append(ts)
            self._held_values.append(value)
            if len(held) >= HOLD:
                self.flush()
        else:
            self.flush()  # the late point goes among the stored ones
            ring = self._ring
            duplicates = ring.duplicates
            stored = ring.append(ts, value)
            if not stored and ring.duplicates > duplicates:
                self.entry.refused_one()
                return "duplicate"
            for rollup in self._rollups:
                stored = rollup.add(ts, value) or stored
            if not stored:
                self.entry.refused_one()
                return "too_old"
            if self._tracked is not None:
                self._tracked.add(np.array([ts]), np.array([value]), LATE)
        self.entry.stored(ts, value)
        return None

    def _repeats_held(self, ts: float, value: float) -> bool | None:
        """For a point at the newest held point's time: whether it repeats one the ring
        would hold (the same time and value, or NaN like it); None when that depends on
        the stored points too (every held point has this time)."""
        held_ts, held_values = self._held_ts, self._held_values
        at, stop = len(held_ts) - 1, len(held_ts) - self._ring.capacity
        while at >= 0 and held_ts[at] == ts:
            if at < stop:  # the ring would not keep it
                return False
            if held_values[at] == value or (math.isnan(value) and math.isnan(held_values[at])):
                return True
            at -= 1
        return None if at < 0 else False

    def flush(self) -> None:
        """Put the held points into the ring and the rollups (a write: `append` does it
        every HOLD points)."""
        if not self._held_ts:
            return
        ts = np.array(self._held_ts, dtype=np.float64)
        values = np.array(self._held_values, dtype=np.float64)
        del self._held_ts[:], self._held_values[:]
        self._store_run(ts, values)
        tracked = self._tracked
        if tracked is not None:  # those taken already as held go in with this run
            tracked.add(ts[tracked.held_taken :], values[tracked.held_taken :], FLUSHED)
            tracked.held_taken = 0

    def _store_run(self, ts: FloatArray, values: FloatArray) -> None:
        self._ring.extend(ts, values)
        for rollup in self._rollups:
            rollup.extend(ts, values)

    def extend(self, ts: FloatArray, values: FloatArray) -> None:
        """Store points in time order, each newer than every point stored or held, as one
        run: as `append` of each and then `flush` would, numpy over the lot (a history
        restored from its log, a benchmark filling a month).  ValueError otherwise."""
        ts = np.array(ts, dtype=np.float64)  # copies: a tracked run is kept as it went in
        values = np.array(values, dtype=np.float64)
        if ts.ndim != 1 or ts.shape != values.shape:
            raise ValueError("a run of points: times and values differ in shape")
        if not len(ts):
            return
        if not (ts[0] > self._newest and math.isfinite(ts[-1]) and np.all(np.diff(ts) > 0)):
            raise ValueError("a run of points: times do not rise from after the newest point")
        self.flush()
        self._newest = float(ts[-1])
        self._store_run(ts, values)
        if self._tracked is not None:
            self._tracked.add(ts, values, FLUSHED)
        self.entry.stored_run(len(ts), float(ts[-1]), float(values[-1]))

    def replay(self, runs: Runs) -> None:
        """Store the runs another series took in (`take_changes`), as it stored them:
        held points held, flushed ones put in with what was held, late ones at their
        place; the flushes of consecutive runs at once (`Rollup.extend_runs`), to the
        same bits.  A run that does not rise from after what this series holds (a
        held point at the same time as the one before, a file that does not fit)
        goes in point by point, and a flushed one is flushed after its points.  For a
        series being restored: what it replays is not tracked as changes."""
        bounds = runs.bounds
        late = np.flatnonzero(runs.kinds == LATE).tolist()
        start = 0
        for stop in [*late, len(runs.lengths)]:
            if stop > start:
                self._replay_held(runs, bounds, start, stop)
            if stop < len(runs.lengths):
                self._append_each(runs, int(bounds[stop]), int(bounds[stop + 1]))
            start = stop + 1

    def _append_each(self, runs: Runs, lo: int, hi: int) -> None:
        for t, v in zip(runs.ts[lo:hi].tolist(), runs.values[lo:hi].tolist(), strict=True):
            self.append(t, v)

    def _replay_held(self, runs: Runs, bounds: npt.NDArray[np.int64], a: int, b: int) -> None:
        """Runs a..b-1, none late: held, and put in at each flush."""
        lo, hi = int(bounds[a]), int(bounds[b])
        ts, values = runs.ts[lo:hi], runs.values[lo:hi]
        before = len(self._held_ts)
        if len(ts):  # (a flush with no new point puts in what was held before)
            last = float(ts[-1])
            if not (ts[0] > self._newest and math.isfinite(last) and np.all(ts[1:] > ts[:-1])):
                if b - a > 1:  # run by run: those that rise still go in at once
                    for run in range(a, b):
                        self._replay_held(runs, bounds, run, run + 1)
                    return
                self._append_each(runs, lo, hi)  # not after what is stored: one by one,
                if runs.kinds[a] == FLUSHED:  # and put in where the series put them in
                    self.flush()
                return
            self._held_ts.frombytes(np.ascontiguousarray(ts).data.cast("B"))
            self._held_values.frombytes(np.ascontiguousarray(values).data.cast("B"))
            self._newest = last
            self.entry.stored_run(len(ts), last, float(values[-1]))
        flushed = np.flatnonzero(runs.kinds[a:b] == FLUSHED) + a
        self._flush_at((before + bounds[flushed + 1] - lo).tolist())

    def _flush_at(self, marks: list[int]) -> None:
        """Put in the held points up to the last of `marks`, as a flush at each would."""
        if not marks or not marks[-1]:
            return
        end = marks[-1]
        ts = np.frombuffer(self._held_ts, np.float64)[:end].copy()
        values = np.frombuffer(self._held_values, np.float64)[:end].copy()
        del self._held_ts[:end], self._held_values[:end]
        starts = [0, *marks[:-1]]
        self._ring.extend(ts, values)
        for rollup in self._rollups:
            rollup.extend_runs(ts, values, starts)

    def track_changes(self, whole: bool) -> None:
        """Keep the runs of points stored from now on, until `take_changes`; `whole`: what
        the series holds now is not saved, so the first take asks for all of it."""
        self._tracked = Tracked(self.entry, whole, CHANGES_MAX, len(self._held_ts))

    @property
    def changes_known(self) -> bool:
        """Whether `take_changes` would give the changes now (not None: save it whole)."""
        tracked = self._tracked
        if tracked is None or tracked.whole:
            return False
        return tracked.points + len(self._held_ts) - tracked.held_taken <= tracked.limit

    def take_changes(self) -> Changes | None:
        """What the series stored since the last take (held points not taken yet as a
        last `HELD` run: copies), and forget it; None when that is not all known (more
        than `CHANGES_MAX` points, or not tracked until now): save it whole then.
        Quick, and a write of the tracking only: nothing is put in."""
        tracked = self._tracked
        self.track_changes(whole=False)
        if tracked is None:
            return None
        held = np.frombuffer(self._held_ts, np.float64), np.frombuffer(self._held_values)
        new = (held[0][tracked.held_taken :].copy(), held[1][tracked.held_taken :].copy())
        return tracked.take(self.entry, new)

    # -- reading -----------------------------------------------------------------------

    def _held(self, start: float, end: float, first: int = 0) -> tuple[FloatArray, FloatArray]:
        """Copies of the held points from the `first`-th on with `start <= ts <= end`."""
        ts = np.frombuffer(self._held_ts, dtype=np.float64)[first:]
        values = np.frombuffer(self._held_values, dtype=np.float64)[first:]
        lo = int(np.searchsorted(ts, start, side="left"))
        hi = int(np.searchsorted(ts, end, side="right"))
        return ts[lo:hi].copy(), values[lo:hi].copy()

    def raw(self, start: float = -math.inf, end: float = math.inf) -> tuple[FloatArray, FloatArray]:
        """Copies of the raw points with `start <= ts <= end`, oldest first: those the
        ring would keep with the held points put in (its capacity, its span)."""
        ring = self._ring
        if not self._held_ts:
            return ring.range(start, end)
        held = len(self._held_ts)
        horizon = self._held_ts[-1] - ring.span
        lo = max(start, horizon)
        if held >= ring.capacity:  # (by place: several held points may share a time)
            return self._held(lo, end, held - ring.capacity)
        ts, values = ring.range(horizon, math.inf)
        keep = ring.capacity - held  # the ring's newest points that stay
        ts, values = ts[-keep:], values[-keep:]  # (0 < keep: fewer held than fit)
        first = int(np.searchsorted(ts, lo, side="left"))
        last = int(np.searchsorted(ts, end, side="right"))
        ts, values = ts[first:last], values[first:last]
        held_ts, held_values = self._held(lo, end)
        return np.concatenate((ts, held_ts)), np.concatenate((values, held_values))

    def query(self, start: float, end: float, points: int) -> Answer:
        """The points to draw `start`..`end` with about `points` points (downsample them
        with `telemetry.downsample.m4` when there are more): from the raw ring when it
        reaches back to `start`, else from the coarsest rollup that reaches back and
        still gives `points` points over the range, else from the finest that reaches
        back, else from the one reaching furthest.  Rollup buckets come as up to four
        points each (first, min, max, last); held points as themselves."""
        held = self._held_ts[0] if self._held_ts else math.inf

        def reach(first: float | None) -> float:
            return min(math.inf if first is None else first, held)

        sources: list[Ring | Rollup] = [self._ring, *self._rollups]
        # The raw points reach back only as far as `raw` answers: held points
        # older than the ring's span (a burst of old points, not yet put in)
        # are not raw points it keeps, though the rollups take them.
        raw_ts = self.raw()[0] if self._held_ts else None
        ring_reach = (
            reach(self._ring.first_ts)
            if raw_ts is None
            else (float(raw_ts[0]) if len(raw_ts) else math.inf)
        )
        reaches = [ring_reach, *(reach(r.first_ts) for r in self._rollups)]
        oldest = min(reaches)
        slack = REACH_SLACK + max((r.width for r in self._rollups), default=0.0) / OFFSET_STEPS
        covering = [
            s for s, r in zip(sources, reaches, strict=True) if r <= max(start, oldest) + slack
        ]
        if not covering:
            chosen = sources[reaches.index(oldest)]
        else:
            chosen = covering[0]
            for source in reversed(covering):
                if isinstance(source, Rollup) and 4 * (end - start) / source.width >= points:
                    chosen = source
                    break
        if isinstance(chosen, Ring):
            ts, values = self.raw(start, end)
            return Answer("raw", ts, values)
        ts, values = chosen.as_points(start, end)
        rollup_end = math.inf  # the held points are newer than every rollup bucket
        if self._held_ts:
            held_ts, held_values = self._held(start, end)
            ts, values = np.concatenate((ts, held_ts)), np.concatenate((values, held_values))
            rollup_end = self._held_ts[0]
        return Answer(format_duration(chosen.width), ts, values, rollup_end)

    @property
    def raw_count(self) -> int:
        """How many raw points the series keeps, held ones included."""
        return len(self._ring) + len(self._held_ts)

    @property
    def nbytes(self) -> int:
        """Bytes held by the series' arrays, held points included."""
        held = self._held_ts.buffer_info()[1] * 16
        if self._tracked is not None:
            held += self._tracked.points * 16
        return self._ring.nbytes + sum(r.nbytes for r in self._rollups) + held

    def snapshot(self) -> SeriesSnapshot:
        """Copies of everything the series holds, for persistence."""
        e = self.entry
        ts = np.array(self._held_ts, dtype=np.float64)
        values = np.array(self._held_values, dtype=np.float64)
        return SeriesSnapshot(
            id=e.id,
            device=e.device,
            sensor=e.sensor,
            unit=e.unit,
            source=e.source,
            first_seen=e.first_seen,
            last_ts=e.last_ts,
            last_value=e.last_value,
            count=e.count,
            raw=self._ring.snapshot(),
            rollups=tuple((r.width, *r.snapshot()) for r in self._rollups),
            held=(ts, values),
        )

    @classmethod
    def restore(
        cls,
        saved: SeriesSnapshot,
        raw_points: int,
        raw_span: float,
        rollups: Sequence[tuple[float, float]],
    ) -> Series:
        """The series a snapshot saved, in today's shape (`raw_points`, `raw_span`, the
        rollups' widths and spans): a rollup no longer configured is dropped, a new one
        starts empty.  ValueError when the saved arrays do not fit together."""
        entry = CatalogEntry(
            saved.id,
            saved.device,
            saved.sensor,
            saved.unit,
            saved.source,
            saved.first_seen,
            saved.last_ts,
            saved.last_value,
            saved.count,
        )
        ring = Ring.restore(raw_points, raw_span, *saved.raw)
        by_width = {r[0]: r for r in saved.rollups}
        made = []
        for width, keep in rollups:
            old = by_width.get(width)
            if old is None:
                made.append(Rollup(width, keep))
            else:
                _, newest, oldest, columns = old
                made.append(Rollup.restore(width, keep, newest, oldest, columns))
        return cls(entry, ring, made, saved.held)
