"""M4 and MinMaxLTTB: M4's pixel identity, gaps, edge cases; MinMaxLTTB's guarantees."""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry import downsample
from telemetry.downsample import bucket_edges, m4, minmax_lttb

Floats = npt.NDArray[np.float64]
Grid = npt.NDArray[np.bool_]


def arr(*items: float) -> Floats:
    return np.asarray(items, dtype=np.float64)


# --- an exact rasteriser ------------------------------------------------------------------


def rasterise(
    ts: Floats, values: Floats, edges: Floats, *, low: float, high: float, rows: int
) -> Grid:
    """Columns = the time buckets of `edges`; rows = `rows` equal slices of [low, high].

    Each non-NaN point marks its cell.  Each segment between consecutive non-NaN
    points marks, per column it crosses, the rows between its values where it
    enters and leaves the column (interpolated at the column's edges).  A NaN
    breaks the polyline: no segment to or from it.
    """
    columns = edges.size - 1
    grid = np.zeros((columns, rows), dtype=bool)

    def row(value: float) -> int:
        return min(rows - 1, max(0, math.floor((value - low) / (high - low) * rows)))

    def column(t: float) -> int:
        return int(np.searchsorted(edges, t, side="right")) - 1

    def mark(c: int, a: float, b: float) -> None:
        ra, rb = row(a), row(b)
        grid[c, min(ra, rb) : max(ra, rb) + 1] = True

    t_list, v_list = ts.tolist(), values.tolist()
    for i, (t, v) in enumerate(zip(t_list, v_list, strict=True)):
        if math.isnan(v):
            continue
        mark(column(t), v, v)
        if i + 1 == len(t_list) or math.isnan(v_list[i + 1]):
            continue
        t1, v1 = t_list[i + 1], v_list[i + 1]
        c0, c1 = column(t), column(t1)
        if c0 == c1:
            mark(c0, v, v1)
            continue

        def at(x: float, t: float = t, v: float = v, t1: float = t1, v1: float = v1) -> float:
            return v + (v1 - v) * ((x - t) / (t1 - t))

        mark(c0, v, at(float(edges[c0 + 1])))
        for c in range(c0 + 1, c1):
            mark(c, at(float(edges[c])), at(float(edges[c + 1])))
        mark(c1, at(float(edges[c1])), v1)
    return grid


# --- hypothesis series -------------------------------------------------------------------


@st.composite
def series(draw: st.DrawFn) -> tuple[Floats, Floats]:
    n = draw(st.integers(0, 300))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    gaps = rng.exponential(1.0, n)
    if draw(st.booleans()):  # some duplicate timestamps
        gaps[rng.random(n) < 0.2] = 0.0
    ts = 1.7e9 + np.cumsum(gaps)
    values = np.cumsum(rng.normal(0.0, 1.0, n))
    for _ in range(draw(st.integers(0, 4))):  # spikes
        if n:
            values[rng.integers(0, n)] += rng.choice([-1.0, 1.0]) * rng.uniform(10, 100)
    for _ in range(draw(st.integers(0, 3))):  # constant runs
        if n:
            i = int(rng.integers(0, n))
            values[i : i + int(rng.integers(1, 30))] = values[i]
    for _ in range(draw(st.integers(0, 3))):  # gaps: NaN runs
        if n:
            i = int(rng.integers(0, n))
            values[i : i + int(rng.integers(1, 20))] = np.nan
    if draw(st.booleans()) and n:  # sometimes a constant series
        values = np.where(np.isnan(values), np.nan, 3.5)
    return ts, values


@settings(max_examples=400, deadline=None)
@given(data=series(), columns=st.integers(1, 60), rows=st.integers(1, 40))
def test_m4_draws_the_same_pixels_as_all_points(
    data: tuple[Floats, Floats], columns: int, rows: int
) -> None:
    ts, values = data
    start = float(ts[0]) - 0.5 if ts.size else 0.0
    end = float(ts[-1]) + 0.5 if ts.size else 1.0
    out_t, out_v = m4(ts, values, start, end, columns)
    edges = bucket_edges(start, end, columns)
    finite = values[~np.isnan(values)]
    low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
    if high == low:
        high = low + 1.0
    expected = rasterise(ts, values, edges, low=low, high=high, rows=rows)
    actual = rasterise(out_t, out_v, edges, low=low, high=high, rows=rows)
    assert np.array_equal(expected, actual)
    # A subset of the input, in time order, at most 4 points per run, NaN kept as NaN.
    assert np.all(np.diff(out_t) >= 0)
    assert out_t.size <= ts.size
    if np.isnan(values).any():
        assert np.isnan(out_v).any()


@settings(max_examples=100, deadline=None)
@given(data=series(), columns=st.integers(1, 60))
def test_m4_keeps_a_subset_with_the_extremes(data: tuple[Floats, Floats], columns: int) -> None:
    ts, values = data
    if not ts.size:
        return
    out_t, out_v = m4(ts, values, float(ts[0]), float(ts[-1]) + 1.0, columns)
    pairs = set(zip(ts.tolist(), np.nan_to_num(values, nan=-0.125).tolist(), strict=True))
    assert set(zip(out_t.tolist(), np.nan_to_num(out_v, nan=-0.125).tolist(), strict=True)) <= pairs
    finite = values[~np.isnan(values)]
    if finite.size:
        assert np.nanmin(out_v) == finite.min()
        assert np.nanmax(out_v) == finite.max()
    assert out_t[0] == ts[0]
    assert out_t[-1] == ts[-1] or np.isnan(values[-1])


def test_m4_reduceat_and_loop_paths_agree(monkeypatch: pytest.MonkeyPatch) -> None:
    rng = np.random.default_rng(7)
    ts = np.sort(rng.uniform(0, 1000, 20_000))
    values = np.cumsum(rng.normal(size=ts.size))
    values[rng.random(ts.size) < 0.01] = np.nan
    for buckets in (3, 50, 5000):
        monkeypatch.setattr(downsample, "_LOOP_MIN_LENGTH", 0)  # always a loop over groups
        loop = m4(ts, values, 0.0, 1000.0, buckets)
        monkeypatch.setattr(downsample, "_LOOP_MIN_LENGTH", 10**12)  # always reduceat
        vector = m4(ts, values, 0.0, 1000.0, buckets)
        for a, b in zip(loop, vector, strict=True):
            assert np.array_equal(a, b, equal_nan=True)


# --- M4 edge cases -----------------------------------------------------------------------


def test_m4_empty() -> None:
    out_t, out_v = m4(arr(), arr(), 0.0, 10.0, 5)
    assert out_t.size == out_v.size == 0
    assert out_t.dtype == out_v.dtype == np.float64


def test_m4_one_and_two_points() -> None:
    assert [a.tolist() for a in m4(arr(3.0), arr(7.0), 0.0, 10.0, 4)] == [[3.0], [7.0]]
    out = m4(arr(1.0, 2.0), arr(5.0, -5.0), 0.0, 10.0, 1)
    assert [a.tolist() for a in out] == [[1.0, 2.0], [5.0, -5.0]]


def test_m4_first_min_max_last_in_time_order() -> None:
    ts = np.arange(10, dtype=np.float64)
    values = arr(5, 3, 9, 1, 4, 4, 8, 0, 6, 2)
    out_t, out_v = m4(ts, values, 0.0, 10.0, 2)
    # bucket [0, 5): first 5@0, max 9@2, min 1@3, last 4@4; bucket [5, 10): 4@5, 8@6, 0@7, 2@9
    assert out_t.tolist() == [0, 2, 3, 4, 5, 6, 7, 9]
    assert out_v.tolist() == [5, 9, 1, 4, 4, 8, 0, 2]


def test_m4_all_nan_bucket_is_a_gap_never_zero() -> None:
    ts = np.arange(12, dtype=np.float64)
    values = arr(1, 2, 3, 4, np.nan, np.nan, np.nan, np.nan, 5, 6, 7, 8)
    out_t, out_v = m4(ts, values, 0.0, 12.0, 3)
    assert 0.0 not in out_v.tolist()
    middle = (out_t >= 4) & (out_t < 8)
    assert out_t[middle].tolist() == [4.0]
    assert np.isnan(out_v[middle]).all()


def test_m4_nan_inside_a_bucket_breaks_the_line_there() -> None:
    ts = np.arange(7, dtype=np.float64)
    values = arr(1, 5, 2, np.nan, np.nan, 9, 3)
    out_t, out_v = m4(ts, values, 0.0, 7.0, 1)
    assert out_t.tolist() == [0, 1, 2, 3, 5, 6]
    assert np.array_equal(out_v, arr(1, 5, 2, np.nan, 9, 3), equal_nan=True)


def test_m4_all_nan() -> None:
    out_t, out_v = m4(np.arange(5.0), np.full(5, np.nan), 0.0, 5.0, 2)
    assert out_t.tolist() == [0.0, 3.0]
    assert np.isnan(out_v).all()


def test_m4_constant_series_keeps_first_and_last_per_bucket() -> None:
    ts = np.arange(100, dtype=np.float64)
    out_t, out_v = m4(ts, np.full(100, 2.5), 0.0, 100.0, 4)
    assert out_t.tolist() == [0, 24, 25, 49, 50, 74, 75, 99]
    assert set(out_v.tolist()) == {2.5}


def test_m4_duplicate_timestamps() -> None:
    ts = arr(1, 1, 1, 2, 2)
    values = arr(0, 9, -9, 4, 4)
    out_t, out_v = m4(ts, values, 0.0, 3.0, 1)
    assert out_t.tolist() == [1, 1, 1, 2]
    assert out_v.tolist() == [0, 9, -9, 4]


def test_m4_more_buckets_than_points_returns_all_points() -> None:
    ts = arr(0.5, 1.5, 7.25)
    values = arr(1, np.nan, 3)
    out_t, out_v = m4(ts, values, 0.0, 10.0, 1000)
    assert out_t.tolist() == ts.tolist()
    assert np.array_equal(out_v, values, equal_nan=True)


def test_m4_points_outside_the_range_are_dropped() -> None:
    ts = np.arange(10, dtype=np.float64)
    out_t, _ = m4(ts, ts, 2.0, 8.0, 3)
    assert out_t.min() >= 2.0 and out_t.max() < 8.0


def test_m4_huge_and_infinite_values() -> None:
    ts = np.arange(6, dtype=np.float64)
    values = arr(1e308, -1e308, 1.7976931348623157e308, 0.0, np.inf, -np.inf)
    out_t, out_v = m4(ts, values, 0.0, 6.0, 2)
    assert out_v.tolist() == [1e308, -1e308, 1.7976931348623157e308, 0.0, np.inf, -np.inf]
    assert out_t.tolist() == ts.tolist()


@pytest.mark.parametrize(
    ("start", "end", "buckets"),
    [
        (0.0, 10.0, 0),
        (0.0, 10.0, -3),
        (0.0, 10.0, downsample.MAX_BUCKETS + 1),
        (0.0, 10.0, 2.5),
        (0.0, 10.0, True),
        (10.0, 10.0, 4),
        (10.0, 0.0, 4),
        (0.0, math.inf, 4),
        (math.nan, 1.0, 4),
    ],
)
def test_m4_rejects_bad_arguments(start: float, end: float, buckets: object) -> None:
    with pytest.raises(ValueError):
        m4(arr(1.0), arr(1.0), start, end, buckets)  # type: ignore[arg-type]


def test_m4_rejects_mismatched_arrays() -> None:
    with pytest.raises(ValueError):
        m4(arr(1.0, 2.0), arr(1.0), 0.0, 10.0, 4)
    with pytest.raises(ValueError):
        m4(np.zeros((2, 2)), np.zeros((2, 2)), 0.0, 10.0, 4)


# --- MinMaxLTTB --------------------------------------------------------------------------


def spiky(n: int, seed: int = 3) -> tuple[Floats, Floats]:
    rng = np.random.default_rng(seed)
    ts = 1.7e9 + np.cumsum(rng.exponential(1.0, n))
    values = np.cumsum(rng.normal(size=n))
    values[rng.integers(0, n, 20)] += rng.choice([-500.0, 500.0], 20)
    return ts, values


@pytest.mark.parametrize("n_out", [3, 10, 100, 1000])
def test_minmax_lttb_size_ends_and_extremes(n_out: int) -> None:
    ts, values = spiky(50_000)
    out_t, out_v = minmax_lttb(ts, values, n_out)
    assert out_t.size <= n_out
    assert out_t[0] == ts[0] and out_t[-1] == ts[-1]
    assert np.all(np.diff(out_t) > 0)
    if n_out >= 100:
        assert out_v.max() == values.max()
        assert out_v.min() == values.min()


@settings(max_examples=200, deadline=None)
@given(data=series(), n_out=st.integers(3, 80), ratio=st.integers(1, 8))
def test_minmax_lttb_properties(data: tuple[Floats, Floats], n_out: int, ratio: int) -> None:
    ts, values = data
    out_t, out_v = minmax_lttb(ts, values, n_out, ratio)
    present = ~np.isnan(values)
    kept_t, kept_v = ts[present], values[present]
    assert out_t.size <= n_out
    if kept_t.size <= n_out:  # nothing to drop: all of it
        assert out_t.size == kept_t.size
    assert not np.isnan(out_v).any()
    if kept_t.size:
        assert out_t[0] == kept_t[0] and out_t[-1] == kept_t[-1]
        assert out_v[0] == kept_v[0] and out_v[-1] == kept_v[-1]
    pairs = set(zip(kept_t.tolist(), kept_v.tolist(), strict=True))
    assert set(zip(out_t.tolist(), out_v.tolist(), strict=True)) <= pairs
    again = minmax_lttb(ts, values, n_out, ratio)
    assert np.array_equal(again[0], out_t) and np.array_equal(again[1], out_v)


def test_minmax_lttb_small_inputs_and_nan() -> None:
    assert [a.size for a in minmax_lttb(arr(), arr(), 5)] == [0, 0]
    out_t, out_v = minmax_lttb(arr(1, 2, 3, 4), arr(1, np.nan, 3, 4), 5)
    assert out_t.tolist() == [1, 3, 4] and out_v.tolist() == [1, 3, 4]


@pytest.mark.parametrize(("n_out", "ratio"), [(2, 4), (0, 4), (10, 0), (10, 2.0), (True, 4)])
def test_minmax_lttb_rejects_bad_arguments(n_out: object, ratio: object) -> None:
    with pytest.raises(ValueError):
        minmax_lttb(arr(1, 2, 3), arr(1, 2, 3), n_out, ratio)  # type: ignore[arg-type]
