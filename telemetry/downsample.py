"""Downsampling of one series' history for drawing: M4 for lines, MinMaxLTTB for scatter views.

Both take `ts` (float64 epoch seconds, sorted ascending, not checked: checking
would cost a pass over the data) and `values` (float64, same length) and return
a new `(ts, values)` pair of float64 arrays, in time order, that is a subset of
the input points (never an interpolated or averaged point).

`m4` (Jugel et al., "M4: A Visualization-Oriented Time Series Data
Aggregation", VLDB 2014; as tsdownsample's M4Downsampler) divides
`[start, end)` into `buckets` equal time buckets, one per pixel column, and
keeps in each the first, the minimum, the maximum and the last point.  A line
drawn through the result at that width is the line drawn through all points.

Gaps.  A NaN value is a gap: a line is broken there.  `m4` splits each bucket
into *runs*: maximal sequences of consecutive points whose values are all
finite-or-infinite numbers (a "value run") or all NaN (a "gap run").  Of a
value run it keeps the first, min, max and last points; of a gap run it keeps
only the first NaN point (at its own timestamp), which is enough to break the
line at that position.  So a bucket that holds a NaN keeps a NaN, a bucket of
only NaN gives exactly one NaN point (a gap, never a 0), and segments are drawn
between exactly the same pairs of neighbouring non-NaN points as in the input.
Infinite values are not gaps: they are values (the extremes).  Points outside
`[start, end)` are dropped (the caller widens the range to keep a neighbour).
Ties keep the earliest point; a point chosen twice is kept once, so a constant
run gives at most its first and last points.

`minmax_lttb` (Van Der Donckt et al., "MinMaxLTTB: Leveraging MinMax-Preselection
to Scale LTTB", 2023; as tsdownsample's MinMaxLTTBDownsampler) first drops NaN
points (it serves scatter-like views, where a gap is simply no point), keeps the
min and max of each of `n_out * minmax_ratio // 2` equal time bins of the inner
points, then runs Largest-Triangle-Three-Buckets on those candidates plus the
first and last points.  The first and last non-NaN points are always kept.

Everything is numpy over the points; the only Python loops run over output
buckets (extrema of long buckets, and LTTB's inherently sequential choice).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

__all__ = ["MAX_BUCKETS", "MAX_OUT", "bucket_edges", "m4", "minmax_lttb"]

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]

MAX_BUCKETS = 1_000_000  # pixel columns; the HTTP layer asks for far fewer
MAX_OUT = 4_000_000  # output points of minmax_lttb
_LOOP_MIN_LENGTH = 128  # mean group length from which a loop over groups beats reduceat tricks


def _check_series(ts: Floats, values: Floats) -> tuple[Floats, Floats]:
    t = np.asarray(ts, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.ndim != 1 or v.ndim != 1:
        raise ValueError("ts and values must be one-dimensional")
    if t.shape != v.shape:
        raise ValueError(f"ts has {t.size} points, values {v.size}")
    return t, v


def _check_count(name: str, count: object, low: int, high: int) -> int:
    if isinstance(count, bool) or not isinstance(count, int | np.integer):
        raise ValueError(f"{name} must be an integer, not {count!r}")
    if not low <= int(count) <= high:
        raise ValueError(f"{name} {count!r} must be between {low} and {high}")
    return int(count)


def bucket_edges(start: float, end: float, buckets: int) -> Floats:
    """The `buckets + 1` edges of `m4`'s equal time buckets over `[start, end)`.

    Bucket `k` is `[edges[k], edges[k + 1])`.
    """
    buckets = _check_count("buckets", buckets, 1, MAX_BUCKETS)
    if not (math.isfinite(start) and math.isfinite(end)) or not end > start:
        raise ValueError(f"need finite start < end, got [{start!r}, {end!r})")
    edges = start + (end - start) * (np.arange(buckets + 1, dtype=np.float64) / buckets)
    edges[-1] = end
    return edges


def _extrema(values: Floats, starts: Ints) -> tuple[Ints, Ints, bool]:
    """Index of the first minimum and of the first maximum of each group, and any NaN.

    Groups are `values[starts[i]:starts[i + 1]]`, non-empty, `starts[0] == 0`.
    The flag tells whether some group holds a NaN; such a group's indices are
    meaningless (callers overwrite them).  No separate NaN pass is made: argmin
    and reduceat propagate NaN, so the flag comes from the extremes found.
    """
    n, groups = values.size, starts.size
    if n >= _LOOP_MIN_LENGTH * groups:  # few long groups: argmin/argmax per group, cache-hot
        bounds = [*starts.tolist(), n]
        lows = np.empty(groups, dtype=np.intp)
        highs = np.empty(groups, dtype=np.intp)
        for g in range(groups):
            chunk = values[bounds[g] : bounds[g + 1]]
            lows[g] = bounds[g] + int(chunk.argmin())  # the first NaN if any
            highs[g] = bounds[g] + int(chunk.argmax())
        return lows, highs, bool(np.isnan(values[lows]).any())
    # Many short groups: the extreme value by reduceat, then its first index.  Few
    # arrays of n items: at a chart's size a fresh one costs more than the pass
    # that fills it (its pages are new), so positions are looked up, not built.
    counts = np.diff(starts, append=n)
    low_value = np.minimum.reduceat(values, starts)
    lows = _first_at(values == np.repeat(low_value, counts), starts)
    high_value = np.maximum.reduceat(values, starts)
    highs = _first_at(values == np.repeat(high_value, counts), starts)
    return lows, highs, bool(np.isnan(low_value).any())


def _first_at(hit: npt.NDArray[np.bool_], starts: Ints) -> Ints:
    """Per group, the index of its first `hit` (a group of none, a NaN group: some
    index in range, which callers overwrite)."""
    where = np.flatnonzero(hit)
    if where.size == 0:
        return np.zeros_like(starts)
    return where[np.minimum(np.searchsorted(where, starts), where.size - 1)]


def _distinct(ordered: Ints) -> Ints:
    """`ordered` (non-decreasing) without repeats: `np.unique` sorts again, and at a
    chart's size its sort and set-up cost more than the rest of `m4`."""
    if ordered.size == 0:
        return ordered
    keep = np.empty(ordered.size, dtype=bool)
    keep[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def _bucket_starts(t: Floats, edges: Floats) -> Ints:
    """Index of the first point of each non-empty bucket of `edges` (`t` sorted)."""
    found = np.searchsorted(t, edges, side="left")  # non-decreasing, as `edges` is
    return _distinct(found[found < t.size])


def _in_order(starts: Ints, lows: Ints, highs: Ints, lasts: Ints) -> Ints:
    """The picks of each group, distinct and in time order.  No sort is needed: a
    group's picks lie between its first and last index, groups follow each other."""
    rows = np.stack([starts, np.minimum(lows, highs), np.maximum(lows, highs), lasts], axis=1)
    return _distinct(rows.ravel())


def m4(ts: Floats, values: Floats, start: float, end: float, buckets: int) -> tuple[Floats, Floats]:
    """M4: per time bucket of `[start, end)`, its first, min, max and last points.

    NaN runs are kept as one NaN point per run and bucket (see the module's
    docstring); raises ValueError for `buckets` outside 1..MAX_BUCKETS, a
    non-finite or empty range, or arrays of different shapes.
    """
    t, v = _check_series(ts, values)
    edges = bucket_edges(start, end, buckets)
    lo, hi = np.searchsorted(t, [start, end], side="left")
    t, v = t[lo:hi], v[lo:hi]
    n = t.size
    if n == 0:
        return np.empty(0, dtype=np.float64), np.empty(0, dtype=np.float64)
    starts = _bucket_starts(t, edges[:-1])  # empty buckets have none
    lows, highs, has_gap = _extrema(v, starts)
    gap_groups: npt.NDArray[np.bool_] | None = None
    if has_gap:  # the rarer case: regroup by bucket and by run of NaN / non-NaN
        gap = np.isnan(v)
        boundary = np.zeros(n, dtype=bool)
        boundary[starts] = True
        boundary[1:] |= gap[1:] != gap[:-1]
        starts = np.flatnonzero(boundary)
        lows, highs, _ = _extrema(v, starts)
        gap_groups = gap[starts]
    lasts = np.append(starts[1:], n) - 1
    if gap_groups is not None:  # a gap run: its first NaN only
        lows[gap_groups] = highs[gap_groups] = lasts[gap_groups] = starts[gap_groups]
    index = _in_order(starts, lows, highs, lasts)
    return t[index], v[index]


def _lttb(x: Floats, y: Floats, n_out: int) -> Ints:
    """Indices chosen by Largest-Triangle-Three-Buckets (x sorted, no NaN)."""
    n = x.size
    if n <= n_out:
        return np.arange(n, dtype=np.intp)
    # The inner points in n_out - 2 buckets of (nearly) equal count, as Steinarsson's LTTB.
    every = (n - 2) / (n_out - 2)
    bounds = (np.arange(n_out - 1, dtype=np.float64) * every).astype(np.intp) + 1
    bounds[-1] = n - 1
    # Averages of each next bucket (the last bucket's next is the last point).
    sums_x = np.add.reduceat(x[1 : n - 1], bounds[:-1] - 1)
    sums_y = np.add.reduceat(y[1 : n - 1], bounds[:-1] - 1)
    counts = np.diff(bounds)
    avg_x = np.append((sums_x / counts)[1:], x[n - 1])
    avg_y = np.append((sums_y / counts)[1:], y[n - 1])
    # Relative to the next bucket's average, the doubled triangle area of (a, j, avg)
    # is |(x_a - ax) * (y_j - ay) - (x_j - ax) * (y_a - ay)|.
    width = int(counts.max())
    slot = np.arange(width)
    cells = bounds[:-1, None] + slot[None, :]
    valid = slot[None, :] < counts[:, None]
    cells = np.where(valid, cells, bounds[:-1, None])
    dx = x[cells] - avg_x[:, None]
    dy = y[cells] - avg_y[:, None]
    dx[~valid] = 0.0
    dy[~valid] = 0.0
    # The sequential part: a loop over output buckets, on Python floats (a bucket
    # holds about `minmax_ratio` candidates: numpy's per-call cost would dominate).
    chosen = [0]
    a = 0
    xs, ys, axs, ays = x.tolist(), y.tolist(), avg_x.tolist(), avg_y.tolist()
    for first, row_x, row_y, ax, ay in zip(
        bounds[:-1].tolist(), dx.tolist(), dy.tolist(), axs, ays, strict=True
    ):
        ux, uy = xs[a] - ax, ys[a] - ay
        best, a = -1.0, first
        for j, (px, py) in enumerate(zip(row_x, row_y, strict=True)):
            area = abs(ux * py - uy * px)
            if area > best:
                best, a = area, first + j
        chosen.append(a)
    chosen.append(n - 1)
    return np.asarray(chosen, dtype=np.intp)


def minmax_lttb(
    ts: Floats, values: Floats, n_out: int, minmax_ratio: int = 4
) -> tuple[Floats, Floats]:
    """MinMaxLTTB: at most `n_out` points, first and last (non-NaN) ones kept.

    NaN points are dropped first.  `n_out` must be 3..MAX_OUT, `minmax_ratio`
    1..1000 (ValueError otherwise).
    """
    t, v = _check_series(ts, values)
    n_out = _check_count("n_out", n_out, 3, MAX_OUT)
    minmax_ratio = _check_count("minmax_ratio", minmax_ratio, 1, 1000)
    candidates = _minmax_candidates(t, v, n_out, minmax_ratio)
    if candidates is None:  # some NaN: drop them (rare), then pick again
        present = ~np.isnan(v)
        t, v = t[present], v[present]
        candidates = _minmax_candidates(t, v, n_out, minmax_ratio)
        assert candidates is not None
    if t.size <= n_out:
        return t.copy(), v.copy()
    chosen = candidates[_lttb(t[candidates], v[candidates], n_out)]
    return t[chosen], v[chosen]


def _minmax_candidates(t: Floats, v: Floats, n_out: int, minmax_ratio: int) -> Ints | None:
    """The MinMax preselection: first, last, and each bin's extremes; None when a
    NaN is met (found by the extremes themselves: no separate NaN pass, whose
    cost showed; bench/README.md, downsample)."""
    n = t.size
    bins = max(1, n_out * minmax_ratio // 2)
    if n <= n_out or n - 2 <= 2 * bins:
        return None if n and np.isnan(v.min()) else np.arange(n, dtype=np.intp)
    inner_t, inner_v = t[1 : n - 1], v[1 : n - 1]
    if np.isnan(v[0]) or np.isnan(v[-1]):
        return None
    if inner_t[-1] > inner_t[0]:
        edges = np.linspace(inner_t[0], inner_t[-1], bins + 1)
        starts = _bucket_starts(inner_t, edges[:-1])
    else:  # all inner points at one time: one bin
        starts = np.zeros(1, dtype=np.intp)
    lows, highs, nan = _extrema(inner_v, starts)
    if nan:
        return None
    picked = _distinct(np.stack([np.minimum(lows, highs), np.maximum(lows, highs)], 1).ravel()) + 1
    return np.concatenate(([0], picked, [n - 1])).astype(np.intp)
