"""Downsampling speed: `telemetry.downsample` against tsdownsample (Rust, SIMD) on the same arrays.

The server's figure first: one chart's worth of points, as `GET /api/history`
downsamples them (`web/history.py`): 1,000 to 20,000 points of one series,
a random walk with some spikes at about 1 Hz (jittered timestamps, epoch
seconds), to the bucket counts a page asks for: one per pixel column of a plot
300, 600 or 1,200 px wide (`historyPoints` in `web/static/history.js`: points =
4 x width).  The server calls `m4` only when a series holds more points than
asked for (n > 4 x buckets), so a case runs only then; 1,000 points reach `m4`
only on plots under 250 px, so they run at 240 buckets.  Two baselines per case,
each including what it needs to be called and to give what `m4` gives (a pair
of float64 arrays): `np.ascontiguousarray` of both arrays (tsdownsample refuses
views with strides), the index array turned into the points:
- `M4Downsampler` (n_out = 4 x buckets): tsdownsample's own M4.  Not the same
  points: its buckets divide the data's first to last timestamp, right-closed,
  where ours divide the asked `[start, end)` (a chart's pixel columns), and a
  bucket of up to four points keeps all of them.  The speed yardstick.
- `same_points`: tsdownsample giving exactly `m4`'s points, as a runtime
  dependency behind `m4` would have to: our bucket starts, the bucket number of
  each point as its x for `NaNMinMaxDownsampler` (so its equal-width bins are our
  buckets), then each bucket's first and last added (`tests/bench` checks it
  against `m4` on random series).  A series with a NaN goes to `m4` itself.
Figures are microseconds of CPU a call (time.process_time over a batch of
calls; lower is better), medians of `5 x repeat` samples, project and baseline
interleaved per sample, order alternating.

Secondary rows, labelled as such: throughput on 10 million points (1 million
with --quick) to 2,000 points, M4 and MinMaxLTTB (`minmax_lttb` against
`MinMaxLTTBDownsampler`, minmax_ratio 4), as points per CPU-second: not a size
the server meets (a raw ring holds far fewer points a series), kept to follow
the vectorised core.  tsdownsample runs single-threaded (`parallel=False`)
throughout.  Without tsdownsample installed the benchmark reports a note and
no rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.model import Options, Report, Row
from telemetry.downsample import bucket_edges, m4, minmax_lttb

NAME = "downsample"
POINTS, QUICK_POINTS = 10_000_000, 1_000_000
N_OUT = 2_000
BASELINE = "tsdownsample (1 thread)"
CHART_POINTS = (1_000, 2_000, 5_000, 10_000, 20_000)
CHART_WIDTHS = (300, 600, 1_200)  # pixel columns, one M4 bucket each
NARROW = 240  # buckets for a series too short to be downsampled at 300 px
CHART_CALLS = 40  # calls per sample (each sample some milliseconds of CPU)
_ID_SCALE = 2.0**-12  # bucket numbers as x: small, so tsdownsample's 1e-12 margin dominates

Floats = npt.NDArray[np.float64]
Ints = npt.NDArray[np.intp]


def _series(n: int, step: float = 0.1, jitter: float = 0.0) -> tuple[Floats, Floats]:
    rng = np.random.default_rng(20140901)
    ts = 1.7e9 + np.arange(n, dtype=np.float64) * step
    if jitter:
        ts += rng.uniform(0.0, jitter, n)
    values = np.cumsum(rng.normal(0.0, 1.0, n))
    spikes = rng.integers(0, n, max(1, n // 100_000))
    values[spikes] += rng.choice([-1.0, 1.0], spikes.size) * 200.0
    return ts, values


def _distinct(ordered: Ints) -> Ints:
    keep = np.empty(ordered.size, dtype=bool)
    keep[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=keep[1:])
    return ordered[keep]


def same_points(
    ts: Floats, values: Floats, start: float, end: float, buckets: int, *, minmax: Any
) -> tuple[Floats, Floats]:
    """`m4(ts, values, start, end, buckets)`, with tsdownsample finding the extremes.

    `minmax` is a `tsdownsample.NaNMinMaxDownsampler` (the plain one skips NaN, so
    a gap would go unseen).  Its bins
    divide the x range into equal parts; x is each point's bucket number (times
    `_ID_SCALE`), so with one bin per non-empty bucket each bin is one bucket: bucket
    k sits at the fraction k / (g - 1) of the range, strictly inside bin k but for
    the first and last, which every binning gives to the first and last bin.
    """
    t = np.ascontiguousarray(ts, dtype=np.float64)
    v = np.ascontiguousarray(values, dtype=np.float64)
    lo, hi = np.searchsorted(t, [start, end], side="left")
    t, v = t[lo:hi], v[lo:hi]
    n = t.size
    found = np.searchsorted(t, bucket_edges(start, end, buckets)[:-1], side="left")
    starts = _distinct(found[found < n])
    groups = starts.size
    if groups < 2 or n <= 2 * groups:  # its bins need 2+; it returns every point then
        return m4(t, v, start, end, buckets)
    ids = np.repeat(np.arange(groups, dtype=np.float64) * _ID_SCALE, np.diff(starts, append=n))
    # + 0.0 turns -0.0 into 0.0: tsdownsample orders -0.0 below 0.0 (numpy has them equal,
    # so m4 keeps the first of the two).
    extremes = minmax.downsample(ids, v + 0.0, n_out=2 * groups, parallel=False).astype(np.intp)
    if np.isnan(v[extremes]).any():  # gaps: one NaN a run, which only m4 does
        return m4(t, v, start, end, buckets)
    lasts = np.append(starts[1:], n) - 1
    if extremes.size == 2 * groups:  # two a bucket (min and max, in order)
        picks = np.column_stack((starts, extremes.reshape(groups, 2), lasts)).ravel()
    else:  # a one-point bucket gave one
        picks = np.sort(np.concatenate((starts, extremes, lasts)))
    index = _distinct(picks)
    return t[index], v[index]


def _rust_m4(downsampler: Any, ts: Floats, values: Floats, n_out: int) -> tuple[Floats, Floats]:
    """tsdownsample's own M4 (its buckets), as points: what a caller of it needs."""
    t, v = np.ascontiguousarray(ts), np.ascontiguousarray(values)
    index = downsampler.downsample(t, v, n_out=n_out, parallel=False)
    return t[index], v[index]


def chart_cases() -> list[tuple[int, int]]:
    """(points, buckets) of the cases the server meets (it calls m4 when n > 4 x buckets)."""
    cases = []
    for n in CHART_POINTS:
        widths = [w for w in CHART_WIDTHS if n > 4 * w] or [NARROW]
        cases += [(n, w) for w in widths]
    return cases


def _cpu(call: Callable[[], object], loops: int) -> float:
    start = time.process_time()
    for _ in range(loops):
        call()
    return (time.process_time() - start) / loops


def _pair(
    project_call: Callable[[], object], baseline_call: Callable[[], object], repeat: int, loops: int
) -> tuple[list[float], list[float]]:
    """Seconds a call of each, `repeat` samples, interleaved, the order alternating."""
    project_call()  # warm: page in the arrays, first-call costs
    baseline_call()
    project, baseline = [], []
    for i in range(repeat):
        if i % 2:
            baseline.append(_cpu(baseline_call, loops))
            project.append(_cpu(project_call, loops))
        else:
            project.append(_cpu(project_call, loops))
            baseline.append(_cpu(baseline_call, loops))
    return project, baseline


def _chart_rows(library: Any, options: Options, progress: Callable[[str], None]) -> list[Row]:
    rust_m4 = library.M4Downsampler()
    rust_minmax = library.NaNMinMaxDownsampler()  # the plain one skips NaN: a gap unseen
    repeat = 5 * options.repeat
    loops = CHART_CALLS // 4 if options.quick else CHART_CALLS
    rows = []
    for n, buckets in chart_cases():
        ts, values = _series(n, step=1.0, jitter=0.02)
        start, end = float(ts[0]) - 0.5, float(ts[-1]) + 0.5

        ours = partial(m4, ts, values, start, end, buckets)
        theirs = partial(_rust_m4, rust_m4, ts, values, 4 * buckets)
        same = partial(same_points, ts, values, start, end, buckets, minmax=rust_minmax)
        figure = f"m4, {n:,} points -> {buckets} buckets"
        for name, baseline_call in (
            ("tsdownsample M4Downsampler", theirs),
            ("tsdownsample, m4's points", same),
        ):
            project, baseline = _pair(ours, baseline_call, repeat, loops)
            rows.append(
                Row.compare(
                    NAME,
                    figure,
                    "µs a call (lower is better)",
                    project=[s * 1e6 for s in project],
                    baseline_name=name,
                    baseline=[s * 1e6 for s in baseline],
                )
            )
        progress(f"downsample: {figure}")
    return rows


def _throughput_rows(library: Any, options: Options, progress: Callable[[str], None]) -> list[Row]:
    n = QUICK_POINTS if options.quick else POINTS
    loops = 10 if options.quick else 3  # each timing well above the clock's resolution
    ts, values = _series(n)
    start, end = float(ts[0]), float(ts[-1]) + 1.0
    m4_rust = library.M4Downsampler()
    lttb_rust = library.MinMaxLTTBDownsampler()
    cases: list[tuple[str, Callable[[], object], Callable[[], object]]] = [
        (
            "m4",
            lambda: m4(ts, values, start, end, N_OUT // 4),
            lambda: m4_rust.downsample(ts, values, n_out=N_OUT, parallel=False),
        ),
        (
            "minmax_lttb",
            lambda: minmax_lttb(ts, values, N_OUT, 4),
            lambda: lttb_rust.downsample(ts, values, n_out=N_OUT, minmax_ratio=4, parallel=False),
        ),
    ]
    rows = []
    for figure, project_call, baseline_call in cases:
        project, baseline = _pair(project_call, baseline_call, options.repeat, loops)
        label = f"{figure}, throughput (secondary: {n / 1e6:g}M points -> {N_OUT})"
        progress(f"downsample: {label}")
        rows.append(
            Row.compare(
                NAME,
                label,
                "points/CPU-s",
                project=[n / s for s in project],
                baseline_name=BASELINE,
                baseline=[n / s for s in baseline],
            )
        )
    return rows


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    report = Report(NAME)
    try:
        import tsdownsample  # noqa: PLC0415 - optional: only this benchmark needs it
    except ImportError:
        report.notes.append(
            "downsample: skipped, tsdownsample is not installed (pip install tsdownsample)"
        )
        return report
    library: Any = tsdownsample  # untyped
    report.rows += _chart_rows(library, options, progress)
    report.rows += _throughput_rows(library, options, progress)
    version = getattr(library, "__version__", "?")
    report.notes.append(
        "downsample: one chart's points (random walk at ~1 Hz) to one bucket a pixel "
        "column, µs a call with the conversions each needs; the M4Downsampler baseline "
        "buckets the data's own time range (other points), 'm4's points' gives exactly "
        f"m4's; then throughput on 10M points (secondary). tsdownsample {version}, "
        "parallel=False"
    )
    return report
