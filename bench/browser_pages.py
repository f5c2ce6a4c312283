"""The pages the browser benchmark loads: the probe it injects into both, the bare
uPlot page it measures the project's page against, and how to tell each is ready.

The probe, injected before any script of either page:

- counts the `readings` events and their points (a wrapper around EventSource);
- lists the tasks over 50 ms (a `longtask` PerformanceObserver);
- counts uPlot's draws and marks the first line: it wraps the `uPlot`
  constructor as the vendored script defines it (a setter on `window.uPlot`)
  and adds a `draw` hook to every chart.  Armed again (`__armed`, or by the
  next click with `__armOnClick`), the hook records the time of the next such
  draw in `__lineAt`, and a click's time is kept in `__clickAt`: the line's
  return after a range button.
  After uPlot's first draw that has two points or more of one series inside the
  x scale, `performance.mark("first-line")`: its `startTime` is milliseconds from
  the navigation's start (the page's time origin) to a line on the canvas.  Both
  pages get the same hook, and after the mark it returns at once.

The bare page is what a competent user writes to stream these points into the
same uPlot, with the project page's redraw policy, and nothing else: one uPlot
per unit, as wide and tall as the project's plots (`width`, `height` in its
query); on the `catalog` the history of each chart from `/api/history` (the same
query: `start`, 4 points a pixel column, 64 series a query), the series' answers merged with
`uPlot.join`; each `readings` frame a row (the frame's time, each series' value
or nothing); and the project's redraw policy: a chart is redrawn at most every
half pixel bucket (the range over the plot's width less its value axis, at most
5 s apart), at the next animation frame, the window following the server's
clock, the rows that left it dropped; a chart waiting for its history is not
redrawn, and is drawn as soon as its history is in.  It has no list, legend, bands or status.
"""

from __future__ import annotations

from typing import Any

UNITS = ("°C", "%")
READY_TIMEOUT_MS = 30_000
FIRST_LINE = "first-line"  # the performance mark

PROBE_JS = """
window.__longtasks = [];
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) window.__longtasks.push([e.startTime, e.duration]);
}).observe({type: "longtask", buffered: true});
window.__readings = {events: 0, points: 0};
window.EventSource = class extends window.EventSource {
  constructor(...args) {
    super(...args);
    this.addEventListener("readings", (e) => {
      window.__readings.events += 1;
      window.__readings.points += e.data.split('":[').length - 1;
    });
  }
};
(() => {
  let marked = false;
  window.__draws = 0;
  window.__armed = false;  // set: the next draw with a line records its time in __lineAt
  window.__armOnClick = false;  // set: a click arms it (before the page's own handlers)
  window.__clickAt = null;
  document.addEventListener("click", (e) => {
    window.__clickAt = e.timeStamp;
    if (window.__armOnClick) {
      window.__armed = true;
      window.__lineAt = null;
    }
  }, true);
  const firstLine = (u) => {
    window.__draws += 1;
    if (marked && !window.__armed) return;
    const xs = u.data[0], lo = u.scales.x.min, hi = u.scales.x.max;
    for (let s = 1; s < u.data.length; s++) {
      const ys = u.data[s];
      let n = 0;
      for (let i = 0; i < xs.length; i++) {
        if (typeof ys[i] === "number" && xs[i] >= lo && xs[i] <= hi && ++n === 2) {
          if (!marked) performance.mark("__FIRST_LINE__");
          marked = true;
          if (window.__armed) window.__lineAt = performance.now();
          window.__armed = false;
          return;
        }
      }
    }
  };
  let wrapped;
  Object.defineProperty(window, "uPlot", {
    configurable: true,
    get: () => wrapped,
    set: (uPlot) => {
      wrapped = function (opts, data, target) {
        const hooks = opts.hooks || {};
        opts.hooks = {...hooks, draw: [...(hooks.draw || []), firstLine]};
        return new uPlot(opts, data, target);
      };
      Object.assign(wrapped, uPlot);
      wrapped.prototype = uPlot.prototype;
    },
  });
})();
""".replace("__FIRST_LINE__", FIRST_LINE)

BARE_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>bare uPlot</title>
  <link rel="stylesheet" href="/static/vendor/uplot/uPlot.min.css">
  <style>body { margin: 0; }</style>
  <script src="/static/vendor/uplot/uPlot.iife.min.js"></script>
</head>
<body>
<div id="charts"></div>
<script>
"use strict";
const query = new URLSearchParams(location.search);
const RANGE = Number(query.get("range"));    // s
const WIDTH = Number(query.get("width"));    // px, as the project's plots
const HEIGHT = Number(query.get("height"));
const PLOT = Math.max(50, WIDTH - 50);        // less the value axis
const BUCKET = RANGE / Math.max(100, PLOT);   // s, a pixel column
const REDRAW_MS = Math.min(5000, BUCKET * 500);
const POINTS = Math.min(10000, Math.max(8, 4 * PLOT));
let skew = 0;  // server clock - local clock, s
const now = () => Date.now() / 1000 + skew;
const charts = new Map();  // unit -> {ids, data, pending, plot, dirty, drawnAt}
window.bareCharts = charts;  // for tests/bench/test_browser_smoke.py
const unitOf = new Map();  // series id -> unit
let timer = null, timerDue = Infinity, frameAsked = false;

function build(chart) {
  if (chart.plot) chart.plot.destroy();
  const line = (id) => ({label: id, stroke: "#36c", points: {show: false}});
  const series = [{}, ...chart.ids.map(line)];
  const opts = {
    width: WIDTH, height: HEIGHT, series, legend: {show: false},
    scales: {x: {time: true, range: () => [now() - RANGE, now()]}},
  };
  chart.plot = new uPlot(opts, chart.data, document.getElementById("charts"));
}

async function load(chart) {
  const queries = [];
  for (let i = 0; i < chart.ids.length; i += 64) {  // the server's limit a query
    const params = new URLSearchParams();
    for (const id of chart.ids.slice(i, i + 64)) params.append("series", id);
    params.set("start", (now() - RANGE).toFixed(3));
    params.set("points", String(POINTS));
    queries.push(fetch("/api/history?" + params).then((r) => r.json()));
  }
  const body = {series: {}};
  for (const answer of await Promise.all(queries)) Object.assign(body.series, answer.series);
  const tables = chart.ids.map((id) => {
    const s = body.series[id];
    return s ? [s.t, s.v] : [[], []];
  });
  const data = uPlot.join(tables);
  const xs = data[0];
  const last = xs.length ? xs[xs.length - 1] : -Infinity;
  for (const row of chart.pending) {
    if (row[0] > last) row.forEach((v, i) => data[i].push(v));
  }
  chart.pending = null;
  chart.data = data;
  chart.plot.setData(data);  // the history drawn as soon as it is in
  chart.drawnAt = performance.now();
  chart.dirty = false;
  schedule();
}

function onCatalog(event) {
  const changed = new Set();
  for (const info of JSON.parse(event.data).series) {
    if (unitOf.has(info.id)) continue;
    const unit = info.unit || "";
    unitOf.set(info.id, unit);
    let chart = charts.get(unit);
    if (!chart) {
      chart = {ids: [], data: [[]], pending: [], plot: null, dirty: true, drawnAt: -Infinity};
      charts.set(unit, chart);
    }
    chart.ids.push(info.id);
    changed.add(chart);
  }
  for (const chart of changed) {
    chart.data = [[], ...chart.ids.map(() => [])];
    chart.pending = [];
    build(chart);
    load(chart);
  }
}

function onReadings(event) {
  const frame = JSON.parse(event.data);
  skew = frame.t - Date.now() / 1000;
  for (const chart of charts.values()) {
    let any = false;
    const row = [frame.t];
    for (const id of chart.ids) {
      const p = frame.series[id];
      if (p) any = true;
      row.push(p ? p[1] : undefined);
    }
    if (!any) continue;
    if (chart.pending) chart.pending.push(row);
    else row.forEach((v, i) => chart.data[i].push(v));
    chart.dirty = true;
  }
  schedule();
}

// The project's policy: one timer for the chart due first, then a frame.
function schedule() {
  if (frameAsked) return;
  let due = Infinity;
  for (const chart of charts.values()) {
    if (!chart.pending) due = Math.min(due, chart.drawnAt + REDRAW_MS);  // history in
  }
  if (due === Infinity || due >= timerDue) return;
  clearTimeout(timer);
  timerDue = due;
  timer = setTimeout(() => {
    timer = null;
    timerDue = Infinity;
    frameAsked = true;
    requestAnimationFrame(drawAll);
  }, Math.max(0, due - performance.now()));
}

function drawAll() {
  frameAsked = false;
  const t = performance.now();
  const start = now() - RANGE - BUCKET;
  for (const chart of charts.values()) {
    if (chart.pending || t < chart.drawnAt + REDRAW_MS - 1) continue;
    const xs = chart.data[0];
    let old = 0;
    while (old < xs.length && xs[old] < start) old++;
    if (old) for (const column of chart.data) column.splice(0, old);
    chart.plot.setData(chart.data);
    chart.drawnAt = t;
    chart.dirty = false;
  }
  schedule();  // following live: the window moves even with no new point
}

const source = new EventSource("/events");
source.addEventListener("catalog", onCatalog);
source.addEventListener("readings", onReadings);
</script>
</body>
</html>
"""


def first_line_ms(page: Any) -> float | None:
    """Milliseconds from the navigation's start to the probe's first-line mark."""
    found: float | None = page.evaluate(
        f"() => (performance.getEntriesByName('{FIRST_LINE}')[0] || {{}}).startTime ?? null"
    )
    return found


def wait_first_line(page: Any) -> None:
    page.wait_for_function(
        f"() => performance.getEntriesByName('{FIRST_LINE}').length > 0",
        timeout=READY_TIMEOUT_MS,
    )


def project_ready(page: Any) -> None:
    """THE readiness check of the project page: its stream is live and a line is
    drawn.  (Adjust here if the page's markup changes.)"""
    wait_first_line(page)
    page.wait_for_function(
        "() => document.querySelector('#status.live') !== null", timeout=READY_TIMEOUT_MS
    )


def bare_ready(page: Any) -> None:
    """The bare page: one uPlot per unit, and a line drawn."""
    wait_first_line(page)
    page.wait_for_function(
        f"() => document.querySelectorAll('.uplot').length === {len(UNITS)}",
        timeout=READY_TIMEOUT_MS,
    )


def plot_size(page: Any) -> tuple[int, int]:
    """The project page's first plot (uPlot's `.u-wrap`): width and height in CSS px."""
    size: list[float] = page.evaluate(
        "(() => { const r = document.querySelector('figure.chart .u-wrap')"
        ".getBoundingClientRect(); return [r.width, r.height]; })()"
    )
    return round(size[0]), round(size[1])
