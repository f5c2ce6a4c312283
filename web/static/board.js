// The charts section: which charts exist (groups.js decides), their history
// loads, the live points they take, and when they are drawn.
//
// Draws wait on a timer for the first chart that is due, then take the next
// animation frame: no frame is asked for that would draw nothing, and nothing
// is drawn while paused or while the tab is hidden.  A chart waiting for its
// history is not drawn; its history is drawn as soon as it is in.  Legends are rewritten at
// most as often as main.js calls `refreshLegends`.

import { Chart } from "./chart.js";
import { chartKey } from "./groups.js";
import { historyPoints, historyQueries, readHistory } from "./history.js";

export class Board {
  // `series`: the list's records ({info, value}) by id, read only; `view`: the
  // View, read only; `span()`: the time span on the charts now; `hooks`: zoom(start,
  // end), unzoom(), fetchHistory(query) -> the parsed answer, or null, and
  // drew(now) after a frame that redrew a chart.
  constructor(doc, series, view, span, hooks) {
    this.series = series;
    this.view = view;
    this.span = span;
    this.hooks = hooks;
    this.el = doc.getElementById("charts");
    this.hint = doc.getElementById("hint");
    this.empty = doc.getElementById("empty");
    this.template = doc.getElementById("chart-template");
    this.doc = doc;
    this.charts = new Map();        // chart key -> Chart
    this.gaps = new Set();          // ids whose line breaks before their next point (went stale)
    this.legendDirty = new Set();   // Charts with new points since the last refreshLegends
    this.drawTimer = null;
    this.timerDue = Infinity;       // performance.now() the draw timer fires at
    this.drawScheduled = false;     // an animation frame is asked for
    this.width = this.el.clientWidth;
  }

  showEmpty(empty) {
    this.empty.hidden = !empty;
    this.hint.hidden = empty;
  }

  // Make the charts `groups` (chart key -> ids) describes: keep those that
  // draw the same series, build the others and load their history.
  layout(groups) {
    for (const [key, chart] of this.charts) {
      const ids = groups.get(key);
      if (!ids || ids.join("\n") !== chart.ids.join("\n")) {
        chart.destroy();
        this.charts.delete(key);
      }
    }
    let previous = this.hint;
    const built = [];
    for (const [key, ids] of groups) {
      let chart = this.charts.get(key);
      if (!chart) {
        chart = new Chart(this.template, key, ids, this.series, this.span(), {
          zoom: this.hooks.zoom,
          unzoom: this.hooks.unzoom,
        });
        this.charts.set(key, chart);
        previous.after(chart.el);
        built.push(chart);
      } else if (chart.el.previousElementSibling !== previous) {
        previous.after(chart.el);
      }
      previous = chart.el;
    }
    // The new charts' widths are read after all are in place (one layout, not
    // one each), and every history request is out before any uPlot is built:
    // they travel meanwhile.
    for (const chart of built) this.load(chart);
    for (const chart of built) chart.build();
    this.el.classList.toggle("split", this.view.split);
  }

  clear() {
    for (const chart of this.charts.values()) chart.destroy();
    this.charts.clear();
  }

  // Series `id` went stale: its line breaks before its next point.
  breakLine(id) {
    this.gaps.add(id);
  }

  add(chart, index, t, v, lo, hi) {
    const id = chart.ids[index];
    if (chart.add(index, t, v, lo, hi, this.gaps.has(id))) this.gaps.delete(id);
  }

  // The points of a `readings` frame ({id, t, v, lo, hi}).
  addPoints(points) {
    const touched = new Set();
    for (const p of points) {
      const s = this.series.get(p.id);
      if (!s || !this.view.isSelected(p.id)) continue;
      const chart = this.charts.get(chartKey(s.info, this.view.split, this.view.group));
      if (!chart) continue;
      this.add(chart, chart.ids.indexOf(p.id), p.t, p.v, p.lo, p.hi);
      touched.add(chart);
    }
    for (const chart of touched) this.legendDirty.add(chart);
    this.scheduleDraw();
  }

  // The chart's span afresh from /api/history; a newer load supersedes it.  The
  // queries go out together; until they are answered the chart is not redrawn
  // (its table holds only the live points since), and once they are it is drawn
  // at once: the first line on a phone waits for nothing else.
  async load(chart) {
    const token = ++chart.loadToken;
    const span = this.span();
    chart.reset(span);
    chart.loading = true;
    const points = historyPoints(chart.plotWidth());
    const queries = historyQueries(chart.ids, span, points);
    const bodies = await Promise.all(queries.map((query) => this.hooks.fetchHistory(query)));
    if (token !== chart.loadToken) return;
    chart.loading = false;
    for (const body of bodies) {
      if (body === null) continue;  // the server is away: the stream's reconnect will reload
      for (const { id, t, v } of readHistory(body)) {
        const index = chart.ids.indexOf(id);
        if (index < 0) continue;
        for (let j = 0; j < t.length; j++) this.add(chart, index, t[j], v[j], v[j], v[j]);
      }
    }
    chart.drawSoon();
    if (!this.view.paused && !this.doc.hidden) {
      const now = performance.now();
      chart.draw(now, this.span());
      this.hooks.drew(now);
    }
    this.scheduleDraw();
  }

  reloadAll() {
    for (const chart of this.charts.values()) this.load(chart);
  }

  // Series info changed (a catalog): a series may have gone stale, grey it now.
  refreshInfo() {
    for (const chart of this.charts.values()) {
      chart.drawSoon();
      chart.showLegend();
    }
    this.scheduleDraw();
  }

  // Draw every chart as soon as it may be (after a pause, or the tab was hidden).
  redrawSoon() {
    for (const chart of this.charts.values()) chart.drawSoon();
    this.scheduleDraw();
  }

  // One timer, for the chart due first; a chart due sooner than a pending
  // timer (new history, a new range) replaces it, else a phone at 1 h would
  // show a blank chart for the 5 s the timer still had to run.
  scheduleDraw() {
    if (this.drawScheduled || this.view.paused || this.doc.hidden) return;  // drawAll reschedules
    let due = Infinity;
    for (const chart of this.charts.values()) {
      if (!chart.loading && (chart.dirty || !this.view.zoom)) due = Math.min(due, chart.nextDue());
    }
    if (due === Infinity || due >= this.timerDue) return;
    clearTimeout(this.drawTimer);
    this.timerDue = due;
    this.drawTimer = setTimeout(() => {
      this.drawTimer = null;
      this.timerDue = Infinity;
      this.drawScheduled = true;
      requestAnimationFrame(() => this.drawAll());
    }, Math.max(0, due - performance.now()));
  }

  drawAll() {
    this.drawScheduled = false;
    if (this.view.paused || this.doc.hidden) return;
    const now = performance.now();
    const span = this.span();
    let drew = false;
    for (const chart of this.charts.values()) {
      if (!chart.loading && (chart.dirty || !this.view.zoom) && chart.due(now)) {
        chart.draw(now, span);
        drew = true;
      }
    }
    if (drew) this.hooks.drew(now);
    this.scheduleDraw();  // following live, the window moves even with no new point
  }

  refreshLegends() {
    for (const chart of this.legendDirty) if (chart.cursorIdx === null) chart.showLegend();
    this.legendDirty.clear();
  }

  // The color scheme changed: uPlot takes its colors when built.
  rebuildAll() {
    for (const chart of this.charts.values()) chart.build();
    this.scheduleDraw();
  }

  // The section changed width: resize the plots; refetch when far off (the
  // buckets are a pixel wide).
  resized() {
    const now = this.el.clientWidth;
    if (Math.abs(now - this.width) < 2) return;
    const far = Math.abs(now - this.width) > 0.2 * this.width;
    this.width = now;
    for (const chart of this.charts.values()) {
      chart.resize();
      if (far) this.load(chart);
    }
  }

  snapshot() {
    return [...this.charts.values()].map((chart) => chart.snapshot());
  }
}
