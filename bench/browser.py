"""The page in a real browser: main-thread time per second at each range, a full
window, against a bare uPlot page with the same redraw policy; time to the first line.

One server for the run (`bench.browser_server`: the real app, 20 series at 1 Hz
spread over each second, their history filled for the last hour before it
listens).  Debian's headless Chromium (Playwright, `bench.chromium`) loads one
page at a time, each in a new browser context of the same browser process:

- the project's page, `/?range=R`;
- the bare page (`bench.browser_pages`), served at the same origin through
  Playwright's request interception (`/bare.html`, never on disk), with the
  project's plot width and height at that viewport (read from the project's
  page at the start): the same uPlot, charts, series, history query, stream and
  redraw policy, and nothing else.

Per range (1 min, 15 min, 1 h) and viewport (1280 × 800, 360 × 740): each page
opened, ready (a line drawn), a warm-up, then a window.  Chrome's own counters
(CDP `Performance.getMetrics`) at the window's start and end give the main
thread's busy time (`TaskDuration`) and its script, layout and style parts; the
rest is paint, GC, parsing and event dispatch.  The probe (`PROBE_JS`) lists the
tasks over 50 ms and counts the `readings` events and their points.  Repeats
alternate the order of the pages; a ratio is project / bare, the median of the
per-repeat ratios.

The first line: at 360 × 740, a fresh context (no cache) per load, the time from
the navigation's start to the probe's `first-line` mark (uPlot's first draw with
two points of one series in view), each page in turn, at each range.

Then the project page alone at 1 h, 1280 px, its post-GC heap
(`HeapProfiler.collectGarbage`, `Runtime.getHeapUsage`) sampled at intervals,
for the heap's slope (a least-squares line, bytes per minute).

Last, the cold start (`bench.browser_cold`): a server restarted on a saved
month of history (50 and 500 series x 30 days; `--quick`: 50), and the seconds
from its process's start to the first line on a 360 px page opened as soon as
it listens.

Targets (issue 19): busy ≤ 1.5 × the bare page's at each range; the first line
≤ 1 s after the page opens at 360 px, ≤ 0.5 s after a range button; no task
over 50 ms; the heap flat.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from bench import procs
from bench.browser_cold import measure_cold
from bench.browser_pages import (
    BARE_HTML,
    PROBE_JS,
    bare_ready,
    first_line_ms,
    plot_size,
    project_ready,
    wait_first_line,
)
from bench.browser_report import Measured, report_rows_and_notes
from bench.browser_server import RATE, SERIES, BrowserError, running
from bench.chromium import CHROMIUM_FLAGS, chromium_path
from bench.model import Options, Report

NAME = "browser"
PAGES = ("project", "bare")
RANGES = {"1m": 60, "15m": 900, "1h": 3600}
VIEWPORTS = {"1280": {"width": 1280, "height": 800}, "360": {"width": 360, "height": 740}}
PHONE = "360"
HEAP_CASE = ("1h", "1280")
BUTTONS = ("15m", "1m")  # pressed on the page at 1 h


@dataclass(frozen=True, slots=True)
class Plan:
    """The durations of one run, in seconds, and the repeats."""

    warm: float
    window: float
    repeat: int
    first_repeat: int
    heap_span: float
    heap_every: float
    cold_series: tuple[int, ...]  # series in the month a cold start restores

    @classmethod
    def of(cls, options: Options) -> Plan:
        if options.quick:
            return cls(warm=3.0, window=10.0, repeat=1, first_repeat=2, heap_span=30.0,
                       heap_every=10.0, cold_series=(50,))  # fmt: skip
        if options.long:
            return cls(warm=5.0, window=60.0, repeat=min(options.repeat, 3), first_repeat=5,
                       heap_span=300.0, heap_every=30.0, cold_series=(50, 500))  # fmt: skip
        return cls(warm=5.0, window=30.0, repeat=2, first_repeat=3, heap_span=120.0,
                   heap_every=15.0, cold_series=(50, 500))  # fmt: skip


@dataclass(frozen=True, slots=True)
class Case:
    """A range (a key of RANGES) at a viewport (of VIEWPORTS), with the project's plot
    size there (width, height), which the bare page takes."""

    range: str
    viewport: str
    plot: tuple[int, int]


# --- the pages ----------------------------------------------------------------------


def _goto(page: Any, origin: str, kind: str, span: int, size: tuple[int, int]) -> None:
    if kind == "bare":
        page.route(
            f"{origin}/bare.html*",
            lambda route: route.fulfill(body=BARE_HTML, content_type="text/html; charset=utf-8"),
        )
        page.goto(f"{origin}/bare.html?range={span}&width={size[0]}&height={size[1]}")
    else:
        rng = next(name for name, s in RANGES.items() if s == span)
        page.goto(f"{origin}/?range={rng}")


def open_page(context: Any, origin: str, kind: str, span: int, size: tuple[int, int]) -> Any:
    """A page of `kind` in `context`, loaded, a line drawn."""
    page = context.new_page()
    _goto(page, origin, kind, span, size)
    try:
        (bare_ready if kind == "bare" else project_ready)(page)
    except Exception as exc:
        raise BrowserError(f"the {kind} page was not ready within 30 s: {exc}") from exc
    return page


# The main thread's tasks (wall time) and their parts; then CPU time: the main
# thread's, and the whole renderer process's (with its compositor and raster threads).
METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")
CPU = ("ThreadTime", "ProcessTime")


def _metrics(cdp: Any) -> dict[str, float]:
    got = {m["name"]: float(m["value"]) for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {name: got[name] for name in (*METRICS, *CPU)}


def _heap(cdp: Any) -> float:
    """Bytes of JS heap in use after a full GC."""
    cdp.send("HeapProfiler.collectGarbage")
    return float(cdp.send("Runtime.getHeapUsage")["usedSize"])


def _counts(page: Any) -> dict[str, float]:
    got: dict[str, float] = page.evaluate(
        "() => ({now: performance.now(), events: window.__readings.events,"
        " points: window.__readings.points, draws: window.__draws})"
    )
    return got


def _long_tasks(page: Any, start_ms: float, end_ms: float) -> list[float]:
    """Durations (ms) of the long tasks that started within [start_ms, end_ms)."""
    tasks: list[list[float]] = page.evaluate("window.__longtasks")
    return [d for s, d in tasks if start_ms <= s < end_ms]


def plot_sizes(browser: Any, origin: str) -> dict[str, tuple[int, int]]:
    """The project page's plot size at each viewport (the bare page takes it)."""
    sizes = {}
    for name, viewport in VIEWPORTS.items():
        context = browser.new_context(viewport=viewport)
        try:
            context.add_init_script(PROBE_JS)
            page = open_page(context, origin, "project", RANGES["1m"], (0, 0))
            sizes[name] = plot_size(page)
        finally:
            context.close()
    return sizes


def measure_page(browser: Any, origin: str, kind: str, case: Case, plan: Plan) -> dict[str, Any]:
    """One page at one range and viewport: ready, a warm-up, then the window's counters."""
    rng, width, size = case.range, case.viewport, case.plot
    context = browser.new_context(viewport=VIEWPORTS[width])
    try:
        context.add_init_script(PROBE_JS)
        page = open_page(context, origin, kind, RANGES[rng], size)
        cdp = context.new_cdp_session(page)
        cdp.send("Performance.enable")
        page.wait_for_timeout(plan.warm * 1000)
        m0, c0, t0 = _metrics(cdp), _counts(page), time.perf_counter()
        page.wait_for_timeout(plan.window * 1000)
        m1, c1, wall = _metrics(cdp), _counts(page), time.perf_counter() - t0
        tasks = _long_tasks(page, c0["now"], c1["now"])
        charts = page.evaluate("document.querySelectorAll('.uplot').length")
    finally:
        context.close()
    per_s = {name: (m1[name] - m0[name]) / wall for name in (*METRICS, *CPU)}
    return {
        "page": kind,
        "range": rng,
        "viewport": width,
        "plot": list(size),
        "wall": wall,
        "busy_ms_per_s": per_s["TaskDuration"] * 1000,
        "script_ms_per_s": per_s["ScriptDuration"] * 1000,
        "layout_ms_per_s": per_s["LayoutDuration"] * 1000,
        "style_ms_per_s": per_s["RecalcStyleDuration"] * 1000,
        # The rest of the main thread's tasks: paint, GC, parsing, event dispatch.
        "other_ms_per_s": (per_s["TaskDuration"] - sum(per_s[m] for m in METRICS[1:])) * 1000,
        "thread_cpu_ms_per_s": per_s["ThreadTime"] * 1000,
        "process_cpu_ms_per_s": per_s["ProcessTime"] * 1000,
        "long_tasks": len(tasks),
        "long_task_max_ms": max(tasks, default=0.0),
        "events_per_s": (c1["events"] - c0["events"]) / wall,
        "points_per_s": (c1["points"] - c0["points"]) / wall,
        "draws_per_s": (c1["draws"] - c0["draws"]) / wall,
        "charts": charts,
    }


def measure_first_line(
    browser: Any, origin: str, kind: str, rng: str, size: tuple[int, int]
) -> dict[str, Any]:
    """A fresh phone-sized context opens the page: ms to the first line, and to the
    last history answer (resource timing's `responseEnd`)."""
    context = browser.new_context(viewport=VIEWPORTS[PHONE])
    try:
        context.add_init_script(PROBE_JS)
        page = context.new_page()
        _goto(page, origin, kind, RANGES[rng], size)
        wait_first_line(page)
        first = first_line_ms(page)
        history: float = page.evaluate(
            "Math.max(0, ...performance.getEntriesByType('resource')"
            ".filter((e) => e.name.includes('/api/history')).map((e) => e.responseEnd))"
        )
    finally:
        context.close()
    if first is None:
        raise BrowserError(f"the {kind} page drew no line")
    return {"page": kind, "range": rng, "first_line_ms": first, "history_end_ms": history}


def measure_range_button(browser: Any, origin: str, rng: str) -> dict[str, Any]:
    """The project page at 1 h on a fresh phone-sized context, a line drawn; just
    after a redraw, the `rng` button: ms from the click to the line drawn again."""
    context = browser.new_context(viewport=VIEWPORTS[PHONE])
    try:
        context.add_init_script(PROBE_JS)
        page = open_page(context, origin, "project", RANGES["1h"], (0, 0))
        draws = page.evaluate("() => window.__draws")
        page.wait_for_function(f"() => window.__draws > {draws}", timeout=15_000)
        page.evaluate("() => { window.__armOnClick = true; }")
        label = {"1m": "1 min", "15m": "15 min", "1h": "1 h"}[rng]
        page.get_by_role("button", name=label, exact=True).click()
        page.wait_for_function("() => window.__lineAt !== null", timeout=15_000)
        took: float = page.evaluate("() => window.__lineAt - window.__clickAt")
    finally:
        context.close()
    return {"range": rng, "line_back_ms": took}


def measure_heap(
    browser: Any, origin: str, plan: Plan, progress: Callable[[str], None]
) -> dict[str, Any]:
    """The project page alone for `heap_span`: its post-GC heap every `heap_every`."""
    rng, width = HEAP_CASE
    context = browser.new_context(viewport=VIEWPORTS[width])
    try:
        context.add_init_script(PROBE_JS)
        page = open_page(context, origin, "project", RANGES[rng], (0, 0))
        cdp = context.new_cdp_session(page)
        page.wait_for_timeout(plan.warm * 1000)
        start = time.perf_counter()
        samples: list[tuple[float, float]] = []
        while True:
            samples.append((time.perf_counter() - start, _heap(cdp)))
            elapsed = time.perf_counter() - start
            if elapsed >= plan.heap_span - 0.5:
                break
            progress(f"browser: heap {samples[-1][1] / 1e6:.2f} MB at {elapsed:.0f} s")
            due = len(samples) * plan.heap_every
            page.wait_for_timeout(max(0.0, due - elapsed) * 1000)
    finally:
        context.close()
    heaps = [h for _, h in samples]
    return {
        "samples": samples,
        "first": heaps[0],
        "last": heaps[-1],
        "max": max(heaps),
        "slope_per_min": slope(samples) * 60,
        # The first half is the page settling (compiled code, caches filling);
        # over the second, the median of the pairwise slopes: one sample caught
        # with a frame's garbage still referenced does not make a trend.
        "settled_slope_per_min": median_slope([s for s in samples if s[0] >= plan.heap_span / 2])
        * 60,
    }


def slope(points: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of y over x (0 with fewer than two distinct x)."""
    xs = [x for x, _ in points]
    if len(set(xs)) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(y for _, y in points)
    num = sum((x - mx) * (y - my) for x, y in points)
    return num / sum((x - mx) ** 2 for x in xs)


def median_slope(points: Sequence[tuple[float, float]]) -> float:
    """The median of the slopes between every two points (Theil and Sen's
    estimator: one outlier does not move it); 0 with fewer than two distinct x."""
    slopes = [
        (y1 - y0) / (x1 - x0)
        for i, (x0, y0) in enumerate(points)
        for x1, y1 in points[i + 1 :]
        if x1 != x0
    ]
    return statistics.median(slopes) if slopes else 0.0


# --- the run ------------------------------------------------------------------------


def _order(i: int) -> tuple[str, ...]:
    return PAGES if i % 2 == 0 else PAGES[::-1]


def measure(plan: Plan, progress: Callable[[str], None] = lambda _: None) -> Report:
    """Every case `plan.repeat` times, pages alternating; the first lines; the heap."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (only when selected)

    report = Report(NAME)
    runs: list[dict[str, Any]] = []
    firsts: list[dict[str, Any]] = []
    buttons: list[dict[str, Any]] = []
    with (
        sync_playwright() as pw,
        tempfile.TemporaryDirectory(prefix="bench-chromium-") as tmp,
        running() as origin,
    ):
        browser = pw.chromium.launch(
            executable_path=procs.measured_executable(chromium_path(), tmp),
            headless=True,
            args=CHROMIUM_FLAGS,
            chromium_sandbox=False,
        )
        try:
            version = browser.version
            sizes = plot_sizes(browser, origin)
            for width in VIEWPORTS:
                for rng in RANGES:
                    for i in range(plan.repeat):
                        for kind in _order(i):
                            progress(
                                f"browser: {kind} page, {rng} at {width} px, {SERIES} series "
                                f"at {RATE:g} Hz, {plan.window:g} s ({i + 1}/{plan.repeat})"
                            )
                            case = Case(rng, width, sizes[width])
                            r = measure_page(browser, origin, kind, case, plan)
                            r["repeat"] = i
                            runs.append(r)
                            report.details.append({"test": "page", **r})
            for rng in RANGES:
                for i in range(plan.first_repeat):
                    for kind in _order(i):
                        progress(f"browser: first line, {kind} page, {rng} at {PHONE} px")
                        f = measure_first_line(browser, origin, kind, rng, sizes[PHONE])
                        f["repeat"] = i
                        firsts.append(f)
                        report.details.append({"test": "first_line", **f})
            for i in range(plan.first_repeat):
                for rng in BUTTONS:
                    progress(f"browser: the line back after the {rng} button at {PHONE} px")
                    b = measure_range_button(browser, origin, rng)
                    b["repeat"] = i
                    buttons.append(b)
                    report.details.append({"test": "range_button", **b})
            progress(f"browser: project page heap over {plan.heap_span:g} s")
            heap = measure_heap(browser, origin, plan, progress)
            report.details.append({"test": "heap", **heap})
            colds = measure_cold(
                browser,
                lambda page, at, kind: _goto(page, at, kind, RANGES["1h"], sizes[PHONE]),
                plan.cold_series,
                plan.first_repeat,
                progress,
            )
            report.details.extend({"test": "cold_start", **c} for c in colds)
        finally:
            browser.close()
    report_rows_and_notes(
        report,
        Measured(
            runs, firsts, buttons, heap, colds, plan.warm, plan.window, plan.repeat, version, sizes
        ),
    )
    return report


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    return measure(Plan.of(options), progress)
