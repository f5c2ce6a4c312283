// One chart: a figure with its title, a uPlot and a legend, drawing a bucket
// table (buckets.js) of its series.
//
// uPlot is the vendored IIFE, loaded by a classic script before the modules:
// it is read from `globalThis.uPlot` when a chart is built.  uPlot is given no
// device string (titles and legend are ours, through textContent); it draws
// per series a line through the buckets' last values and a band from min to max.

import { bandRange, drawBands } from "./bands.js";
import { Buckets } from "./buckets.js";
import { readingText, statsText, timeLabels } from "./format.js";
import { chartTitle, chartUnits, legendName } from "./groups.js";
import { setBreakable } from "./list.js";
import { touchZoom } from "./touch.js";

export const PALETTE = Object.freeze(["#2f6fde", "#d1482f", "#1f9d55", "#a23bc4", "#c98a00", "#0f9bb5",
  "#d6337c", "#5a6b1f", "#7b4f2b", "#4c5fd5"]);

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

// The value axis as wide as its longest label (uPlot's default is a fixed 50
// px, which cut "15,000" to "5,000"); on uPlot's second sizing pass, its first.
function valueAxisSize(u, values, axisIdx, cycleNum) {
  const axis = u.axes[axisIdx];
  if (cycleNum > 1) return axis._size;
  let longest = "";
  for (const v of values || []) if (v.length > longest.length) longest = v;
  let size = axis.ticks.size + axis.gap;
  if (longest) {
    u.ctx.font = axis.font[0];
    size += u.ctx.measureText(longest).width / (globalThis.devicePixelRatio || 1);
  }
  return Math.max(40, Math.ceil(size) + 4);
}

// The range of lane `lane` (0 at the bottom) of `n`: its 0 and 1 drawn at 15%
// and 85% of the lane's height.
function laneRange(lane, n) {
  const height = n / 0.7;
  const low = -(lane + 0.15) / 0.7;
  return [low, low + height];
}

// The value axis of a state chart: "off" and "on" for one series, on the
// first lane's scale; none for several (the legend names each lane's state).
function stateAxis(axis, n) {
  if (n > 1) return { show: false };
  return { ...axis, scale: "lane0", size: 40, splits: () => [0, 1], values: (u, splits) => splits.map((v) => (v ? "on" : "off")) };
}

function lonePoints(table, index) {
  const rows = table.lone(index);
  return rows.length ? rows : null;
}

export class Chart {
  // `series`: the list's records by id ({info, value}), read only; `span`:
  // the view's time span; `hooks`: zoom(start, end) after a drag across the
  // plot, unzoom() on a double-click.
  constructor(template, key, ids, series, span, hooks) {
    this.key = key;
    this.ids = ids;
    this.series = series;
    this.hooks = hooks;
    this.loadToken = 0;     // the history load in flight; an older answer is dropped
    this.loading = false;   // a history load is in flight: no redraw until it is in
    this.dirty = true;      // points arrived since the last draw
    this.drawnAt = -Infinity;  // performance.now() of the last draw; -Infinity: due now
    this.cursorIdx = null;  // the row under the pointer, shown in the legend
    const node = template.content.cloneNode(true);
    this.el = node.querySelector("figure");
    this.el.dataset.key = key;
    this.plotEl = node.querySelector(".plot");
    this.legendEl = node.querySelector(".legend");
    const infos = ids.map((id) => series.get(id).info);
    const { title, detail } = chartTitle(key, infos);
    node.querySelector(".chart-title").textContent = title;
    node.querySelector(".chart-detail").textContent = detail;
    this.legend = new Map();
    infos.forEach((info, i) => {
      const li = document.createElement("li");
      li.dataset.series = info.id;
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.backgroundColor = PALETTE[i % PALETTE.length];
      const name = document.createElement("span");
      name.className = "name";
      setBreakable(name, legendName(key, info, ids.length));
      const value = document.createElement("span");
      value.className = "value";
      const stats = document.createElement("span");
      stats.className = "stats";
      li.append(swatch, name, value, stats);
      this.legendEl.append(li);
      this.legend.set(info.id, { li, value, stats });
    });
    // Collapsed, a phone shows the legend's first line; expanded, every
    // series with its statistics over the range.
    this.expanded = false;
    this.moreEl = node.querySelector(".more");
    this.moreEl.addEventListener("click", () => {
      this.expanded = !this.expanded;
      this.el.classList.toggle("expanded", this.expanded);
      this.moreEl.setAttribute("aria-expanded", String(this.expanded));
      this.showLegend();
    });
    this.table = new Buckets(ids.length, span, this.plotWidth());
    this.plot = null;
  }

  width() {
    return Math.max(200, Math.floor(this.plotEl.clientWidth || this.el.clientWidth || 320));
  }

  height() {
    return window.innerWidth < 600 ? 180 : 240;
  }

  plotWidth() {
    // The plotting area is the chart less its value axis (~50 px).
    return Math.max(50, this.width() - 50);
  }

  // Empty buckets for `span`, about a pixel wide each.
  reset(span) {
    this.table.reset(span, this.plotWidth());
    if (this.plot) this.plot.setData(this.table.data);
  }

  // A point of the series at `index`; true when a value was stored.
  add(index, t, v, lo, hi, gapBefore) {
    const stored = this.table.add(index, t, v, lo, hi, gapBefore);
    if (stored) this.dirty = true;
    return stored;
  }

  build() {
    const uPlot = globalThis.uPlot;
    const line = cssVar("--line");
    const muted = cssVar("--muted");
    const grey = cssVar("--stale");
    const table = this.table;
    const seriesOpts = [{}];
    const bands = [];  // per series, its band's colour
    const states = this.isStates();
    const n = this.ids.length;
    // A named group may mix units: the first on the left axis, the rest on the right.
    const infos = this.ids.map((id) => this.series.get(id).info);
    const units = chartUnits(infos);
    const scaleOf = infos.map((info) => (units.length > 1 && chartUnits([info])[0] !== units[0] ? "y2" : "y"));
    const scales = {
      x: { time: true, range: () => [table.start, table.end] },
      y: { range: bandRange(table, uPlot, (i) => scaleOf[i] === "y") },
    };
    if (scaleOf.includes("y2")) scales.y2 = { range: bandRange(table, uPlot, (i) => scaleOf[i] === "y2") };
    this.ids.forEach((id, i) => {
      const color = PALETTE[i % PALETTE.length];
      const stale = () => this.series.get(id).info.stale;
      // Lines a pixel wide: wider ones cost the browser several times as much
      // to rasterise.
      const paint = () => (stale() ? grey : color);
      const opts = {
        stroke: paint, width: 1, spanGaps: false, scale: scaleOf[i],
        // No dots, but for a value with no line to draw to it.
        points: { show: false, size: 5, fill: paint, stroke: paint, filter: (u, si) => lonePoints(table, si - 1) },
      };
      if (states) {
        // On/off as steps (a state holds until the next), each series in a
        // lane of its own, top to bottom, so several switches do not overlap.
        const key = "lane" + i;
        scales[key] = { range: () => laneRange(n - 1 - i, n) };
        Object.assign(opts, { scale: key, width: 2, paths: uPlot.paths.stepped({ align: 1 }) });
      }
      seriesOpts.push(opts);
      bands.push(() => (stale() ? grey : color) + "33");
    });
    const axis = { stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
    const opts = {
      width: this.width(),
      height: this.height(),
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      scales,
      series: seriesOpts,
      axes: [{ ...axis, space: 70, values: timeLabels }, states ? stateAxis(axis, n) : { ...axis, size: valueAxisSize }],
      hooks: {
        setSelect: [(u) => this.select(u)],
        setCursor: [(u) => { this.cursorIdx = u.cursor.idx; this.showLegend(); }],
        drawAxes: states ? [] : [(u) => drawBands(u, table, bands, undefined, scaleOf)],
      },
    };
    if (scales.y2) opts.axes.push({ ...axis, scale: "y2", side: 1, size: valueAxisSize, grid: { show: false } });
    if (this.plot) this.plot.destroy();
    this.plotEl.textContent = "";
    this.plot = new uPlot(opts, table.data, this.plotEl);
    this.plot.over.addEventListener("dblclick", () => this.hooks.unzoom());
    touchZoom(this.plot, (start, end) => this.hooks.zoom(start, end));
  }

  // A chart of on/off states only (groups.js gives them charts of their own).
  isStates() {
    return this.ids.every((id) => this.series.get(id).info.kind === "state");
  }

  // A drag across the plot: zoom to it (then clear uPlot's selection box).
  select(u) {
    const { left, width } = u.select;
    if (width < 5) return;
    const start = u.posToVal(left, "x");
    const end = u.posToVal(left + width, "x");
    u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
    if (end > start) this.hooks.zoom(start, end);
  }

  resize() {
    if (this.plot) this.plot.setSize({ width: this.width(), height: this.height() });
  }

  // Each series' latest value, or its value under the pointer.
  showLegend() {
    const idx = this.cursorIdx;
    this.ids.forEach((id, i) => {
      const entry = this.legend.get(id);
      const s = this.series.get(id);
      let v = s.value;
      if (idx !== null && idx !== undefined) v = this.table.cols[i].v[idx];
      const text = readingText(v, s.info);
      if (entry.value.textContent !== text) entry.value.textContent = text;
      entry.li.classList.toggle("stale", s.info.stale);
      if (this.expanded) {
        const stats = statsText(this.table.stats(i), s.info);
        if (entry.stats.textContent !== stats) entry.stats.textContent = stats;
      }
    });
  }

  draw(now, span) {
    if (!this.plot) this.build();
    if (span.follow) this.table.follow(span);
    this.plot.setData(this.table.data);
    this.drawnAt = now;
    this.dirty = false;
    this.el.dataset.rows = String(this.table.xs.length);
  }

  // Draw at the next frame: what it shows changed (history arrived, a new
  // range, a series went stale), not just the window moving on.
  drawSoon() {
    this.dirty = true;
    this.drawnAt = -Infinity;
  }

  // A redraw moves the line by at most a fraction of a pixel more often than
  // every half bucket: wait that long (at 1 h on a phone, ~5 s).
  nextDue() {
    return this.drawnAt + Math.min(5000, Math.max(0, this.table.w * 500));
  }

  due(now) {
    return now >= this.nextDue() - 1;
  }

  // What the chart holds, for window.telemetryPage.snapshot().
  snapshot() {
    const t = this.table;
    return {
      key: this.key,
      ids: this.ids,
      start: t.start,
      end: t.end,
      rows: t.xs.length,
      series: Object.fromEntries(this.ids.map((id, i) => [id, t.summary(i)])),
    };
  }

  destroy() {
    if (this.plot) this.plot.destroy();
    this.el.remove();
  }
}
