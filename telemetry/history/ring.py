"""A series' recent raw points: a bounded, time-ordered numpy buffer.

Raw points live in a numpy buffer that grows with what it holds, up to 1.25
times the ring's capacity (so a series that reports slowly costs little
memory).  When the end of the buffer is reached the points that stay are
copied back to its start (those the incoming points push out of the span are
dropped first, so a buffer needs room for the span's points, not the span's
and the incoming ones); they are therefore always one contiguous, time-ordered
slice, so range queries are two binary searches, and an append is amortised
O(1) since every compaction leaves a fifth of the buffer free.  A late point (QoS 1
redelivery, a device flushing its buffer) is inserted at its place; an exact
repeat of a stored (time, value) is a duplicate and refused.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

INITIAL_POINTS = 64  # first allocation of a raw buffer; it grows as needed
GROWTH = 1.25  # a buffer that must grow holds this many times the points it keeps


class Ring:
    """Time-ordered (ts, value) points: at most `capacity`, none older than `span`."""

    __slots__ = (
        "_end",
        "_limit",
        "_start",
        "_ts",
        "_values",
        "capacity",
        "duplicates",
        "span",
        "too_old",
    )

    def __init__(self, capacity: int, span: float) -> None:
        self.capacity = capacity
        self.span = span
        self._limit = math.ceil(GROWTH * capacity) + 1  # the largest buffer (+1: a late point)
        size = min(INITIAL_POINTS, self._limit)
        self._ts: FloatArray = np.empty(size, dtype=np.float64)
        self._values: FloatArray = np.empty(size, dtype=np.float64)
        self._start = 0
        self._end = 0
        self.duplicates = 0
        self.too_old = 0

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def last_ts(self) -> float | None:
        return float(self._ts[self._end - 1]) if self._end > self._start else None

    def _make_room(self, needed: int, newest: float | None) -> None:
        """Free slots at the end for `needed` (at most `capacity`) points newer than every
        stored one, the newest at `newest`, dropping first what they push out (points
        older than the span before `newest`, or beyond the capacity); or, with `newest`
        None, for one late point, which pushes nothing out before it is placed.
        Compacts, or grows to GROWTH times what stays."""
        if newest is None:
            first = self._live_start()
            keep = min(self._end - first, self.capacity)
        else:
            first = self._live_start(newest)
            keep = min(self._end - first, self.capacity - needed)
        size = len(self._ts)
        if keep + needed > size or (GROWTH * (keep + needed) > size and size < self._limit):
            # Each compaction leaves at least a fifth of the buffer free, so the copies
            # stay amortised O(1): at most four points copied per point appended.
            size = min(max(INITIAL_POINTS, math.ceil(GROWTH * (keep + needed))), self._limit)
            ts, values = np.empty(size), np.empty(size)
        else:
            ts, values = self._ts, self._values
        ts[:keep] = self._ts[self._end - keep : self._end]
        values[:keep] = self._values[self._end - keep : self._end]
        self._ts, self._values = ts, values
        self._start, self._end = 0, keep

    def append(self, ts: float, value: float) -> bool:
        """Add a point at its place in time; False (nothing stored) for a repeat or one
        older than the ring's span."""
        end = self._end
        late = end > self._start and ts < self._ts[end - 1]
        if late or (end > self._start and ts == self._ts[end - 1]):
            return self._insert(ts, value)
        if end == len(self._ts):
            self._make_room(1, ts)
            end = self._end
        self._ts[end] = ts
        self._values[end] = value
        self._end = end + 1
        if self._end - self._start > self.capacity:
            self._start = self._end - self.capacity
        return True

    def extend(self, ts: FloatArray, values: FloatArray) -> None:
        """Add points in time order, each newer than every stored one (as `append`
        would one by one)."""
        if not len(ts):
            return
        # Only what the ring would still hold after them: a long run must not grow it.
        lo = int(np.searchsorted(ts, ts[-1] - self.span, side="left"))
        lo = max(lo, len(ts) - self.capacity)
        ts, values = ts[lo:], values[lo:]
        n = len(ts)
        if self._end + n > len(self._ts):
            self._make_room(n, ts[-1])
        end = self._end
        self._ts[end : end + n] = ts
        self._values[end : end + n] = values
        self._end = end + n
        if self._end - self._start > self.capacity:
            self._start = self._end - self.capacity

    def repeats_newest(self, ts: float, value: float, coming: int = 0) -> bool:
        """Whether a point at `ts`, the newest time the ring holds, with `value` (or NaN
        like it) is held already: what `append` would refuse as a repeat once the
        `coming` points before it (newer, or at `ts`) are in, pushing the oldest
        out."""
        end = self._end
        start = max(self._start, end - (self.capacity - coming))
        if end <= start or self._ts[end - 1] != ts:
            return False
        live = self._ts[start:end]
        lo = start + int(np.searchsorted(live, ts, side="left"))
        same = self._values[lo:end]
        return bool(np.any((same == value) | (np.isnan(same) & math.isnan(value))))

    def _insert(self, ts: float, value: float) -> bool:
        newest = self._ts[self._end - 1]
        if ts < newest - self.span:
            self.too_old += 1
            return False
        live = self._ts[self._start : self._end]
        lo = int(np.searchsorted(live, ts, side="left"))
        hi = int(np.searchsorted(live, ts, side="right"))
        same = self._values[self._start + lo : self._start + hi]
        if np.any((same == value) | (np.isnan(same) & math.isnan(value))):
            self.duplicates += 1
            return False
        if self._end == len(self._ts):
            self._make_room(1, None)
            live = self._ts[self._start : self._end]
            hi = int(np.searchsorted(live, ts, side="right"))
        at = self._start + hi  # after any equal times: arrival order among equals
        self._ts[at + 1 : self._end + 1] = self._ts[at : self._end]
        self._values[at + 1 : self._end + 1] = self._values[at : self._end]
        self._ts[at] = ts
        self._values[at] = value
        self._end += 1
        if self._end - self._start > self.capacity:
            self._start = self._end - self.capacity
        return True

    def _live_start(self, newest: float = -math.inf) -> int:
        """Where the points within the span before `newest` (or the newest stored) begin."""
        if self._end == self._start:
            return self._start
        horizon = max(newest, self._ts[self._end - 1]) - self.span
        return self._start + int(
            np.searchsorted(self._ts[self._start : self._end], horizon, side="left")
        )

    @property
    def first_ts(self) -> float | None:
        first = self._live_start()
        return float(self._ts[first]) if first < self._end else None

    def range(self, start: float, end: float) -> tuple[FloatArray, FloatArray]:
        """Copies of the points with `start <= ts <= end`, oldest first."""
        first = self._live_start()
        ts = self._ts[first : self._end]
        lo = int(np.searchsorted(ts, start, side="left"))
        hi = int(np.searchsorted(ts, end, side="right"))
        return ts[lo:hi].copy(), self._values[first + lo : first + hi].copy()

    def points(self) -> tuple[FloatArray, FloatArray]:
        return self.range(-np.inf, np.inf)

    @property
    def nbytes(self) -> int:
        return self._ts.nbytes + self._values.nbytes

    def snapshot(self) -> tuple[FloatArray, FloatArray]:
        """Copies of the points within the span (times, values), oldest first: for
        persistence (expired points still in the buffer would be saved for nothing)."""
        first = self._live_start()
        return self._ts[first : self._end].copy(), self._values[first : self._end].copy()

    @classmethod
    def restore(
        cls,
        capacity: int,
        span: float,
        ts: npt.NDArray[np.generic],
        values: npt.NDArray[np.generic],
    ) -> Ring:
        """A ring holding saved points, trimmed to `capacity` and `span`; ValueError when
        they are not two equally long, time-ordered float arrays."""
        ts = np.asarray(ts, dtype=np.float64)
        values = np.asarray(values, dtype=np.float64)
        if ts.ndim != 1 or ts.shape != values.shape:
            raise ValueError("raw points: times and values differ in shape")
        if len(ts) and (not np.all(np.isfinite(ts)) or np.any(np.diff(ts) < 0)):
            raise ValueError("raw points: times are not finite and in order")
        ring = cls(capacity, span)
        if len(ts):
            keep = int(np.searchsorted(ts, ts[-1] - span, side="left"))
            keep = max(keep, len(ts) - capacity)
            ts, values = ts[keep:], values[keep:]
        n = len(ts)
        if n > len(ring._ts):
            size = min(ring._limit, max(INITIAL_POINTS, math.ceil(GROWTH * n)))
            ring._ts, ring._values = np.empty(size), np.empty(size)
        ring._ts[:n] = ts
        ring._values[:n] = values
        ring._start, ring._end = 0, n
        return ring
