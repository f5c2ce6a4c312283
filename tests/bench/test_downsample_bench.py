"""bench/downsample.py's `same_points`: tsdownsample made to give exactly `m4`'s points.

The benchmark's "m4's points" baseline is only a fair one if it is: random
series (jittered, regular, with repeated timestamps, constant runs, spikes,
infinities, NaN gaps) at many bucket counts, ranges wider and narrower than
the data, and signed zeros, and the edge sizes (empty, one point, one bucket, more buckets
than points).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from bench.downsample import chart_cases, same_points
from telemetry.downsample import m4

tsdownsample: Any = pytest.importorskip("tsdownsample")

Floats = npt.NDArray[np.float64]


def _random_series(rng: np.random.Generator) -> tuple[Floats, Floats]:
    n = int(rng.choice([0, 1, 2, 3, 5, 17, 100, 1_000, 5_000]))
    kind = rng.integers(0, 3)
    if kind == 0:  # 1 Hz on whole seconds: points on bucket edges
        ts = 1.7e9 + np.arange(n, dtype=np.float64)
    elif kind == 1:  # jittered
        ts = 1.7e9 + np.cumsum(rng.exponential(1.0, n))
    else:  # repeated timestamps
        ts = 1.7e9 + np.sort(rng.integers(0, max(1, n // 3), n)).astype(np.float64)
    values = np.asarray(
        np.round(np.cumsum(rng.normal(0.0, 1.0, n)), int(rng.integers(0, 3))), np.float64
    )
    if n and rng.random() < 0.3:
        values[rng.integers(0, n, 3)] = rng.choice([np.inf, -np.inf, 1e308])
    if n and rng.random() < 0.3:  # signed zeros (a sensor rounding -0.04 to one decimal)
        values[rng.integers(0, n, 5)] = rng.choice([0.0, -0.0])
    if n and rng.random() < 0.3:  # a constant run
        i = int(rng.integers(0, n))
        values[i : i + 50] = values[i]
    if n and rng.random() < 0.3:  # a gap
        i = int(rng.integers(0, n))
        values[i : i + int(rng.integers(1, 20))] = np.nan
    return ts, values


def test_same_points_equal_m4_on_random_series() -> None:
    minmax = tsdownsample.NaNMinMaxDownsampler()
    rng = np.random.default_rng(19)
    for _ in range(400):
        ts, values = _random_series(rng)
        first = float(ts[0]) if ts.size else 0.0
        last = float(ts[-1]) if ts.size else 1.0
        start = first - float(rng.choice([0.0, 0.5, 100.0, -3.0]))
        end = max(last + float(rng.choice([0.0, 1.0, 0.5, -7.0])), start + 1.0)
        buckets = int(rng.choice([1, 2, 3, 7, 150, 300, 1_200, 10_000]))
        expected = m4(ts, values, start, end, buckets)
        actual = same_points(ts, values, start, end, buckets, minmax=minmax)
        for a, b in zip(expected, actual, strict=True):
            assert np.array_equal(a, b, equal_nan=True), (ts.size, start, end, buckets)


def test_same_points_equal_m4_at_the_benchmark_cases() -> None:
    minmax = tsdownsample.NaNMinMaxDownsampler()
    rng = np.random.default_rng(1)
    for n, buckets in chart_cases():
        ts = 1.7e9 + np.arange(n, dtype=np.float64) + rng.uniform(0.0, 0.02, n)
        values = np.cumsum(rng.normal(0.0, 1.0, n))
        start, end = float(ts[0]) - 0.5, float(ts[-1]) + 0.5
        expected = m4(ts, values, start, end, buckets)
        actual = same_points(ts, values, start, end, buckets, minmax=minmax)
        for a, b in zip(expected, actual, strict=True):
            assert np.array_equal(a, b)


def test_the_nan_ignoring_minmax_would_lose_a_gap() -> None:
    """Why `same_points` takes the NaN variant: the plain one skips NaN, so a gap
    would never be seen and the line drawn across it."""
    ts = np.arange(10, dtype=np.float64)
    values = np.array([1.0, 5.0, 2.0, np.nan, np.nan, 9.0, 3.0, 4.0, 0.0, 2.0])
    index = tsdownsample.MinMaxDownsampler().downsample(ts, values, n_out=4)
    assert not np.isnan(values[index]).any()
    _, out_v = same_points(ts, values, 0.0, 10.0, 2, minmax=tsdownsample.NaNMinMaxDownsampler())
    assert np.isnan(out_v).any()


def test_chart_cases_are_those_the_server_downsamples() -> None:
    cases = chart_cases()
    assert all(n > 4 * buckets for n, buckets in cases)
    assert {n for n, _ in cases} == {1_000, 2_000, 5_000, 10_000, 20_000}
