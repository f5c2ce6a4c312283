"""A series' rollup: fixed-width buckets of first, last, min, max, mean and count.

A circular buffer indexed by bucket number (`floor(ts / width)`), growing by
doubling up to `capacity` buckets, so a young series costs little.  Values are
float32 (seven significant digits: plenty for a chart, half the memory); the
sum behind the mean is float64.  Reading a rollup never changes it.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from telemetry.history.ring import FloatArray

NO_BUCKET = -(2**62)  # older than any bucket number
FLOAT32_MAX = float(np.finfo(np.float32).max)
# first, last, low, high, first_at, last_at: float32; sum: float64; count: uint32.
BUCKET_BYTES = 6 * 4 + 8 + 4


class Rollup:
    """Fixed-width buckets of one series: first, last, min, max, mean and count each.

    A circular buffer indexed by bucket number (`floor(ts / width)`), growing by
    doubling up to `capacity` buckets, so a young series costs little.  Values are
    float32 (seven significant digits: plenty for a chart, half the memory);
    the sum behind the mean is float64.  A late point updates its bucket (its
    minimum, maximum, mean and count; first and last by its time within the
    bucket), so arrival order never changes a bucket's statistics.  Points older
    than the buffer reaches are refused.
    """

    __slots__ = (
        "_count",
        "_first",
        "_first_at",
        "_high",
        "_last",
        "_last_at",
        "_low",
        "_sum",
        "_top",
        "capacity",
        "newest",
        "oldest",
        "width",
    )

    def __init__(self, width: float, keep: float) -> None:
        self.width = width
        self.capacity = max(2, math.ceil(keep / width) + 1)
        self.newest = -1  # bucket number of the newest bucket; -1 when empty
        self.oldest = -1
        self._top = NO_BUCKET  # the newest bucket taken (`newest`, or NO_BUCKET when empty)
        self._allocate(min(16, self.capacity))

    def _allocate(self, size: int) -> None:
        self._first = np.full(size, np.nan, dtype=np.float32)
        self._last = np.full(size, np.nan, dtype=np.float32)
        self._low = np.full(size, np.nan, dtype=np.float32)
        self._high = np.full(size, np.nan, dtype=np.float32)
        self._first_at = np.zeros(size, dtype=np.float32)  # offset within the bucket
        self._last_at = np.zeros(size, dtype=np.float32)
        self._sum = np.zeros(size, dtype=np.float64)
        self._count = np.zeros(size, dtype=np.uint32)

    def _columns(self) -> tuple[npt.NDArray[np.generic], ...]:
        return (
            self._first,
            self._last,
            self._low,
            self._high,
            self._first_at,
            self._last_at,
            self._sum,
            self._count,
        )

    @property
    def size(self) -> int:
        return len(self._count)

    @property
    def nbytes(self) -> int:
        return len(self._count) * BUCKET_BYTES  # every column is one element a bucket

    COLUMNS = ("first", "last", "low", "high", "first_at", "last_at", "sum", "count")

    def snapshot(self) -> tuple[int, int, tuple[npt.NDArray[np.generic], ...]]:
        """`(newest, oldest, columns)`: copies of the buffers, named as `COLUMNS`."""
        return self.newest, self.oldest, tuple(c.copy() for c in self._columns())

    @classmethod
    def restore(
        cls,
        width: float,
        keep: float,
        newest: int,
        oldest: int,
        columns: tuple[npt.NDArray[np.generic], ...],
    ) -> Rollup:
        """A rollup holding saved buckets, the oldest dropped when `keep` is now shorter;
        ValueError when the saved state does not fit together."""
        rollup = cls(width, keep)
        template = rollup._columns()
        if len(columns) != len(template):
            raise ValueError(f"rollup: {len(columns)} columns; expected {len(template)}")
        if newest < 0:
            return rollup
        saved = len(columns[0])
        if (
            oldest < 0
            or oldest > newest
            or newest - oldest + 1 > saved
            or any(c.shape != (saved,) for c in columns)
            or any(c.dtype != t.dtype for c, t in zip(columns, template, strict=True))
        ):
            raise ValueError("rollup: saved buckets do not fit together")
        first = max(oldest, newest - rollup.capacity + 1)
        kept = np.arange(first, newest + 1, dtype=np.int64)
        rollup._allocate(min(rollup.capacity, max(rollup.size, len(kept))))
        for new_col, old_col in zip(rollup._columns(), columns, strict=True):
            new_col[kept % rollup.size] = old_col[kept % saved]
        rollup.newest, rollup.oldest, rollup._top = newest, first, newest
        return rollup

    def _grow(self, needed: int) -> None:
        """Room for `needed` buckets (up to the capacity), keeping the stored ones."""
        size = len(self._count)
        if needed <= size or size >= self.capacity:
            return
        size = min(self.capacity, max(2 * size, needed))
        kept = np.arange(self.oldest, self.newest + 1)
        old = self._columns()
        self._allocate(size)
        for new_col, old_col in zip(self._columns(), old, strict=True):
            new_col[kept % size] = old_col[kept % len(old_col)]

    def _clear(self, lo: int, hi: int) -> None:
        """Empty the buckets lo..hi-1, at most `size` of them, by slices (one or two)."""
        if lo >= hi:
            return
        size = len(self._count)
        a, b = lo % size, (hi - 1) % size + 1
        spans = ((a, b),) if a < b else ((a, size), (0, b))
        for col, empty in zip(self._columns(), (np.nan,) * 4 + (0,) * 4, strict=True):
            for start, stop in spans:
                col[start:stop] = empty

    def add(self, ts: float, value: float) -> bool:
        """Fold one point in, at any time; False when it is older than the buffer reaches.

        Points newer than every one before come in runs through `extend`, held by
        their series; this is for the few that come late.
        """
        bucket = math.floor(ts / self.width)
        if bucket <= self._top - self.capacity:  # the buffer, at its full size, ends before it
            return False
        self._top = max(self._top, bucket)
        self._fold(np.array([ts]), np.array([value]), ordered=True)
        return True

    def extend(self, ts: FloatArray, values: FloatArray) -> None:
        """Take points in time order, each at least as new as every point taken
        before (as `add` would one by one, and faster: `Series` holds them)."""
        if not len(ts):
            return
        self._top = max(self._top, math.floor(ts[-1] / self.width))
        # Points a bucket or more before the buffer's reach are skipped before any
        # arithmetic on them (a long run); `_append` cuts exactly.
        reach = (self._top - self.capacity) * self.width
        if ts[0] < reach:
            cut = int(np.searchsorted(ts, reach, side="left"))
            ts, values = ts[cut:], values[cut:]
            if not len(ts):
                return
        numbers = np.floor(ts / self.width).astype(np.int64)
        if self.newest >= 0 and numbers[0] < self.newest:  # older buckets (restored
            self._fold(ts, values, ordered=True)  # ones newer than the ring) to update
        else:
            self._append(ts, values, numbers)

    def _append(self, ts: FloatArray, values: FloatArray, numbers: npt.NDArray[np.int64]) -> None:
        """Fold points in time order that all fall in the newest bucket or later ones:
        as `_fold`, with the newest bucket's statistics merged by hand and every other
        bucket new, written without reading what was there (about half the time of
        `_fold` for a series' held points: bench/README.md, ingest)."""
        floor = self._top - self.capacity + 1  # the oldest bucket the buffer can hold now
        if numbers[0] < floor:  # the earliest points are already beyond the buffer
            cut = int(np.searchsorted(numbers, floor))
            ts, values, numbers = ts[cut:], values[cut:], numbers[cut:]
        top = self._top
        if not np.abs(values).max() <= FLOAT32_MAX:  # beyond float32 (or NaN): as `_fold`
            big = np.abs(values) > FLOAT32_MAX
            values = np.where(big, np.copysign(np.inf, values), values)
        oldest = max(self.oldest, floor) if self.newest >= 0 else int(numbers[0])
        self._grow(top - oldest + 1)
        size = len(self._count)
        j = int(numbers[0]) % size
        merge = int(numbers[0]) == self.newest and self._count[j] > 0
        self._clear(max(self.newest + 1, floor, oldest), top + 1)
        self.newest, self.oldest = top, oldest
        n = len(numbers)
        edges = np.flatnonzero(numbers[1:] != numbers[:-1]) + 1  # where a bucket starts
        starts = np.zeros(len(edges) + 1, dtype=np.intp)
        starts[1:] = edges
        ends = np.empty_like(starts)
        ends[:-1] = edges - 1
        ends[-1] = n - 1
        offsets = ts - numbers * self.width
        at = numbers[starts] % size
        first, first_at = values[starts], offsets[starts]
        low, high = np.minimum.reduceat(values, starts), np.maximum.reduceat(values, starts)
        sums = np.add.reduceat(values, starts)
        counts = (ends - starts + 1).astype(np.uint32)
        if merge:  # the newest bucket goes on: its first point stays first (ties too)
            first[0], first_at[0] = self._first[j], self._first_at[j]
            low[0] = min(float(self._low[j]), float(low[0]))
            high[0] = max(float(self._high[j]), float(high[0]))
            sums[0] += self._sum[j]
            counts[0] += self._count[j]
        self._first[at] = first
        self._first_at[at] = first_at
        self._last[at] = values[ends]  # later points win ties, as `_fold`'s `>=`
        self._last_at[at] = offsets[ends]
        self._low[at] = low
        self._high[at] = high
        self._sum[at] = sums
        self._count[at] = counts

    def _fold(self, ts: FloatArray, values: FloatArray, ordered: bool) -> None:
        """Fold points into their buckets; `ordered`: they come in time order."""
        # Beyond float32: infinity, without numpy's overflow warning.
        big = np.abs(values) > FLOAT32_MAX
        if big.any():
            values = np.where(big, np.copysign(np.inf, values), values)
        numbers = np.floor(ts / self.width).astype(np.int64)
        top = self._top
        floor = top - self.capacity + 1  # the oldest bucket the buffer can hold now
        if int(numbers.min()) < floor:  # a newer point may have pushed an earlier one out
            kept = numbers >= floor
            numbers, values, ts = numbers[kept], values[kept], ts[kept]
        if self.newest < 0:
            old_lo, old_hi = top + 1, top  # nothing stored: no bucket to keep
        else:
            old_lo, old_hi = max(self.oldest, floor), self.newest
        lo = min(int(numbers.min()), old_lo)
        self._grow(top - lo + 1)
        if old_lo > old_hi:
            self._clear(lo, top + 1)
        else:  # the buckets new to the buffer may hold what wrapped around: clear them
            self._clear(lo, old_lo)
            self._clear(old_hi + 1, top + 1)
        self.newest, self.oldest = top, lo
        # Sorted by bucket, then time within it, then arrival: a bucket's first point
        # starts its run and its last ends it (ties as `add` kept them).
        offsets = ts - numbers * self.width
        if not ordered:
            order = np.lexsort((np.arange(len(numbers)), offsets, numbers))
            numbers, values, offsets = numbers[order], values[order], offsets[order]
        starts = np.flatnonzero(np.diff(numbers, prepend=numbers[0] - 1))
        ends = np.append(starts[1:], len(numbers)) - 1
        at = numbers[starts] % len(self._count)
        empty = self._count[at] == 0
        first = empty | (offsets[starts] < self._first_at[at])
        self._first[at] = np.where(first, values[starts], self._first[at])
        self._first_at[at] = np.where(first, offsets[starts], self._first_at[at])
        last = empty | (offsets[ends] >= self._last_at[at])
        self._last[at] = np.where(last, values[ends], self._last[at])
        self._last_at[at] = np.where(last, offsets[ends], self._last_at[at])
        low, high = np.minimum.reduceat(values, starts), np.maximum.reduceat(values, starts)
        self._low[at] = np.where(empty, low, np.fmin(self._low[at], low))
        self._high[at] = np.where(empty, high, np.fmax(self._high[at], high))
        self._sum[at] += np.add.reduceat(values, starts)
        self._count[at] += (ends - starts + 1).astype(np.uint32)

    @property
    def first_ts(self) -> float | None:
        """The time of the oldest point kept (None when empty)."""
        if self.newest < 0:
            return None
        numbers = np.arange(self.oldest, self.newest + 1)
        first = int(numbers[int(np.argmax(self._count[numbers % self.size] > 0))])
        return first * self.width + float(self._first_at[first % self.size])

    def buckets(self, start: float, end: float) -> dict[str, FloatArray]:
        """The non-empty buckets starting in [start, end], oldest first: columns `ts`
        (bucket start), `first`, `last`, `min`, `max`, `mean`, `count`, `first_ts`,
        `last_ts`.  Index arithmetic, no scan."""
        if self.newest < 0:
            lo, hi = 0, -1
        else:
            lo = max(self.oldest, math.ceil(start / self.width)) if start > -np.inf else self.oldest
            hi = min(self.newest, math.floor(end / self.width)) if end < np.inf else self.newest
        numbers = np.arange(lo, hi + 1, dtype=np.int64)
        at = numbers % self.size
        used = self._count[at] > 0
        numbers, at = numbers[used], at[used]
        start_ts = numbers.astype(np.float64) * self.width
        count = self._count[at].astype(np.float64)
        return {
            "ts": start_ts,
            "first": self._first[at].astype(np.float64),  # every column float64
            "last": self._last[at].astype(np.float64),
            "min": self._low[at].astype(np.float64),
            "max": self._high[at].astype(np.float64),
            "mean": self._sum[at] / count,
            "count": count,
            "first_ts": start_ts + self._first_at[at].astype(np.float64),
            "last_ts": start_ts + self._last_at[at].astype(np.float64),
        }

    def as_points(self, start: float, end: float) -> tuple[FloatArray, FloatArray]:
        """Each bucket as up to four points (first, min, max, last) in time order,
        the extremes between first and last: what M4 would keep of the raw points,
        give or take the extremes' exact times."""
        b = self.buckets(start, end)
        n = len(b["ts"])
        mid = (b["first_ts"] + b["last_ts"]) / 2
        rising = b["first"] <= b["last"]
        a = np.where(rising, b["min"], b["max"])
        z = np.where(rising, b["max"], b["min"])
        ts = np.empty(4 * n)
        values = np.empty(4 * n)
        for i, (t, v) in enumerate(
            ((b["first_ts"], b["first"]), (mid, a), (mid, z), (b["last_ts"], b["last"]))
        ):
            ts[i::4] = t
            values[i::4] = v
        return ts, values
