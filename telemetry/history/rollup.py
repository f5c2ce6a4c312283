"""A series' rollup: fixed-width buckets of first, last, min, max, mean and count.

A circular buffer indexed by bucket number (`floor(ts / width)`), growing by
doubling up to `capacity` buckets, so a young series costs little.  A bucket
is one 28-byte record of one numpy array (one array, not one per field: each
array costs its own header and allocation, per rollup and series).  Its
values, the mean among them, are float32: seven significant digits, plenty
for a chart, half the memory.  The mean stays that accurate because the
bucket still filling (the newest) keeps its exact float64 sum aside, and a
bucket's mean is rounded once, from that sum, when it fills; only a late point
into an older bucket rounds it again.  The times of the first and last points
are a uint16 fraction of the bucket's width (they place those points when
drawn, and order a late point against them).  Reading a rollup never changes it.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from telemetry.history.ring import FloatArray

NO_BUCKET = -(2**62)  # older than any bucket number
FLOAT32_MAX = float(np.finfo(np.float32).max)
# A time within a bucket is kept in 1/OFFSET_STEPS of its width (a 1 h bucket: 55 ms).
OFFSET_STEPS = 65535
BUCKET = np.dtype(
    [
        ("mean", np.float32),
        ("first", np.float32),
        ("last", np.float32),
        ("low", np.float32),
        ("high", np.float32),
        ("count", np.uint32),
        ("first_at", np.uint16),
        ("last_at", np.uint16),
    ],
    align=True,  # every field at its natural alignment: 28 bytes
)
BUCKET_BYTES = BUCKET.itemsize
EMPTY = np.array((0.0, np.nan, np.nan, np.nan, np.nan, 0, 0, 0), dtype=BUCKET)
# The columns as saved (`snapshot`, `restore`), as saved files have always held them:
# the times within a bucket in float32 seconds, the float64 sum behind each mean.
COLUMNS = ("first", "last", "low", "high", "first_at", "last_at", "sum", "count")
SAVED_DTYPES = tuple(
    np.dtype(np.float32 if name.endswith("_at") else np.float64 if name == "sum" else BUCKET[name])
    for name in COLUMNS
)

AnyArray = npt.NDArray[np.generic]


def _run_sums(
    values: FloatArray,
    starts: npt.NDArray[np.intp],
    runs: npt.NDArray[np.intp] | None,
    carry: float | None,
) -> FloatArray:
    """Each bucket's sum (the buckets' points from `starts`), added up as runs of
    points (from `runs`) taken one at a time add it up: each run's part summed, the
    parts added in order, after `carry` (what the first bucket held) if any."""
    if runs is not None:  # both sorted: merged, without repeats
        runs = runs[(runs > 0) & (runs < len(values))]
        parts = np.sort(np.concatenate((starts, runs)))
        parts = parts[np.concatenate(([True], parts[1:] != parts[:-1]))]
    else:
        parts = starts
    if len(parts) == len(starts):  # every run's parts are whole buckets
        sums: FloatArray = np.add.reduceat(values, starts)
        if carry is not None:
            sums[0] += carry
        return sums
    part_sums = np.add.reduceat(values, parts)
    first = np.searchsorted(parts, starts)  # each bucket's first part
    sums = part_sums[first]
    if carry is not None:
        sums[0] += carry
    bucket = np.searchsorted(starts, parts, side="right") - 1
    rank = np.arange(len(parts)) - first[bucket]
    for r in range(1, int(rank.max()) + 1):  # one part of each bucket at a time
        sums[bucket[rank == r]] += part_sums[rank == r]
    return sums


class Rollup:
    """Fixed-width buckets of one series: first, last, min, max, mean and count each
    (the module says how they are kept).

    A late point updates its bucket (its minimum, maximum, mean and count; first
    and last by its time within the bucket), so arrival order never changes a
    bucket's statistics.  Points older than the buffer reaches are refused.
    """

    __slots__ = ("_buckets", "_open_sum", "_top", "capacity", "newest", "oldest", "width")

    COLUMNS = COLUMNS

    def __init__(self, width: float, keep: float) -> None:
        self.width = width
        self.capacity = max(2, math.ceil(keep / width) + 1)
        self.newest = -1  # bucket number of the newest bucket; -1 when empty
        self.oldest = -1
        self._top = NO_BUCKET  # the newest bucket taken (`newest`, or NO_BUCKET when empty)
        self._open_sum = 0.0  # the exact sum of the newest bucket's points
        self._buckets = np.full(min(16, self.capacity), EMPTY, dtype=BUCKET)

    @property
    def size(self) -> int:
        return len(self._buckets)

    @property
    def nbytes(self) -> int:
        return self._buckets.nbytes

    def _offsets(self, ts: FloatArray, numbers: npt.NDArray[np.int64]) -> npt.NDArray[np.uint16]:
        """Times within their buckets (`numbers`: `floor(ts / width)`), rounded to
        1/OFFSET_STEPS of the width: `ts / width - numbers` is in [0, 1)."""
        steps = (ts / self.width - numbers) * OFFSET_STEPS + 0.5
        return steps.astype(np.uint16)

    def _sums(self) -> FloatArray:
        """The sum behind each bucket's mean: the newest bucket's exact one."""
        b = self._buckets
        sums = np.where(b["count"] > 0, b["mean"].astype(np.float64) * b["count"], 0.0)
        if self.newest >= 0:
            sums[self.newest % len(b)] = self._open_sum
        return sums

    def snapshot(self) -> tuple[int, int, tuple[AnyArray, ...]]:
        """`(newest, oldest, columns)`: copies of the buffer's columns, named as `COLUMNS`
        with the dtypes of `SAVED_DTYPES`."""
        seconds = self.width / OFFSET_STEPS
        columns = tuple(
            (self._buckets[name] * seconds).astype(np.float32)
            if name.endswith("_at")
            else self._sums()
            if name == "sum"
            else self._buckets[name].copy()
            for name in COLUMNS
        )
        return self.newest, self.oldest, columns

    @classmethod
    def restore(
        cls,
        width: float,
        keep: float,
        newest: int,
        oldest: int,
        columns: tuple[AnyArray, ...],
    ) -> Rollup:
        """A rollup holding saved buckets, the oldest dropped when `keep` is now shorter;
        ValueError when the saved state does not fit together."""
        rollup = cls(width, keep)
        if len(columns) != len(COLUMNS):
            raise ValueError(f"rollup: {len(columns)} columns; expected {len(COLUMNS)}")
        if newest < 0:
            return rollup
        saved = len(columns[0])
        if (
            oldest < 0
            or oldest > newest
            or newest - oldest + 1 > saved
            or any(c.shape != (saved,) for c in columns)
            or any(c.dtype != t for c, t in zip(columns, SAVED_DTYPES, strict=True))
        ):
            raise ValueError("rollup: saved buckets do not fit together")
        records = np.empty(saved, dtype=BUCKET)
        for name, column in zip(COLUMNS, columns, strict=True):
            if name.endswith("_at"):
                fraction = np.nan_to_num(column.astype(np.float64) / width)
                records[name] = np.clip(np.rint(fraction * OFFSET_STEPS), 0, OFFSET_STEPS)
            elif name == "sum":
                count = columns[COLUMNS.index("count")].astype(np.float64)
                with np.errstate(invalid="ignore", divide="ignore"):
                    records["mean"] = np.where(count > 0, column.astype(np.float64) / count, 0.0)
            else:
                records[name] = column
        rollup._open_sum = float(columns[COLUMNS.index("sum")][newest % saved])
        first = max(oldest, newest - rollup.capacity + 1)
        kept = np.arange(first, newest + 1, dtype=np.int64)
        size = min(rollup.capacity, max(rollup.size, len(kept)))
        rollup._buckets = np.full(size, EMPTY, dtype=BUCKET)
        rollup._buckets[kept % size] = records[kept % saved]
        rollup.newest, rollup.oldest, rollup._top = newest, first, newest
        return rollup

    def _grow(self, needed: int) -> None:
        """Room for `needed` buckets (up to the capacity), keeping the stored ones."""
        size = len(self._buckets)
        if needed <= size or size >= self.capacity:
            return
        size = min(self.capacity, max(2 * size, needed))
        kept = np.arange(self.oldest, self.newest + 1)
        grown = np.full(size, EMPTY, dtype=BUCKET)
        grown[kept % size] = self._buckets[kept % len(self._buckets)]
        self._buckets = grown

    def _clear(self, lo: int, hi: int) -> None:
        """Empty the buckets lo..hi-1, at most `size` of them, by slices (one or two)."""
        if lo >= hi:
            return
        size = len(self._buckets)
        a, b = lo % size, (hi - 1) % size + 1
        if a < b:
            self._buckets[a:b] = EMPTY
        else:
            self._buckets[a:] = EMPTY
            self._buckets[:b] = EMPTY

    def add(self, ts: float, value: float) -> bool:
        """Fold one point in, at any time; False when it is older than the buffer reaches.

        Points newer than every one before come in runs through `extend`, held by
        their series; this is for the few that come late.
        """
        bucket = math.floor(ts / self.width)
        if bucket <= self._top - self.capacity:  # the buffer, at its full size, ends before it
            return False
        if self.oldest <= bucket <= self.newest == self._top >= 0:
            self._fold_one(ts, value, bucket)  # a bucket there already: no numpy arrays
            return True
        self._top = max(self._top, bucket)
        self._fold(np.array([ts]), np.array([value]), ordered=True)
        return True

    def _fold_one(self, ts: float, value: float, bucket: int) -> None:
        """`_fold` of one point into a bucket the buffer holds, without arrays: a late
        point costs a few microseconds, where `_fold`'s numpy calls cost 0.1 ms.  The
        same arithmetic, so the same bits."""
        if abs(value) > FLOAT32_MAX:
            value = math.copysign(math.inf, value)
        offset = int((ts / self.width - bucket) * OFFSET_STEPS + 0.5)
        buckets = self._buckets
        b = buckets[bucket % len(buckets)]  # a view of the record: writes go in
        count = int(b["count"])
        if count == 0:
            b["first"] = b["last"] = b["low"] = b["high"] = value
            b["first_at"] = b["last_at"] = offset
            before = 0.0
        else:
            if offset < b["first_at"]:
                b["first"], b["first_at"] = value, offset
            if offset >= b["last_at"]:
                b["last"], b["last_at"] = value, offset
            b["low"] = np.fmin(np.float64(b["low"]), value)
            b["high"] = np.fmax(np.float64(b["high"]), value)
            before = float(b["mean"]) * count
        if bucket == self.newest:  # its exact sum, as `_fold` takes it
            before = self._open_sum
        total = before + value
        b["count"] = count + 1
        b["mean"] = total / (count + 1)
        if bucket == self.newest:
            self._open_sum = total

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

    def extend_runs(self, ts: FloatArray, values: FloatArray, starts: Sequence[int]) -> None:
        """Take runs of points (the i-th from `starts[i]`, the first from 0) as `extend`
        of each in turn would, bit for bit, in one pass: a series' log replayed.  A
        bucket's sum is added up as there: each run's part of it, then part by part."""
        if len(starts) <= 1 or not len(ts):
            self.extend(ts, values)
            return
        if self.newest < 0:  # the first run says where the buckets start: alone
            end = starts[1]
            self.extend(ts[:end], values[:end])
            self.extend_runs(ts[end:], values[end:], [s - end for s in starts[1:]])
            return
        numbers = np.floor(ts / self.width).astype(np.int64)
        if numbers[0] < self.newest:  # the first run folds: each alone
            for a, b in itertools.pairwise([*starts, len(ts)]):
                self.extend(ts[a:b], values[a:b])
            return
        self._top = max(self._top, int(numbers[-1]))
        self._append(ts, values, numbers, np.asarray(starts, dtype=np.intp))

    def _append(
        self,
        ts: FloatArray,
        values: FloatArray,
        numbers: npt.NDArray[np.int64],
        runs: npt.NDArray[np.intp] | None = None,
    ) -> None:
        """Fold points in time order that all fall in the newest bucket or later ones:
        as `_fold`, with the newest bucket's statistics merged by hand and every other
        bucket new, written without reading what was there (about half the time of
        `_fold` for a series' held points: bench/README.md, ingest).  `runs`: where
        runs start, for `extend_runs`."""
        floor = self._top - self.capacity + 1  # the oldest bucket the buffer can hold now
        if numbers[0] < floor:  # the earliest points are already beyond the buffer
            cut = int(np.searchsorted(numbers, floor))
            ts, values, numbers = ts[cut:], values[cut:], numbers[cut:]
            runs = None if runs is None else runs - cut
        top = self._top
        if not np.abs(values).max() <= FLOAT32_MAX:  # beyond float32 (or NaN): as `_fold`
            big = np.abs(values) > FLOAT32_MAX
            values = np.where(big, np.copysign(np.inf, values), values)
        oldest = max(self.oldest, floor) if self.newest >= 0 else int(numbers[0])
        self._grow(top - oldest + 1)
        size = len(self._buckets)
        j = int(numbers[0]) % size
        merge = int(numbers[0]) == self.newest and self._buckets["count"][j] > 0
        self._clear(max(self.newest + 1, floor, oldest), top + 1)
        self.newest, self.oldest = top, oldest
        n = len(numbers)
        edges = np.flatnonzero(numbers[1:] != numbers[:-1]) + 1  # where a bucket starts
        starts = np.zeros(len(edges) + 1, dtype=np.intp)
        starts[1:] = edges
        ends = np.empty_like(starts)
        ends[:-1] = edges - 1
        ends[-1] = n - 1
        new = np.empty(len(starts), dtype=BUCKET)
        new["first"] = values[starts]
        new["first_at"] = self._offsets(ts[starts], numbers[starts])
        new["last"] = values[ends]  # later points win ties, as `_fold`'s `>=`
        new["last_at"] = self._offsets(ts[ends], numbers[ends])
        new["low"] = np.minimum.reduceat(values, starts)
        new["high"] = np.maximum.reduceat(values, starts)
        sums = _run_sums(values, starts, runs, self._open_sum if merge else None)
        counts = ends - starts + 1
        if merge:  # the newest bucket goes on: its first point stays first (ties too)
            _, first, _, low, high, count, first_at, _ = self._buckets[j].item()
            _, _, last, low2, high2, _, _, last_at = new[0].item()
            new[0] = (0.0, first, last, min(low, low2), max(high, high2), 0, first_at, last_at)
            counts[0] += count
        new["count"] = counts
        new["mean"] = sums / counts
        self._open_sum = float(sums[-1])  # the last of them is the newest bucket now
        self._buckets[numbers[starts] % size] = new

    def _fold(self, ts: FloatArray, values: FloatArray, ordered: bool) -> None:
        """Fold points into their buckets; `ordered`: they come in time order."""
        # Beyond float32: infinity, without numpy's overflow warning.
        big = np.abs(values) > FLOAT32_MAX
        if big.any():
            values = np.where(big, np.copysign(np.inf, values), values)
        numbers = np.floor(ts / self.width).astype(np.int64)
        top, was_newest = self._top, self.newest
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
        offsets = self._offsets(ts, numbers)
        if not ordered:
            order = np.lexsort((np.arange(len(numbers)), offsets, numbers))
            numbers, values, offsets = numbers[order], values[order], offsets[order]
        starts = np.flatnonzero(np.diff(numbers, prepend=numbers[0] - 1))
        ends = np.append(starts[1:], len(numbers)) - 1
        at = numbers[starts] % len(self._buckets)
        b = self._buckets[at]  # a copy of each bucket the points fall in
        empty = b["count"] == 0
        first = empty | (offsets[starts] < b["first_at"])
        b["first"] = np.where(first, values[starts], b["first"])
        b["first_at"] = np.where(first, offsets[starts], b["first_at"])
        last = empty | (offsets[ends] >= b["last_at"])
        b["last"] = np.where(last, values[ends], b["last"])
        b["last_at"] = np.where(last, offsets[ends], b["last_at"])
        low, high = np.minimum.reduceat(values, starts), np.maximum.reduceat(values, starts)
        b["low"] = np.where(empty, low, np.fmin(b["low"], low))
        b["high"] = np.where(empty, high, np.fmax(b["high"], high))
        # The sums behind the means: the newest bucket's exact one, the others' from
        # their means (a late point into an older bucket rounds its mean once more).
        sums = np.where(empty, 0.0, b["mean"].astype(np.float64) * b["count"])
        sums[numbers[starts] == was_newest] = self._open_sum
        sums += np.add.reduceat(values, starts)
        b["count"] += (ends - starts + 1).astype(np.uint32)
        b["mean"] = sums / b["count"]
        self._buckets[at] = b
        if numbers[starts[-1]] == top:  # the newest bucket took points: its sum is theirs
            self._open_sum = float(sums[-1])

    @property
    def first_ts(self) -> float | None:
        """The time of the oldest point kept (None when empty)."""
        if self.newest < 0:
            return None
        numbers = np.arange(self.oldest, self.newest + 1)
        used = self._buckets["count"][numbers % self.size] > 0
        first = int(numbers[int(np.argmax(used))])
        offset = int(self._buckets["first_at"][first % self.size])
        return (first + offset / OFFSET_STEPS) * self.width

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
        b = self._buckets[numbers % self.size]
        used = b["count"] > 0
        numbers, b = numbers[used], b[used]
        start_ts = numbers.astype(np.float64) * self.width
        count = b["count"].astype(np.float64)
        mean = b["mean"].astype(np.float64)
        if len(numbers) and numbers[-1] == self.newest:  # its exact sum, not yet rounded
            mean[-1] = self._open_sum / count[-1]
        seconds = self.width / OFFSET_STEPS
        return {
            "ts": start_ts,
            "first": b["first"].astype(np.float64),  # every column float64
            "last": b["last"].astype(np.float64),
            "min": b["low"].astype(np.float64),
            "max": b["high"].astype(np.float64),
            "mean": mean,
            "count": count,
            "first_ts": start_ts + b["first_at"] * seconds,
            "last_ts": start_ts + b["last_at"] * seconds,
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
