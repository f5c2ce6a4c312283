"""Downsampling speed: `telemetry.downsample` against tsdownsample (Rust, SIMD) on the same arrays.

The input is a random walk with some spikes, 10 million float64 points (1
million with --quick), at 10 Hz from an epoch-seconds start.  Two figures,
both to 2,000 output points: M4 (`m4` with 500 buckets, against
`M4Downsampler`, whose n_out = 4 x buckets) and MinMaxLTTB (`minmax_lttb`,
against `MinMaxLTTBDownsampler`, minmax_ratio 4 both).  tsdownsample runs
single-threaded (`parallel=False`).  Figures are input points per CPU-second
(time.process_time), project and baseline interleaved per repeat.  Without
tsdownsample installed the benchmark reports a note and no rows.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import numpy.typing as npt

from bench.model import Options, Report, Row
from telemetry.downsample import m4, minmax_lttb

NAME = "downsample"
POINTS, QUICK_POINTS = 10_000_000, 1_000_000
N_OUT = 2_000
BASELINE = "tsdownsample (1 thread)"

Floats = npt.NDArray[np.float64]


def _series(n: int) -> tuple[Floats, Floats]:
    rng = np.random.default_rng(20140901)
    ts = 1.7e9 + np.arange(n, dtype=np.float64) * 0.1
    values = np.cumsum(rng.normal(0.0, 1.0, n))
    spikes = rng.integers(0, n, max(1, n // 100_000))
    values[spikes] += rng.choice([-1.0, 1.0], spikes.size) * 200.0
    return ts, values


def _cpu(call: Callable[[], object], loops: int) -> float:
    start = time.process_time()
    for _ in range(loops):
        call()
    return (time.process_time() - start) / loops


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    report = Report(NAME)
    try:
        import tsdownsample as rust  # noqa: PLC0415 - optional: only this benchmark needs it
    except ImportError:
        report.notes.append(
            "downsample: skipped, tsdownsample is not installed (pip install tsdownsample)"
        )
        return report
    n = QUICK_POINTS if options.quick else POINTS
    loops = 10 if options.quick else 3  # each timing well above the clock's resolution
    ts, values = _series(n)
    start, end = float(ts[0]), float(ts[-1]) + 1.0
    library: Any = rust  # untyped
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
    for figure, project_call, baseline_call in cases:
        project_call()  # warm: page in the arrays, first-call costs
        baseline_call()
        project, baseline = [], []
        for _ in range(options.repeat):
            project.append(n / _cpu(project_call, loops))
            baseline.append(n / _cpu(baseline_call, loops))
        progress(f"downsample {figure}: {n} points -> {N_OUT}")
        report.rows.append(
            Row.compare(
                NAME,
                figure,
                "points/CPU-s",
                project=project,
                baseline_name=BASELINE,
                baseline=baseline,
            )
        )
    version = getattr(library, "__version__", "?")
    report.notes.append(
        f"downsample: random walk with spikes, {n} float64 points -> {N_OUT}; "
        f"baseline tsdownsample {version}, parallel=False; targets: m4 >= 0.5x, "
        "minmax_lttb >= 0.33x"
    )
    return report
