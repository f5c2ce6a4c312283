"""Memory of history: 500 series at 1 Hz with 24 h kept, in process RSS.

Two child processes, so neither sees the other's heap: one only imports what
the server imports (the baseline), one also fills a `Store` configured with
the default `[history]` (raw ring and rollups) for 500 series holding a full
day.  Filling a day at 1 Hz point by point would take minutes, so each series
gets its last 15 minutes (the raw ring's span) at 1 Hz and the 23 h 45 min
before at one point every 10 s: one point in every bucket of every rollup,
which gives the arrays the same sizes as 1 Hz would (only the counts differ).
The budget is 100 MB of RSS in total; the report gives the RSS, the baseline,
the store's own array bytes and the cost per series.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable

from bench.model import Options, Report

NAME = "memory"
SERIES, QUICK_SERIES = 500, 50
DAY = 86_400
BUDGET_MB = 100.0


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def child(kind: str, series: int) -> dict[str, float]:
    import telemetry.server  # noqa: F401, PLC0415 - what a running server has imported

    if kind == "baseline":
        return {"rss_mb": _rss_mb()}
    from telemetry.config import HistoryConfig  # noqa: PLC0415
    from telemetry.history import Store  # noqa: PLC0415
    from telemetry.model import Reading  # noqa: PLC0415

    history = HistoryConfig()
    store = Store(series, history.raw_points, history.raw_span, history.rollups)
    end = 1.7e9
    for n in range(series):
        made = store.create(Reading(f"dev{n}", "temp", 0.0, "°C", end, end), "bench", "°C")
        assert made is not None
        t = end - DAY
        while t < end - history.raw_span:
            made.append(t, (t % 977) / 10)
            t += 10.0
        while t < end:
            made.append(t, (t % 977) / 10)
            t += 1.0
    return {"rss_mb": _rss_mb(), "store_mb": store.nbytes() / 1024**2}


def _measure(kind: str, series: int) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.memory", kind, str(series)],
        capture_output=True,
        text=True,
        timeout=600,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    report = Report(NAME)
    series = QUICK_SERIES if options.quick else SERIES
    baseline = _measure("baseline", series)["rss_mb"]
    full = _measure("store", series)
    progress(f"memory: {series} series x 24 h")
    per_series_kb = (full["rss_mb"] - baseline) * 1024 / series
    verdict = "within" if full["rss_mb"] <= BUDGET_MB else "OVER"
    report.notes.append(
        f"memory: {series} series x 24 h at 1 Hz (default [history]): RSS {full['rss_mb']:.1f} MB "
        f"against {baseline:.1f} MB for the bare imports; {per_series_kb:.0f} KB per series "
        f"({full['store_mb']:.1f} MB of arrays); {verdict} the {BUDGET_MB:.0f} MB budget"
        + ("" if series == SERIES else " (quick: fewer series)")
    )
    report.details.append({"benchmark": NAME, "series": series, "baseline_mb": baseline, **full})
    return report


if __name__ == "__main__":
    print(json.dumps(child(sys.argv[1], int(sys.argv[2]))))
