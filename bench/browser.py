"""The page in a real browser: main-thread busy time against uPlot's own floor.

The project server (`python -m bench.browser serve PORT`: the real app with an
in-process `SimulatedSource` of 16 series at 10 Hz, 8 in °C and 8 in %, so the
page draws two charts) in its own process, a fresh one for every page so both
pages start with the same history.  Debian's headless Chromium (Playwright,
`bench.chromium`), viewport 1280 × 800, loads one of two pages at a time, each
in a new browser context of the same browser process:

- the project's page, `/?range=1h`;
- a bare page served at the same origin through Playwright's request
  interception (`/bare.html`, never on disk): uPlot from `/static/vendor/`,
  one `EventSource('/events')`, one uPlot per unit (full width, 300 px tall)
  created from the `catalog` events, and on each `readings` event the points
  appended to columnar arrays, those older than 1 h trimmed, `setData`.  That
  is the least any page streaming these points into uPlot does: the floor.

Per page: wait until it is ready (`project_ready` / `bare_ready`), a warm-up,
then a window.  Chrome's own counters (CDP `Performance.getMetrics`) at the
window's start and end give the main thread's busy seconds (`TaskDuration`)
and the script, layout and style-recalculation parts of it.  A
`PerformanceObserver` for `longtask` entries, injected before the page's own
scripts, lists the tasks over 50 ms (the browser reports no shorter ones).
The JS heap after a forced GC (`HeapProfiler.collectGarbage`, then
`Runtime.getHeapUsage`) at both ends.  A wrapper around `EventSource`, also
injected, counts the `readings` events and their points as they arrive.

Repeats alternate the order of the pages; the figure is project / bare busy
time, median of the per-repeat ratios.  Then the project page alone runs
longer, its post-GC heap sampled at intervals, for the heap's slope (a least
squares line, bytes per minute).  In a 1 h window the points themselves grow
the heap for an hour: the bare page's growth over its windows is that floor.

Targets (the issue): busy ≤ 1.5 × the bare page's; no task over 50 ms; the heap
flat over 5 minutes, read here as a slope at most the bare page's (the points'
own) plus `HEAP_SLACK` bytes a minute.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bench import fanout, procs
from bench.browser_pages import (
    BARE_HTML,
    PROBE_JS,
    UNITS,
    bare_ready,
    project_ready,
)
from bench.chromium import CHROMIUM_FLAGS, chromium_path
from bench.fanout_server import HOST
from bench.model import BenchError, Options, Report, Row

NAME = "browser"
PAGES = ("project", "bare")
BASELINE = "bare uPlot page"
SERIES = 16
RATE = 10.0  # Hz per series
VIEWPORT = {"width": 1280, "height": 800}
BUSY_TARGET = 1.5  # project / bare
LONG_TASK_MS = 50.0
HEAP_SLACK = 64 * 1024  # bytes/min above the bare page's growth that still count as flat


class BrowserError(BenchError):
    """A page did not get ready, or the server did not get its series."""


@dataclass(frozen=True, slots=True)
class Plan:
    """The durations of one run, in seconds, and the repeats."""

    warm: float
    window: float
    heap_span: float
    heap_every: float
    repeat: int

    @classmethod
    def of(cls, options: Options) -> Plan:
        if options.quick:
            return cls(warm=5.0, window=15.0, heap_span=30.0, heap_every=10.0, repeat=2)
        if options.long:
            return cls(
                warm=5.0,
                window=60.0,
                heap_span=300.0,
                heap_every=30.0,
                repeat=min(options.repeat, 3),
            )
        # The default: the whole suite together stays under 10 minutes.
        return cls(warm=5.0, window=15.0, heap_span=60.0, heap_every=15.0, repeat=2)


# --- the server ---------------------------------------------------------------------


def sensors() -> list[Any]:
    """16 series at 10 Hz: dev0..dev3 with t0, t1 (°C) and h0, h1 (%)."""
    from simulators import signals  # noqa: PLC0415
    from simulators.inprocess import SimSensor  # noqa: PLC0415

    out = []
    for i in range(SERIES):
        celsius = i % 2 == 0
        out.append(
            SimSensor(
                f"dev{i // 4}",
                f"{'t' if celsius else 'h'}{i // 2 % 2}",
                UNITS[0] if celsius else UNITS[1],
                1 / RATE,
                signals.sine(20.0 if celsius else 50.0, 5.0, 60.0 + i, noise=0.05, seed=i),
            )
        )
    return out


def serve(port: int) -> None:
    """The real app on 127.0.0.1:`port` with `sensors()` in process."""
    from simulators.inprocess import SimulatedSource  # noqa: PLC0415
    from telemetry.config import Config, ServerConfig  # noqa: PLC0415
    from telemetry.server import make_server  # noqa: PLC0415

    config = Config(server=replace(ServerConfig(), host=HOST, port=port))
    make_server(config, [SimulatedSource("bench", sensors())]).run()


@contextlib.contextmanager
def _server() -> Iterator[str]:
    """A fresh server; yields its origin once it has all its series."""
    # The page is what is measured here: the server runs with the other processes.
    with fanout.server_process("project", ["-m", "bench.browser", "serve"], [], measured=False) as (
        _,
        port,
    ):
        origin = f"http://{HOST}:{port}"
        deadline = time.monotonic() + 20
        while _series_count(origin) < SERIES:
            if time.monotonic() > deadline:
                raise BrowserError(f"the server did not list {SERIES} series within 20 s")
            time.sleep(0.1)
        yield origin


def _series_count(origin: str) -> int:
    with urllib.request.urlopen(f"{origin}/api/series", timeout=5) as response:
        return len(json.load(response)["series"])


# --- the pages ----------------------------------------------------------------------


# Injected before any script of the page: long tasks and `readings` counts.
def _open(context: Any, origin: str, kind: str) -> Any:
    """A page of `kind` in `context`, loaded and ready."""
    page = context.new_page()
    if kind == "bare":
        page.route(
            f"{origin}/bare.html",
            lambda route: route.fulfill(body=BARE_HTML, content_type="text/html; charset=utf-8"),
        )
        page.goto(f"{origin}/bare.html")
        ready = bare_ready
    else:
        page.goto(f"{origin}/?range=1h")
        ready = project_ready
    try:
        ready(page)
    except Exception as exc:
        raise BrowserError(f"the {kind} page was not ready within 30 s: {exc}") from exc
    return page


# --- what is read from the browser --------------------------------------------------

METRICS = ("TaskDuration", "ScriptDuration", "LayoutDuration", "RecalcStyleDuration")


def _metrics(cdp: Any) -> dict[str, float]:
    got = {m["name"]: float(m["value"]) for m in cdp.send("Performance.getMetrics")["metrics"]}
    return {name: got[name] for name in METRICS}


def _heap(cdp: Any) -> float:
    """Bytes of JS heap in use after a full GC."""
    cdp.send("HeapProfiler.collectGarbage")
    return float(cdp.send("Runtime.getHeapUsage")["usedSize"])


def _counts(page: Any) -> dict[str, float]:
    got: dict[str, float] = page.evaluate(
        "({now: performance.now(), events: window.__readings.events,"
        " points: window.__readings.points})"
    )
    return got


def _long_tasks(page: Any, start_ms: float, end_ms: float) -> list[float]:
    """Durations (ms) of the long tasks that started within [start_ms, end_ms)."""
    tasks: list[list[float]] = page.evaluate("window.__longtasks")
    return [d for s, d in tasks if start_ms <= s < end_ms]


def measure_page(browser: Any, kind: str, plan: Plan) -> dict[str, Any]:
    """One page on a fresh server: warm up, then the window's counters."""
    with _server() as origin:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            context.add_init_script(PROBE_JS)
            page = _open(context, origin, kind)
            cdp = context.new_cdp_session(page)
            cdp.send("Performance.enable")
            page.wait_for_timeout(plan.warm * 1000)
            heap0 = _heap(cdp)
            m0, c0, t0 = _metrics(cdp), _counts(page), time.perf_counter()
            page.wait_for_timeout(plan.window * 1000)
            m1, c1, wall = _metrics(cdp), _counts(page), time.perf_counter() - t0
            heap1 = _heap(cdp)
            tasks = _long_tasks(page, c0["now"], c1["now"])
            charts = page.evaluate("document.querySelectorAll('.uplot').length")
        finally:
            context.close()
    per_s = {name: (m1[name] - m0[name]) / wall for name in METRICS}
    return {
        "page": kind,
        "wall": wall,
        "busy_ms_per_s": per_s["TaskDuration"] * 1000,
        "script_ms_per_s": per_s["ScriptDuration"] * 1000,
        "layout_ms_per_s": per_s["LayoutDuration"] * 1000,
        "style_ms_per_s": per_s["RecalcStyleDuration"] * 1000,
        # The rest of the main thread's tasks: paint, GC, parsing, event dispatch.
        "other_ms_per_s": (per_s["TaskDuration"] - sum(per_s[m] for m in METRICS[1:])) * 1000,
        "long_tasks": len(tasks),
        "long_task_max_ms": max(tasks, default=0.0),
        "events_per_s": (c1["events"] - c0["events"]) / wall,
        "points_per_s": (c1["points"] - c0["points"]) / wall,
        "heap_start": heap0,
        "heap_end": heap1,
        "heap_per_min": (heap1 - heap0) / wall * 60,
        "charts": charts,
    }


def measure_heap(browser: Any, plan: Plan, progress: Callable[[str], None]) -> dict[str, Any]:
    """The project page alone for `heap_span`: its post-GC heap every `heap_every`."""
    with _server() as origin:
        context = browser.new_context(viewport=VIEWPORT)
        try:
            context.add_init_script(PROBE_JS)
            page = _open(context, origin, "project")
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
    }


def slope(points: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of y over x (0 with fewer than two distinct x)."""
    xs = [x for x, _ in points]
    if len(set(xs)) < 2:
        return 0.0
    mx, my = statistics.fmean(xs), statistics.fmean(y for _, y in points)
    num = sum((x - mx) * (y - my) for x, y in points)
    return num / sum((x - mx) ** 2 for x in xs)


# --- the run ------------------------------------------------------------------------


def _order(i: int) -> tuple[str, ...]:
    return PAGES if i % 2 == 0 else PAGES[::-1]


def measure(plan: Plan, progress: Callable[[str], None] = lambda _: None) -> Report:
    """Every page `plan.repeat` times, alternating, then the long heap run."""
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 (only when selected)

    report = Report(NAME)
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in PAGES}
    with sync_playwright() as pw, tempfile.TemporaryDirectory(prefix="bench-chromium-") as tmp:
        browser = pw.chromium.launch(
            executable_path=procs.measured_executable(chromium_path(), tmp),
            headless=True,
            args=CHROMIUM_FLAGS,
            chromium_sandbox=False,
        )
        try:
            version = browser.version
            for i in range(plan.repeat):
                for kind in _order(i):
                    progress(
                        f"browser: {kind} page, {SERIES} series at {RATE:g} Hz, "
                        f"{plan.window:g} s ({i + 1}/{plan.repeat})"
                    )
                    r = measure_page(browser, kind, plan)
                    runs[kind].append(r)
                    report.details.append({"test": "page", "repeat": i, **r})
            progress(f"browser: project page heap over {plan.heap_span:g} s")
            heap = measure_heap(browser, plan, progress)
            report.details.append({"test": "heap", **heap})
        finally:
            browser.close()
    _rows(report, runs)
    _notes(report, runs, heap, plan, version)
    return report


def _rows(report: Report, runs: dict[str, list[dict[str, Any]]]) -> None:
    figure = f"{SERIES} series at {RATE:g} Hz, 1 h window"
    for key, what in (
        ("busy_ms_per_s", "main-thread busy"),
        ("script_ms_per_s", "of which script"),
        ("layout_ms_per_s", "of which layout"),
        ("style_ms_per_s", "of which style recalc"),
        ("other_ms_per_s", "of which the rest (paint, GC, …)"),
    ):
        project = [r[key] for r in runs["project"]]
        bare = [r[key] for r in runs["bare"]]
        if min(bare) <= 0:
            report.notes.append(f"browser: {what}: the bare page measured 0 ms/s (no ratio).")
            continue
        report.rows.append(
            Row.compare(
                NAME,
                f"{figure}, {what}",
                "ms per s, lower is better",
                project=project,
                baseline_name=BASELINE,
                baseline=bare,
            )
        )


def _med(runs: list[dict[str, Any]], key: str) -> float:
    return float(statistics.median(r[key] for r in runs))


def _notes(
    report: Report,
    runs: dict[str, list[dict[str, Any]]],
    heap: dict[str, Any],
    plan: Plan,
    version: str,
) -> None:
    ratios = [
        p["busy_ms_per_s"] / b["busy_ms_per_s"]
        for p, b in zip(runs["project"], runs["bare"], strict=True)
    ]
    ratio = statistics.median(ratios)
    longest = max(r["long_task_max_ms"] for r in runs["project"])
    over = sum(r["long_tasks"] for r in runs["project"])
    floor = _med(runs["bare"], "heap_per_min")
    heap_limit = max(0.0, floor) + HEAP_SLACK

    def verdict(ok: bool) -> str:
        return "holds" if ok else "FAILS"

    report.notes += [
        f"browser: Chromium {version}, headless, {VIEWPORT['width']}×{VIEWPORT['height']}; "
        f"{SERIES} series at {RATE:g} Hz offered ({SERIES * RATE:g} points/s); delivered to "
        f"the page: project {_med(runs['project'], 'points_per_s'):.0f} points/s in "
        f"{_med(runs['project'], 'events_per_s'):.1f} readings events/s, bare "
        f"{_med(runs['bare'], 'points_per_s'):.0f} in {_med(runs['bare'], 'events_per_s'):.1f}.  "
        f"Warm-up {plan.warm:g} s, window {plan.window:g} s, {plan.repeat} repeat(s), "
        f"pages alternating, a fresh server per page.",
        f"browser: target busy ≤ {BUSY_TARGET:g}× the bare page's: "
        f"{ratio:.2f}× ({_med(runs['project'], 'busy_ms_per_s'):.1f} vs "
        f"{_med(runs['bare'], 'busy_ms_per_s'):.1f} ms per s): {verdict(ratio <= BUSY_TARGET)}.",
        f"browser: target no task > {LONG_TASK_MS:g} ms on the project page: {over} over "
        f"{LONG_TASK_MS:g} ms in all windows, longest {longest:.0f} ms: "
        f"{verdict(over == 0)}.  (Bare page: "
        f"{sum(r['long_tasks'] for r in runs['bare'])}, longest "
        f"{max(r['long_task_max_ms'] for r in runs['bare']):.0f} ms.)",
        f"browser: target heap flat: project page over {plan.heap_span:g} s, post-GC heap "
        f"every {plan.heap_every:g} s: first {heap['first'] / 1e6:.2f} MB, last "
        f"{heap['last'] / 1e6:.2f} MB, max {heap['max'] / 1e6:.2f} MB, slope "
        f"{heap['slope_per_min'] / 1e3:+.0f} kB/min; the bare page's growth (the points' own) "
        f"{floor / 1e3:+.0f} kB/min; limit {heap_limit / 1e3:.0f} kB/min: "
        f"{verdict(heap['slope_per_min'] <= heap_limit)}.  Charts drawn: project "
        f"{_med(runs['project'], 'charts'):.0f}, bare {_med(runs['bare'], 'charts'):.0f}.",
    ]


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    return measure(Plan.of(options), progress)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.browser")
    sub = parser.add_subparsers(dest="role", required=True)
    s = sub.add_parser("serve", help="the project server with 16 simulated series")
    s.add_argument("port", type=int)
    args = parser.parse_args(argv)
    serve(args.port)


if __name__ == "__main__":
    main()
