"""The browser benchmark's rows and notes, from its measurements (`bench.browser`)."""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from typing import Any

from bench.browser_server import FILLED, RATE, SERIES
from bench.model import Report, Row

NAME = "browser"
BASELINE = "bare uPlot page, same redraw policy"
BUSY_TARGET = 1.5  # project / bare, at each range
FIRST_LINE_TARGET_MS = 1000.0  # at 360 px, after the navigation starts
BUTTON_TARGET_MS = 500.0  # at 360 px, after a range button
LONG_TASK_MS = 50.0
HEAP_SLACK = 64 * 1024  # bytes/min above nothing that still count as flat


def _pick(runs: list[dict[str, Any]], **match: Any) -> list[dict[str, Any]]:
    found = [r for r in runs if all(r[k] == v for k, v in match.items())]
    return sorted(found, key=lambda r: r["repeat"])


def _med(values: list[float]) -> float:
    return float(statistics.median(values))


def _verdict(ok: bool) -> str:
    return "holds" if ok else "FAILS"


@dataclass(frozen=True, slots=True)
class Measured:
    """What one run measured (the dicts are `bench.browser`'s details) and how."""

    runs: list[dict[str, Any]]  # a page's window at one range and viewport
    firsts: list[dict[str, Any]]  # a page's first line at 360 px
    buttons: list[dict[str, Any]]  # the project page's line back after a range button
    heap: dict[str, Any]
    colds: list[dict[str, Any]]  # a cold start on a month of history to the first line
    warm: float
    window: float
    repeat: int
    version: str
    sizes: dict[str, tuple[int, int]]  # viewport -> the project's plot width, height


def report_rows_and_notes(report: Report, measured: Measured) -> None:
    runs, firsts, heap, sizes = measured.runs, measured.firsts, measured.heap, measured.sizes
    cases = sorted({(r["viewport"], r["range"]) for r in runs}, key=_case_order)
    report.notes.append(
        f"browser: Chromium {measured.version}, headless; {SERIES} series at {RATE:g} Hz "
        f"(spread over each second), history filled for {FILLED / 60:.0f} min before the "
        f"server listened; "
        f"plots {', '.join(f'{w}×{h} at {v} px' for v, (w, h) in sizes.items())}.  Warm-up "
        f"{measured.warm:g} s, window {measured.window:g} s, {measured.repeat} repeat(s), "
        "pages alternating."
    )
    for width, rng in cases:
        project = _pick(runs, page="project", viewport=width, range=rng)
        bare = _pick(runs, page="bare", viewport=width, range=rng)
        for key, what in (
            ("busy_ms_per_s", "main-thread busy"),
            ("thread_cpu_ms_per_s", "main-thread CPU"),
        ):
            report.rows.append(
                Row.compare(
                    NAME,
                    f"{rng} window full, {width} px, {what}",
                    "ms per s, lower is better",
                    project=[r[key] for r in project],
                    baseline_name=BASELINE,
                    baseline=[r[key] for r in bare],
                )
            )
        ratio = _med(
            [p["busy_ms_per_s"] / b["busy_ms_per_s"] for p, b in zip(project, bare, strict=True)]
        )
        parts = ", ".join(
            f"{what} {_med([r[key] for r in project]):.1f} vs {_med([r[key] for r in bare]):.1f}"
            for key, what in (
                ("script_ms_per_s", "script"),
                ("layout_ms_per_s", "layout"),
                ("style_ms_per_s", "style"),
                ("other_ms_per_s", "the rest"),
            )
        )
        cpu = ", ".join(
            f"{what} {_med([r[key] for r in project]):.1f} vs {_med([r[key] for r in bare]):.1f}"
            for key, what in (
                ("thread_cpu_ms_per_s", "main-thread CPU"),
                ("process_cpu_ms_per_s", "renderer process CPU"),
            )
        )
        over = sum(r["long_tasks"] for r in project)
        report.notes.append(
            f"browser: {rng} at {width} px: busy {ratio:.2f}× the bare page's "
            f"({_med([r['busy_ms_per_s'] for r in project]):.1f} vs "
            f"{_med([r['busy_ms_per_s'] for r in bare]):.1f} ms/s; {parts}), target ≤ "
            f"{BUSY_TARGET:g}×: {_verdict(ratio <= BUSY_TARGET)}; {cpu} ms/s.  Points delivered "
            f"{_med([r['points_per_s'] for r in project]):.0f}/s in "
            f"{_med([r['events_per_s'] for r in project]):.1f} events/s (bare "
            f"{_med([r['points_per_s'] for r in bare]):.0f} in "
            f"{_med([r['events_per_s'] for r in bare]):.1f}); chart draws "
            f"{_med([r['draws_per_s'] for r in project]):.1f}/s (bare "
            f"{_med([r['draws_per_s'] for r in bare]):.1f}); tasks over {LONG_TASK_MS:g} ms: "
            f"{over}, longest {max(r['long_task_max_ms'] for r in project):.0f} ms."
        )
    for rng in sorted({f["range"] for f in firsts}, key=_range_order):
        project = _pick(firsts, page="project", range=rng)
        bare = _pick(firsts, page="bare", range=rng)
        report.rows.append(
            Row.compare(
                NAME,
                f"first line at {rng}, 360 px, history served",
                "ms after the navigation starts, lower is better",
                project=[f["first_line_ms"] for f in project],
                baseline_name=BASELINE,
                baseline=[f["first_line_ms"] for f in bare],
            )
        )
        first = _med([f["first_line_ms"] for f in project])
        report.notes.append(
            f"browser: first line at {rng}, 360 px: {first:.0f} ms (its history answered at "
            f"{_med([f['history_end_ms'] for f in project]):.0f} ms), bare "
            f"{_med([f['first_line_ms'] for f in bare]):.0f} ms; target ≤ "
            f"{FIRST_LINE_TARGET_MS:.0f} ms: {_verdict(first <= FIRST_LINE_TARGET_MS)}."
        )
    for rng in sorted({b["range"] for b in measured.buttons}, key=_range_order):
        took = [b["line_back_ms"] for b in measured.buttons if b["range"] == rng]
        report.notes.append(
            f"browser: the {rng} button on the project page at 1 h, 360 px, just after a "
            f"redraw: the line back {_med(took):.0f} ms after the click ({min(took):.0f}–"
            f"{max(took):.0f}, {len(took)} runs); target ≤ {BUTTON_TARGET_MS:.0f} ms: "
            f"{_verdict(_med(took) <= BUTTON_TARGET_MS)}."
        )
    for series in sorted({c["series"] for c in measured.colds}):
        project = _pick(measured.colds, page="project", series=series)
        bare = _pick(measured.colds, page="bare", series=series)
        report.rows.append(
            Row.compare(
                NAME,
                f"cold start to the first line, {series} series x 30 d restored, 360 px",
                "s after the server process starts, lower is better",
                project=[c["to_line_s"] for c in project],
                baseline_name=BASELINE,
                baseline=[c["to_line_s"] for c in bare],
            )
        )
        report.notes.append(
            f"browser: cold start on {series} series x 30 d restored: the project page's "
            f"first line {_med([c['to_line_s'] for c in project]):.2f} s after the server's "
            f"process started ({min(c['to_line_s'] for c in project):.2f}–"
            f"{max(c['to_line_s'] for c in project):.2f}, {len(project)} runs; the server "
            f"listening at {_med([c['listen_s'] for c in project]):.2f} s, the line "
            f"{_med([c['page_ms'] for c in project]):.0f} ms after the page opened, "
            f"{project[0]['charts']} chart(s)); the bare page's "
            f"{_med([c['to_line_s'] for c in bare]):.2f} s (its line "
            f"{_med([c['page_ms'] for c in bare]):.0f} ms after it opened)."
        )
    report.notes.append(
        f"browser: heap, project page at 1 h, 1280 px, post-GC over "
        f"{heap['samples'][-1][0]:.0f} s: first {heap['first'] / 1e6:.2f} MB, last "
        f"{heap['last'] / 1e6:.2f} MB, max {heap['max'] / 1e6:.2f} MB, slope "
        f"{heap['slope_per_min'] / 1e3:+.0f} kB/min, over the second half (settled; the median "
        f"of pairwise slopes) "
        f"{heap['settled_slope_per_min'] / 1e3:+.0f} kB/min; flat (settled, ≤ "
        f"{HEAP_SLACK / 1e3:.0f} kB/min: the window is full, its points are replaced, not "
        f"added): {_verdict(heap['settled_slope_per_min'] <= HEAP_SLACK)}."
    )


def _range_order(rng: str) -> int:
    return {"1m": 0, "15m": 1, "1h": 2}.get(rng, 3)


def _case_order(case: tuple[str, str]) -> tuple[int, int]:
    width, rng = case
    return -int(width), _range_order(rng)
