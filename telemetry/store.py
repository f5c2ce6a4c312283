"""Per-series history: a bounded ring of recent raw points, rollups, and the catalog.

Raw points live in a numpy buffer that grows by doubling up to twice the
ring's capacity (so a series that reports slowly costs little memory).  When
the end of the buffer is reached the live points are copied back to its start;
they are therefore always one contiguous, time-ordered slice, so range queries
are two binary searches and an append is amortised O(1).  A late point (QoS 1
redelivery, a device flushing its buffer) is inserted at its place; an exact
repeat of a stored (time, value) is a duplicate and refused.

Rollups keep, per bucket of a fixed width, the first, last, minimum, maximum,
mean and count of the points that fell in it (see `Rollup`).
"""

from __future__ import annotations

import math
from array import array

import numpy as np
import numpy.typing as npt

from telemetry.model import Reading

FloatArray = npt.NDArray[np.float64]

INITIAL_POINTS = 64
# Points a rollup holds before it folds them into its buckets (see `Rollup.add`):
# late points come this way; newer ones come held by their series (`HOLD`).
FLUSH_AT = 128
# Points a series holds before they go into its ring and rollups (see `Store.append`):
# 8 KiB at most.  256 took 1.4 µs a point, 512 1.0 µs; 500 series x 24 h: 93.8 MB
# of RSS either way (`python -m bench --only memory`).
HOLD = 512
NO_BUCKET = -(2**62)  # older than any bucket number
FLOAT32_MAX = float(
    np.finfo(np.float32).max
)  # first allocation of a raw buffer; it doubles as needed


class Ring:
    """Time-ordered (ts, value) points: at most `capacity`, none older than `span`."""

    __slots__ = ("_end", "_start", "_ts", "_values", "capacity", "duplicates", "span", "too_old")

    def __init__(self, capacity: int, span: float) -> None:
        self.capacity = capacity
        self.span = span
        size = min(INITIAL_POINTS, 2 * capacity)
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

    def _make_room(self, needed: int = 1) -> None:
        """`needed` (at most `capacity`) free slots at the end: drop expired points,
        compact or grow."""
        first = self._live_start()
        live = self._end - first
        size = len(self._ts)
        keep = min(live, self.capacity)
        if (keep >= size // 2 or keep + needed > size) and size < 2 * self.capacity:
            size = min(max(2 * size, keep + needed), 2 * self.capacity)
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
            self._make_room()
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
        if len(ts) > self.capacity:
            ts, values = ts[-self.capacity :], values[-self.capacity :]
        n = len(ts)
        if self._end + n > len(self._ts):
            self._make_room(n)
        end = self._end
        self._ts[end : end + n] = ts
        self._values[end : end + n] = values
        self._end = end + n
        if self._end - self._start > self.capacity:
            self._start = self._end - self.capacity

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
            self._make_room()
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

    def _live_start(self) -> int:
        if self._end == self._start:
            return self._start
        horizon = self._ts[self._end - 1] - self.span
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
        """Copies of the stored points (times, values), oldest first: for persistence."""
        return (
            self._ts[self._start : self._end].copy(),
            self._values[self._start : self._end].copy(),
        )

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
            size = min(2 * capacity, max(INITIAL_POINTS, 2 * n))
            ring._ts, ring._values = np.empty(size), np.empty(size)
        ring._ts[:n] = ts
        ring._values[:n] = values
        ring._start, ring._end = 0, n
        return ring


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
        "_held_ts",
        "_held_values",
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
        self._top = NO_BUCKET  # the newest bucket, counting the held points
        self._held_ts = array("d")  # points taken but not yet folded in (see `add`)
        self._held_values = array("d")
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
        self._flush()
        return len(self._count)

    @property
    def nbytes(self) -> int:
        self._flush()
        return sum(c.nbytes for c in self._columns())

    COLUMNS = ("first", "last", "low", "high", "first_at", "last_at", "sum", "count")

    def snapshot(self) -> tuple[int, int, tuple[npt.NDArray[np.generic], ...]]:
        """`(newest, oldest, columns)`: copies of the buffers, named as `COLUMNS`."""
        self._flush()
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
        """Take one point; False when it is older than the buffer reaches.

        The point waits with up to FLUSH_AT others and they are folded into their
        buckets together, numpy over the lot, when that many have come or the rollup
        is read.  One point at a time cost eight numpy element reads and writes, and
        a new bucket a clearing of its slots: half of the ingest's time.  The
        pipeline alone took 76 µs a Tasmota message (three readings, three rollups
        each) before, 39 µs after; a plain number 18 µs before, 15 µs after.  The
        result is the same as folding them one by one.  (Points newer than all
        before now come through `extend`, held by their series: `Store.append`.)
        """
        bucket = math.floor(ts / self.width)
        top = self._top
        if bucket <= top - self.capacity:  # the buffer, at its full size, ends before it
            return False
        if bucket > top:
            self._top = bucket
        self._held_ts.append(ts)
        self._held_values.append(value)
        if len(self._held_ts) >= FLUSH_AT:
            self._flush()
        return True

    def extend(self, ts: FloatArray, values: FloatArray) -> None:
        """Take points in time order, each at least as new as every point taken
        before (as `add` would one by one, and faster: `SeriesInfo` holds them)."""
        if not len(ts):
            return
        self._flush()
        self._top = max(self._top, math.floor(ts[-1] / self.width))
        numbers = np.floor(ts / self.width).astype(np.int64)
        if self.newest >= 0 and numbers[0] < self.newest:  # older buckets (restored
            self._fold(ts, values, ordered=True)  # ones newer than the ring) to update
        else:
            self._append(ts, values, numbers)

    def _append(self, ts: FloatArray, values: FloatArray, numbers: npt.NDArray[np.int64]) -> None:
        """Fold points in time order that all fall in the newest bucket or later ones:
        as `_fold`, with the newest bucket's statistics merged by hand and every other
        bucket new, written without reading what was there.  A series' 512 held
        points went into the three default rollups in 220 µs with `_fold`, 124 with
        this (the pipeline alone: 15.9 -> 15.4 µs a Tasmota message)."""
        floor = self._top - self.capacity + 1  # the oldest bucket the buffer can hold now
        if numbers[0] < floor:  # the earliest points are already beyond the buffer
            cut = int(np.searchsorted(numbers, floor))
            ts, values, numbers = ts[cut:], values[cut:], numbers[cut:]
        top = self._top
        if np.abs(values).max() > FLOAT32_MAX:  # beyond float32: infinity, as `_fold`
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

    def _flush(self) -> None:
        """Fold the held points into their buckets, as `add` one by one would have."""
        if not self._held_ts:
            return
        ts = np.frombuffer(self._held_ts, dtype=np.float64).copy()
        values = np.frombuffer(self._held_values, dtype=np.float64).copy()
        del self._held_ts[:], self._held_values[:]
        self._fold(ts, values, ordered=False)

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
        self._flush()
        if self.newest < 0:
            return None
        numbers = np.arange(self.oldest, self.newest + 1)
        first = int(numbers[int(np.argmax(self._count[numbers % self.size] > 0))])
        return first * self.width + float(self._first_at[first % self.size])

    def buckets(self, start: float, end: float) -> dict[str, FloatArray]:
        """The non-empty buckets starting in [start, end], oldest first: columns `ts`
        (bucket start), `first`, `last`, `min`, `max`, `mean`, `count`, `first_ts`,
        `last_ts`.  Index arithmetic, no scan."""
        self._flush()
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


class SeriesInfo:
    """What the catalog says about one series; mutable, owned by the store."""

    __slots__ = (
        "_held_ts",
        "_held_values",
        "_newest",
        "_ring",
        "_rollups",
        "count",
        "device",
        "first_seen",
        "id",
        "last_ts",
        "last_value",
        "refused",
        "sensor",
        "source",
        "stale",
        "unit",
    )

    def __init__(
        self,
        reading: Reading,
        source: str,
        unit: str | None,
        ring: Ring,
        rollups: tuple[Rollup, ...] = (),
    ) -> None:
        self.id = reading.series
        self.device = reading.device
        self.sensor = reading.sensor
        self.unit = unit
        self.source = source
        self.first_seen = reading.recv_ts
        self.last_ts = reading.ts
        self.last_value = reading.value
        self.count = 0
        self.refused = 0
        self.stale = False  # set by the pipeline's stale detection
        self._ring = ring
        self._rollups = rollups  # finest first
        # Points newer than every stored one wait here, up to HOLD of them, and go
        # into the ring and the rollups together (see `Store.append`).
        self._held_ts = array("d")
        self._held_values = array("d")
        newest = ring.last_ts
        self._newest = -math.inf if newest is None else newest  # held or stored

    @property
    def ring(self) -> Ring:
        self.flush()
        return self._ring

    @property
    def rollups(self) -> tuple[Rollup, ...]:
        self.flush()
        return self._rollups

    def flush(self) -> None:
        """Put the held points into the ring and the rollups."""
        if not self._held_ts:
            return
        ts = np.array(self._held_ts, dtype=np.float64)
        values = np.array(self._held_values, dtype=np.float64)
        del self._held_ts[:], self._held_values[:]
        self._ring.extend(ts, values)
        for rollup in self._rollups:
            rollup.extend(ts, values)

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "device": self.device,
            "sensor": self.sensor,
            "unit": self.unit,
            "source": self.source,
            "last_value": self.last_value,
            "last_ts": self.last_ts,
            "count": self.count,
            "stale": self.stale,
        }


Source = Ring | Rollup


def _reach(source: Source) -> float:
    """The time of the oldest point a source still holds (inf when empty)."""
    first = source.first_ts
    return math.inf if first is None else first


class Store:
    """Every series' ring, rollups and catalog entry, with a cap on how many series exist."""

    def __init__(
        self,
        max_series: int,
        raw_points: int,
        raw_span: float,
        rollups: tuple[tuple[float, float], ...] = (),
    ) -> None:
        self.max_series = max_series
        self.raw_points = raw_points
        self.raw_span = raw_span
        self.rollups = tuple(sorted(rollups))  # (bucket width, kept for), finest first
        self.span = max([raw_span, *(keep for _, keep in self.rollups)])
        self.series: dict[str, SeriesInfo] = {}
        self.refused_series = 0

    def create(self, reading: Reading, source: str, unit: str | None) -> SeriesInfo | None:
        """A new series for `reading`, or None (counted) when the cap is reached; the
        restored one when the series was restored from disk."""
        restored = self.series.get(reading.series)
        if restored is not None:
            return restored
        if len(self.series) >= self.max_series:
            self.refused_series += 1
            return None
        info = SeriesInfo(
            reading,
            source,
            unit,
            Ring(self.raw_points, self.raw_span),
            tuple(Rollup(width, keep) for width, keep in self.rollups),
        )
        self.series[info.id] = info
        return info

    def restore_series(
        self,
        reading: Reading,
        *,
        source: str,
        unit: str | None,
        ring: Ring,
        rollups: tuple[Rollup, ...],
        count: int,
    ) -> SeriesInfo | None:
        """Add a series restored from disk: `reading` carries its id, device, sensor,
        last point (`ts`, `value`) and first-seen time (`recv_ts`).  None when the
        cap is reached."""
        if reading.series not in self.series and len(self.series) >= self.max_series:
            return None
        info = SeriesInfo(reading, source, unit, ring, rollups)
        info.count = count
        self.series[info.id] = info
        return info

    @staticmethod
    def append(info: SeriesInfo, ts: float, value: float) -> str | None:
        """Store a point in the ring and every rollup; None, or why it was refused
        (counted): `duplicate`, or `too_old` when older than all of them reach.

        A point newer than every stored one (nearly all of them) cannot be refused:
        it waits with the series, and HOLD of them go into the ring and the rollups
        together, numpy over the lot (`SeriesInfo.flush`; every read flushes first).
        A point cost 3.1 µs here one by one, 1.0 µs held; the pipeline alone went
        from 12.1 to 9.6 µs a plain number and from 39 to 31 µs a Tasmota message
        (`bench/README.md`, ingest).  Late points and repeats go one by one.
        """
        if ts > info._newest:
            info._newest = ts
            held = info._held_ts
            held.append(ts)
            info._held_values.append(value)
            if len(held) >= HOLD:
                info.flush()
        else:
            info.flush()
            ring = info._ring
            duplicates = ring.duplicates
            stored = ring.append(ts, value)
            if not stored and ring.duplicates > duplicates:
                info.refused += 1
                return "duplicate"
            for rollup in info._rollups:
                stored = rollup.add(ts, value) or stored
            if not stored:
                info.refused += 1
                return "too_old"
        info.count += 1
        if ts >= info.last_ts:
            info.last_ts = ts
            info.last_value = value
        return None

    @staticmethod
    def choose(info: SeriesInfo, start: float, end: float, points: int) -> Source:
        """Where to answer a query from: of the sources reaching back to `start` (or as
        far back as the series goes), the coarsest that still gives `points` points
        over the range; else the finest of them; else the one reaching furthest."""
        sources: list[Source] = [info.ring, *info.rollups]
        oldest = min(_reach(s) for s in sources)
        # Rollups keep times within a bucket as float32: equal to a millisecond.
        covering = [s for s in sources if _reach(s) <= max(start, oldest) + 1e-3]
        if not covering:
            return min(sources, key=_reach)
        for source in reversed(covering):
            if isinstance(source, Rollup) and 4 * (end - start) / source.width >= points:
                return source
        return covering[0]

    @staticmethod
    def points(source: Source, start: float, end: float) -> tuple[FloatArray, FloatArray]:
        if isinstance(source, Ring):
            return source.range(start, end)
        return source.as_points(start, end)

    def nbytes(self) -> int:
        """Bytes held by every series' arrays."""
        return sum(i.ring.nbytes + sum(r.nbytes for r in i.rollups) for i in self.series.values())
