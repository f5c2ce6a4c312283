"""The pages the browser benchmark loads: the probe it injects, the bare uPlot page it
measures the project's page against, and how to tell each is ready."""

from __future__ import annotations

from typing import Any

UNITS = ("°C", "%")
WINDOW_S = 3600  # the page's range: `?range=1h`
READY_TIMEOUT_MS = 30_000

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
"""

BARE_HTML = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>bare uPlot</title>
  <link rel="stylesheet" href="/static/vendor/uplot/uPlot.min.css">
  <style>body { margin: 0; }</style>
  <script src="/static/vendor/uplot/uPlot.iife.min.js"></script>
</head>
<body>
<div id="charts"></div>
<script>
"use strict";
const WINDOW = __WINDOW__;
const charts = new Map();  // unit -> {ids, data: [ts[], ...values[]], plot}
const unitOf = new Map();  // series id -> unit

function build(unit, chart) {
  if (chart.plot) chart.plot.destroy();
  const series = [{}, ...chart.ids.map((id) => ({label: id, stroke: "#36c"}))];
  const opts = {width: document.body.clientWidth, height: 300, series};
  chart.plot = new uPlot(opts, chart.data, document.getElementById("charts"));
}

function onCatalog(event) {
  const changed = new Set();
  for (const info of JSON.parse(event.data).series) {
    if (unitOf.has(info.id)) continue;
    const unit = info.unit || "";
    unitOf.set(info.id, unit);
    let chart = charts.get(unit);
    if (!chart) {
      chart = {ids: [], data: [[]], plot: null};
      charts.set(unit, chart);
    }
    chart.ids.push(info.id);
    chart.data.push(chart.data[0].map(() => null));
    changed.add(unit);
  }
  for (const unit of changed) build(unit, charts.get(unit));
}

function onReadings(event) {
  const frame = JSON.parse(event.data);
  for (const chart of charts.values()) {
    let any = false;
    const row = chart.ids.map((id) => {
      const p = frame.series[id];
      if (p) any = true;
      return p ? p[1] : null;
    });
    if (!any) continue;
    const ts = chart.data[0];
    ts.push(frame.t);
    row.forEach((v, i) => chart.data[i + 1].push(v));
    let old = 0;
    while (old < ts.length && ts[old] < frame.t - WINDOW) old++;
    if (old) for (const column of chart.data) column.splice(0, old);
    chart.plot.setData(chart.data);
  }
}

const source = new EventSource("/events");
source.addEventListener("catalog", onCatalog);
source.addEventListener("readings", onReadings);
</script>
</body>
</html>
""".replace("__WINDOW__", str(WINDOW_S))


def project_ready(page: Any) -> None:
    """THE readiness check of the project page: its stream is live and uPlot has drawn
    at least one chart.  (Adjust here if the page's markup changes.)"""
    page.wait_for_function(
        "document.querySelector('#status.live') !== null"
        " && document.querySelectorAll('.uplot').length > 0",
        timeout=READY_TIMEOUT_MS,
    )


def bare_ready(page: Any) -> None:
    """The bare page: one uPlot per unit exists and points have arrived."""
    page.wait_for_function(
        f"document.querySelectorAll('.uplot').length === {len(UNITS)}"
        " && window.__readings.events > 0",
        timeout=READY_TIMEOUT_MS,
    )
