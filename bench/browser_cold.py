"""Cold start to the first chart line: a server restarted on a month of history,
and a phone opening the page as soon as it listens.

The month is made as `bench.month` makes it (`bench.month_server`: the real
server, its store filled with every point at 1 Hz for 30 days, saved by the
runtime's own commit, then stopped).  Then, `repeat` times: `python -m
telemetry serve` on that file (its history loaded before uvicorn listens),
started by the harness on the other core (the page's device is not the
server's), and once its port accepts, a fresh 360 × 740 context of the
benchmark's Chromium opens the page at 1 h with the probe
(`bench.browser_pages`): the project's page and the bare uPlot page, in turn.
The figure: seconds from the server's process start to the probe's first-line
mark (`performance.timeOrigin + startTime`, the same wall clock), and its two
parts: to listening, and from the navigation's start to the line.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench import month
from bench.browser_pages import PROBE_JS, first_line_ms, wait_first_line
from bench.model import BenchError

DAYS = 30.0
PHONE = {"width": 360, "height": 740}


# goto(page, origin, kind): open the `kind` page ("project" or "bare") at 1 h.
Goto = Callable[[Any, str, str], None]


def first_line_after_start(
    browser: Any, goto: Goto, kind: str, *, folder: Path, series: int, history: Path
) -> dict[str, Any]:
    """One cold start on `history`: seconds to listening, and to the page's first line."""
    # The context and its page are made first: a new context takes the browser a
    # while, which is no part of the server's start or the page's.
    context = browser.new_context(viewport=PHONE)
    try:
        context.add_init_script(PROBE_JS)
        page = context.new_page()
        started = time.time()
        with month.served(folder, series, history, measured=False) as (port, _, listen_s):
            goto(page, f"http://{month.HOST}:{port}", kind)
            wait_first_line(page)
            first = first_line_ms(page)
            origin: float = page.evaluate("performance.timeOrigin")
            charts: int = page.evaluate("document.querySelectorAll('.uplot').length")
    finally:
        context.close()
    if first is None:
        raise BenchError(f"the page drew no line after a cold start on {series} series")
    line_at = (origin + first) / 1000
    return {
        "page": kind,
        "series": series,
        "listen_s": listen_s,
        "page_ms": first,
        "to_line_s": line_at - started,
        "charts": charts,
    }


def measure_cold(
    browser: Any, goto: Goto, sizes: tuple[int, ...], repeat: int, progress: Callable[[str], None]
) -> list[dict[str, Any]]:
    """For each number of series in `sizes`, a month filled and saved, then `repeat`
    cold starts to the first line of each page, alternating."""
    out: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="bench-browser-cold-") as tmp:
        folder = Path(tmp)
        for series in sizes:
            progress(f"browser: filling {series} series x {DAYS:g} d, saved")
            month.filled(folder, series, DAYS, persist=True)
            history = folder / f"history-{series}-{DAYS:g}.db"
            for i in range(repeat):
                for kind in ("project", "bare") if i % 2 == 0 else ("bare", "project"):
                    progress(f"browser: cold start to the {kind} page's line, {series} series")
                    got = first_line_after_start(
                        browser, goto, kind, folder=folder, series=series, history=history
                    )
                    got["repeat"] = i
                    out.append(got)
    return out
