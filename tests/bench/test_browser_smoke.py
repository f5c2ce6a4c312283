"""The browser benchmark's pages work: both draw a line from the same served history.

The benchmark compares the project's page with a bare uPlot page; a bare page
that drew nothing (a typo in its script, a changed API answer) would make every
ratio a lie.  Only that both pages draw, the same number of charts from the
same server, with the window full: timings are the benchmark's business.
"""

from __future__ import annotations

from playwright.sync_api import Browser

from bench import browser as bench_browser
from bench.browser_pages import PROBE_JS
from bench.browser_server import RATE, SERIES, running


def test_both_pages_draw_every_series_from_the_full_history(browser: Browser) -> None:
    with running() as origin:
        sizes = bench_browser.plot_sizes(browser, origin)
        assert sizes["360"][0] < sizes["1280"][0]
        for kind in bench_browser.PAGES:
            first = bench_browser.measure_first_line(browser, origin, kind, "1h", sizes["360"])
            assert first["first_line_ms"] > 0
            assert first["history_end_ms"] > 0  # the line came with the history
            context = browser.new_context(viewport={"width": 360, "height": 740})
            try:
                context.add_init_script(PROBE_JS)
                page = bench_browser.open_page(context, origin, kind, 3600, sizes["360"])
                page.wait_for_function("() => window.__readings.points > 0")
                # Live points can come before a chart's history does (a loaded CI
                # machine): wait until every chart holds some, then judge how far back.
                page.wait_for_function(
                    f"() => {{ const d = ({OLDEST[kind]})(); "
                    "return d.ages.length > 0 && d.ages.every(Number.isFinite); }"
                )
                drawn = page.evaluate(OLDEST[kind])
            finally:
                context.close()
            assert drawn["series"] == SERIES, kind
            assert drawn["draws"] >= 2, kind
            # The window is full: each chart's oldest point is about an hour old.
            assert all(age > 3600 - 60 / RATE for age in drawn["ages"]), (kind, drawn)


# Per chart, the age of its oldest point; the series drawn; uPlot's draws so far.
OLDEST = {
    "project": """() => {
      const now = Date.now() / 1000;
      const charts = window.telemetryPage.snapshot().charts;
      return {
        ages: charts.map((c) => now - Math.min(...Object.values(c.series).map((s) => s.first))),
        series: charts.reduce((n, c) => n + c.ids.length, 0),
        draws: window.__draws,
      };
    }""",
    "bare": """() => {
      const now = Date.now() / 1000;
      const charts = [...window.bareCharts.values()];
      return {
        ages: charts.map((c) => now - c.data[0][0]),
        series: charts.reduce((n, c) => n + c.ids.length, 0),
        draws: window.__draws,
      };
    }""",
}
