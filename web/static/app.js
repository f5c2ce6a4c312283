// The charting page: every series live, its history on open, one EventSource.
//
// Charts are grouped by unit (or one per series).  Each chart keeps one table
// with a row per pixel-wide time bucket: per series the last value in the
// bucket and its min and max, drawn as a line with a min/max band.  History
// (`/api/history`, downsampled to the chart's width) and live points fill the
// same buckets, so a chart costs the same whatever the sensors' rate, and
// nothing grows: rows older than the window are trimmed.
//
// Device-supplied strings reach the page only through textContent; uPlot is
// given none of them.
"use strict";

const RANGES = { "1m": 60, "15m": 900, "1h": 3600, "6h": 21600, "24h": 86400 };
const DEFAULT_RANGE = "1h";
const PALETTE = ["#2f6fde", "#d1482f", "#1f9d55", "#a23bc4", "#c98a00", "#0f9bb5",
  "#d6337c", "#5a6b1f", "#7b4f2b", "#4c5fd5"];
const MAX_QUERY_SERIES = 64;   // web/query.py MAX_SERIES
const MAX_POINTS = 10000;      // web/query.py MAX_POINTS
const RECONNECT_MAX = 30000;

const $ = (id) => document.getElementById(id);
const statusEl = $("status");

const state = {
  range: DEFAULT_RANGE,
  zoom: null,          // {start, end} while zoomed in, else null (follow live)
  paused: false,
  split: false,
  selected: null,      // null: every series; else a Set of ids
};
const series = new Map();   // id -> Series
const devices = new Map();  // device -> {section, body, state}
const availability = new Map();
const charts = new Map();   // key -> Chart
let skew = 0;               // server clock - local clock, seconds (from readings frames)
let source = null;
let lastId = null;
let boot = null;
let attempt = 0;
let retryAt = 0;
let retryTimer = null;
let drawScheduled = false;

const localNow = () => Date.now() / 1000;
const serverNow = () => localNow() + skew;

// -- formatting ---------------------------------------------------------------

function formatValue(v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return "–";
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 0.01 || abs >= 1e6)) return v.toExponential(3);
  return String(Math.round(v * 1000) / 1000);
}

function formatAge(seconds) {
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 2) return "now";
  if (seconds < 90) return Math.round(seconds) + " s ago";
  if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
  if (seconds < 172800) return Math.round(seconds / 3600) + " h ago";
  return Math.round(seconds / 86400) + " d ago";
}

// One line of local time per tick, precise as the tick spacing needs (uPlot's
// default adds a second line of dates that crowds a phone-wide chart).
function timeLabels(u, splits, axisIdx, space, incr) {
  const opts = incr >= 86400 ? { month: "short", day: "numeric" }
    : incr >= 60 ? { hour: "2-digit", minute: "2-digit" }
    : { hour: "2-digit", minute: "2-digit", second: "2-digit" };
  return splits.map((t) => new Date(t * 1000).toLocaleString([], opts));
}

function unitLabel(unit) {
  return unit ? unit : "no unit";
}

// -- the view: range, zoom, URL ---------------------------------------------

function view() {
  if (state.zoom) return { start: state.zoom.start, end: state.zoom.end, follow: false };
  const end = serverNow();
  return { start: end - RANGES[state.range], end, follow: true };
}

function readUrl() {
  const params = new URLSearchParams(location.search);
  const range = params.get("range");
  if (range && RANGES[range]) state.range = range;
  const start = Number(params.get("start"));
  const end = Number(params.get("end"));
  if (params.has("start") && params.has("end") && Number.isFinite(start) && Number.isFinite(end) && end > start) {
    state.zoom = { start, end };
  }
  state.split = params.get("split") === "1";
  const chosen = params.getAll("series");
  state.selected = chosen.length ? new Set(chosen) : null;
}

function writeUrl() {
  const params = new URLSearchParams();
  params.set("range", state.range);
  if (state.zoom) {
    params.set("start", state.zoom.start.toFixed(3));
    params.set("end", state.zoom.end.toFixed(3));
  }
  if (state.split) params.set("split", "1");
  if (state.selected) for (const id of [...state.selected].sort()) params.append("series", id);
  history.replaceState(null, "", "?" + params.toString());
}

function showControls() {
  for (const button of document.querySelectorAll("[data-range]")) {
    button.setAttribute("aria-pressed", String(!state.zoom && button.dataset.range === state.range));
  }
  $("unzoom").hidden = !state.zoom;
  $("pause").setAttribute("aria-pressed", String(state.paused));
  $("pause").textContent = state.paused ? "Resume" : "Pause";
  $("split").checked = state.split;
}

// -- liveness -----------------------------------------------------------------

function setStatus(kind, text) {
  statusEl.className = "status " + kind;
  statusEl.textContent = text;
}

function showRetry() {
  if (retryTimer === null) return;
  const seconds = Math.max(0, Math.ceil((retryAt - Date.now()) / 1000));
  const offline = navigator.onLine === false || attempt > 3;
  setStatus(offline ? "offline" : "reconnecting",
    (offline ? "offline, retrying in " : "reconnecting in ") + seconds + " s");
}

function scheduleReconnect() {
  attempt += 1;
  const delay = Math.min(RECONNECT_MAX, 1000 * 2 ** Math.min(attempt - 1, 5)) * (0.5 + Math.random() / 2);
  retryAt = Date.now() + delay;
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => { retryTimer = null; connect(); }, delay);
  showRetry();
}

function connect() {
  if (source) source.close();
  setStatus(attempt ? "reconnecting" : "connecting", attempt ? "reconnecting…" : "connecting");
  const url = lastId ? "/events?last_id=" + encodeURIComponent(lastId) : "/events";
  source = new EventSource(url);
  source.addEventListener("open", () => {
    attempt = 0;
    setStatus("live", "live");
  });
  source.addEventListener("hello", (e) => {
    const hello = JSON.parse(e.data);
    const restarted = boot !== null && hello.boot !== boot;
    boot = hello.boot;
    // A restarted server answers an old cursor with `reset`; with no cursor
    // (nothing received yet) the outage is simply refetched.
    if (restarted && lastId === null) reloadAll();
  });
  source.addEventListener("catalog", (e) => onCatalog(JSON.parse(e.data)));
  source.addEventListener("status", (e) => {
    for (const info of JSON.parse(e.data).devices || []) setAvailability(info);
  });
  source.addEventListener("readings", onReadings);
  source.addEventListener("reset", () => { lastId = null; reloadAll(); });
  source.addEventListener("error", () => {
    // The browser would retry on its own after `retry:`, but gives up for good
    // on any non-200 answer; do it ourselves every time, with jittered backoff.
    if (source) source.close();
    source = null;
    scheduleReconnect();
    // An EventSource cannot see the status: ask once whether the login lapsed.
    fetch("/api/series", { cache: "no-store" })
      .then((r) => { if (r.status === 401) signIn(); })
      .catch(() => {});
  });
}

function signIn() {
  location.assign("/login");
}

// -- the series list ----------------------------------------------------------

class Series {
  constructor(info) {
    this.id = info.id;
    this.info = info;
    this.value = null;
    this.seenAt = NaN;       // local clock, seconds
    this.gap = false;        // a gap to draw before its next point
    const tr = document.createElement("tr");
    tr.dataset.series = info.id;
    const pick = document.createElement("td");
    pick.className = "pick";
    this.checkbox = document.createElement("input");
    this.checkbox.type = "checkbox";
    this.checkbox.checked = isSelected(info.id);
    this.checkbox.addEventListener("change", () => toggleSeries(this.id, this.checkbox.checked));
    pick.append(this.checkbox);
    this.sensorEl = document.createElement("td");
    this.sensorEl.className = "sensor";
    this.valueEl = document.createElement("td");
    this.valueEl.className = "value";
    this.unitEl = document.createElement("td");
    this.unitEl.className = "unit";
    this.ageEl = document.createElement("td");
    this.ageEl.className = "age";
    tr.append(pick, this.sensorEl, this.valueEl, this.unitEl, this.ageEl);
    this.row = tr;
    this.checkbox.setAttribute("aria-label", "chart " + info.id);
    deviceEntry(info.device).body.appendChild(tr);
  }

  update(info) {
    const wasStale = this.info.stale;
    this.info = { ...this.info, ...info };
    this.sensorEl.textContent = this.info.sensor;
    this.unitEl.textContent = this.info.unit || "";
    if (typeof info.age === "number") this.seenAt = localNow() - info.age;
    if (info.last_value !== undefined && info.last_value !== null && this.value === null) {
      this.setValue(info.last_value);
    }
    this.row.classList.toggle("stale", !!this.info.stale);
    if (this.info.stale && !wasStale) {
      this.gap = true;
      this.showAge(localNow());
    }
  }

  setValue(v) {
    this.value = v;
    textDirty.add(this);
  }

  showValue() {
    const text = formatValue(this.value);
    if (this.valueEl.textContent !== text) this.valueEl.textContent = text;
  }

  showAge(now) {
    const text = formatAge(now - this.seenAt);
    if (this.ageEl.textContent !== text) this.ageEl.textContent = text;
  }
}

function deviceEntry(device) {
  let entry = devices.get(device);
  if (entry) return entry;
  const node = $("device-template").content.cloneNode(true);
  node.querySelector(".device-name").textContent = device;
  entry = {
    section: node.querySelector("section"),
    body: node.querySelector("tbody"),
    state: node.querySelector(".device-state"),
  };
  entry.section.dataset.device = device;
  devices.set(device, entry);
  const list = $("devices");
  // Devices in name order, so the list reads the same on every load.
  const after = [...list.children].find((s) => s.dataset.device > device);
  list.insertBefore(node, after || null);
  showAvailability(device);
  return entry;
}

function setAvailability(info) {
  availability.set(info.device, info.online);
  if (devices.has(info.device)) showAvailability(info.device);
}

function showAvailability(device) {
  const entry = devices.get(device);
  const online = availability.get(device);
  entry.section.classList.toggle("offline", online === false);
  entry.state.textContent = online === false ? "offline" : "";
}

function isSelected(id) {
  return state.selected === null || state.selected.has(id);
}

function toggleSeries(id, on) {
  if (state.selected === null) state.selected = new Set(series.keys());
  if (on) state.selected.add(id); else state.selected.delete(id);
  if ([...series.keys()].every((k) => state.selected.has(k))) state.selected = null;
  writeUrl();
  layout();
}

function filterList() {
  const words = $("search").value.trim().toLowerCase().split(/\s+/).filter(Boolean);
  for (const [device, entry] of devices) {
    let shown = 0;
    for (const tr of entry.body.children) {
      const s = series.get(tr.dataset.series);
      const text = [device, s.info.sensor, s.info.unit || "", s.id].join(" ").toLowerCase();
      const match = words.every((w) => text.includes(w));
      tr.hidden = !match;
      if (match) shown += 1;
    }
    entry.section.hidden = shown === 0;
  }
}

function onCatalog(catalog) {
  for (const info of catalog.devices || []) setAvailability(info);
  let added = false;
  for (const info of catalog.series) {
    let s = series.get(info.id);
    if (!s) {
      s = new Series(info);
      series.set(info.id, s);
      added = true;
    }
    s.update(info);
  }
  $("count").textContent = "(" + series.size + ")";
  $("empty").hidden = series.size > 0;
  $("hint").hidden = series.size === 0;
  if (added) {
    filterList();
    layout();
  }
  for (const chart of charts.values()) {
    chart.dirty = true;
    chart.drawnAt = 0;  // a series may have gone stale: grey it now
    chart.showLegend();
  }
  scheduleDraw();
}

// -- charts -------------------------------------------------------------------

// Series of one unit share a chart.  Series without a unit (Zigbee2MQTT states
// none) share one by what they measure, the last word of the sensor's name, so
// humidity and a battery's voltage are not drawn on one axis.
function chartKey(info) {
  if (state.split) return "s:" + info.id;
  return info.unit ? "u:" + info.unit : "n:" + quantity(info.sensor);
}

function quantity(sensor) {
  const words = String(sensor).toLowerCase().split(/[\/._:\s-]+/).filter(Boolean);
  return words.length ? words[words.length - 1] : "";
}

function cssVar(name) {
  return getComputedStyle(document.documentElement).getPropertyValue(name).trim();
}

class Chart {
  constructor(key, ids) {
    this.key = key;
    this.ids = ids;
    this.loadToken = 0;
    this.dirty = true;
    this.drawnAt = 0;
    this.cursorIdx = null;
    const node = $("chart-template").content.cloneNode(true);
    this.el = node.querySelector("figure");
    this.el.dataset.key = key;
    this.plotEl = node.querySelector(".plot");
    this.legendEl = node.querySelector(".legend");
    this.setTitle(node.querySelector(".chart-title"), node.querySelector(".chart-detail"));
    this.legend = new Map();
    ids.forEach((id, i) => {
      const li = document.createElement("li");
      li.dataset.series = id;
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.backgroundColor = PALETTE[i % PALETTE.length];
      const name = document.createElement("span");
      name.className = "name";
      const info = series.get(id).info;
      name.textContent = ids.length === 1 && this.key.startsWith("s:") ? info.sensor : info.device + " / " + info.sensor;
      const value = document.createElement("span");
      value.className = "value";
      li.append(swatch, name, value);
      this.legendEl.append(li);
      this.legend.set(id, { li, value });
    });
    this.reset(view());
    this.plot = null;
  }

  // "temperature (°C)", then how many series: what the chart shows, in words.
  setTitle(titleEl, detailEl) {
    const infos = this.ids.map((id) => series.get(id).info);
    const unit = " (" + unitLabel(infos[0].unit) + ")";
    if (this.key.startsWith("s:")) {
      titleEl.textContent = infos[0].device + " / " + infos[0].sensor + unit;
      detailEl.textContent = "";
    } else if (this.key.startsWith("n:")) {
      titleEl.textContent = (this.key.slice(2) || "value") + unit;
      detailEl.textContent = infos.length === 1 ? "" : "· " + infos.length + " series";
    } else {
      // What they measure, in words: "humidity (%)" for AM2301.Humidity and sensor/humidity.
      const names = [...new Set(infos.map((i) => quantity(i.sensor) || i.sensor))];
      titleEl.textContent = (names.length <= 3 ? names.join(", ") : names.length + " quantities") + unit;
      detailEl.textContent = infos.length === 1 ? "" : "· " + infos.length + " series";
    }
  }

  width() {
    return Math.max(200, Math.floor(this.plotEl.clientWidth || this.el.clientWidth || 320));
  }

  height() {
    return window.innerWidth < 600 ? 180 : 240;
  }

  // One row per bucket of `w` seconds (about a pixel); columns per series.
  reset(v) {
    this.start = v.start;
    this.end = v.end;
    this.w = Math.max(0.001, (v.end - v.start) / Math.max(100, this.plotWidth()));
    this.ks = [];
    this.xs = [];
    this.cols = this.ids.map(() => ({ v: [], lo: [], hi: [] }));
    this.lastK = this.ids.map(() => -Infinity);
    this.data = [this.xs];
    for (const c of this.cols) this.data.push(c.v, c.hi, c.lo);
    if (this.plot) this.plot.setData(this.data);
  }

  plotWidth() {
    // The plotting area is the chart less its value axis (~50 px).
    return Math.max(50, this.width() - 50);
  }

  row(k) {
    const ks = this.ks;
    let i = ks.length - 1;
    while (i >= 0 && ks[i] > k) i -= 1;
    if (i >= 0 && ks[i] === k) return i;
    const at = i + 1;
    const x = k * this.w;  // the bucket's start: its newest point is never right of "now"
    if (at === ks.length) {
      ks.push(k);
      this.xs.push(x);
      for (const c of this.cols) { c.v.push(undefined); c.lo.push(undefined); c.hi.push(undefined); }
    } else {
      ks.splice(at, 0, k);
      this.xs.splice(at, 0, x);
      for (const c of this.cols) {
        c.v.splice(at, 0, undefined); c.lo.splice(at, 0, undefined); c.hi.splice(at, 0, undefined);
      }
    }
    return at;
  }

  add(index, t, v, lo, hi) {
    if (t < this.start - this.w || t > this.end + 60) return;
    const k = Math.floor(t / this.w);
    const c = this.cols[index];
    const s = series.get(this.ids[index]);
    if (s.gap && v !== null && k > this.lastK[index] + 1 && Number.isFinite(this.lastK[index])) {
      const g = this.row(this.lastK[index] + 1);
      if (c.v[g] === undefined) c.v[g] = null;
    }
    if (v !== null) s.gap = false;
    const i = this.row(k);
    if (v === null) {
      if (c.v[i] === undefined) c.v[i] = null;
      return;
    }
    if (c.v[i] === undefined || c.v[i] === null) {
      c.v[i] = v; c.lo[i] = lo; c.hi[i] = hi;
    } else {
      c.v[i] = v;
      if (lo < c.lo[i]) c.lo[i] = lo;
      if (hi > c.hi[i]) c.hi[i] = hi;
    }
    if (k > this.lastK[index]) this.lastK[index] = k;
    this.dirty = true;
  }

  trim(start) {
    let n = 0;
    while (n < this.xs.length && this.xs[n] < start - this.w) n += 1;
    if (n === 0) return;
    this.ks.splice(0, n);
    this.xs.splice(0, n);
    for (const c of this.cols) { c.v.splice(0, n); c.lo.splice(0, n); c.hi.splice(0, n); }
  }

  build() {
    const line = cssVar("--line");
    const muted = cssVar("--muted");
    const grey = cssVar("--stale");
    const chart = this;
    const seriesOpts = [{}];
    const bands = [];
    this.ids.forEach((id, i) => {
      const color = PALETTE[i % PALETTE.length];
      const stroke = () => (series.get(id).info.stale ? grey : color);
      const base = seriesOpts.length;
      seriesOpts.push(
        { stroke, width: 1.5, spanGaps: false, points: { show: false } },
        { stroke: "transparent", width: 0, points: { show: false } },
        { stroke: "transparent", width: 0, points: { show: false } },
      );
      bands.push({ series: [base + 1, base + 2], fill: () => (series.get(id).info.stale ? grey + "33" : color + "33") });
    });
    const axis = { stroke: muted, grid: { stroke: line, width: 1 }, ticks: { stroke: line, width: 1 } };
    const opts = {
      width: this.width(),
      height: this.height(),
      legend: { show: false },
      cursor: { drag: { x: true, y: false, setScale: false }, points: { show: false } },
      scales: { x: { time: true, range: () => [chart.start, chart.end] } },
      series: seriesOpts,
      bands,
      axes: [{ ...axis, space: 70, values: timeLabels }, { ...axis, size: 50 }],
      hooks: {
        setSelect: [(u) => onSelect(chart, u)],
        setCursor: [(u) => { chart.cursorIdx = u.cursor.idx; chart.showLegend(); }],
      },
    };
    this.plotEl.textContent = "";
    this.plot = new uPlot(opts, this.data, this.plotEl);
    this.plot.over.addEventListener("dblclick", () => { if (state.zoom) unzoom(); });
  }

  showLegend() {
    const idx = this.cursorIdx;
    this.ids.forEach((id, i) => {
      const entry = this.legend.get(id);
      const s = series.get(id);
      let v = s.value;
      if (idx !== null && idx !== undefined) v = this.cols[i].v[idx];
      const text = formatValue(v) + (s.info.unit ? " " + s.info.unit : "");
      if (entry.value.textContent !== text) entry.value.textContent = text;
      entry.li.classList.toggle("stale", !!s.info.stale);
    });
  }

  draw(now) {
    if (!this.plot) this.build();
    const v = view();
    if (v.follow) {
      this.start = v.start;
      this.end = v.end;
      this.trim(v.start);
    }
    this.plot.setData(this.data);
    this.drawnAt = now;
    this.dirty = false;
    this.el.dataset.rows = String(this.xs.length);
  }

  // A redraw moves the line by at most a fraction of a pixel more often than
  // every half bucket: wait that long (at 1 h on a phone, ~5 s).
  nextDue() {
    return this.drawnAt + Math.min(5000, Math.max(0, this.w * 500));
  }

  due(now) {
    return now >= this.nextDue() - 1;
  }

  destroy() {
    if (this.plot) this.plot.destroy();
    this.el.remove();
  }
}

function layout() {
  const groups = new Map();
  // Charts of a unit first, then those grouped by name; series by id within each.
  const rank = (s) => (s.info.unit ? "0" : "1") + chartKey(s.info);
  const ordered = [...series.values()].sort((a, b) =>
    rank(a).localeCompare(rank(b)) || a.id.localeCompare(b.id));
  for (const s of ordered) {
    s.checkbox.checked = isSelected(s.id);
    if (!isSelected(s.id)) continue;
    const key = chartKey(s.info);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(s.id);
  }
  for (const [key, chart] of charts) {
    const ids = groups.get(key);
    if (!ids || ids.join("\n") !== chart.ids.join("\n")) {
      chart.destroy();
      charts.delete(key);
    }
  }
  const container = $("charts");
  let previous = $("hint");
  for (const [key, ids] of groups) {
    let chart = charts.get(key);
    if (!chart) {
      chart = new Chart(key, ids);
      charts.set(key, chart);
      previous.after(chart.el);
      chart.build();
      loadHistory(chart);
    } else if (chart.el.previousElementSibling !== previous) {
      previous.after(chart.el);
    }
    previous = chart.el;
  }
  container.classList.toggle("split", state.split);
}

async function loadHistory(chart) {
  const token = ++chart.loadToken;
  const v = view();
  chart.reset(v);
  const points = Math.min(MAX_POINTS, Math.max(8, 4 * chart.plotWidth()));
  for (let i = 0; i < chart.ids.length; i += MAX_QUERY_SERIES) {
    const ids = chart.ids.slice(i, i + MAX_QUERY_SERIES);
    const params = new URLSearchParams();
    for (const id of ids) params.append("series", id);
    params.set("start", v.start.toFixed(3));
    if (!v.follow) params.set("end", v.end.toFixed(3));
    params.set("points", String(points));
    let body;
    try {
      const response = await fetch("/api/history?" + params.toString());
      if (response.status === 401) { signIn(); return; }
      if (!response.ok) return;
      body = await response.json();
    } catch (error) {
      return;  // the server is away: the stream's reconnect will reload
    }
    if (token !== chart.loadToken) return;
    for (const [sid, found] of Object.entries(body.series)) {
      const index = chart.ids.indexOf(sid);
      if (index < 0) continue;
      const t = found.t, values = found.v;
      for (let j = 0; j < t.length; j++) chart.add(index, t[j], values[j], values[j], values[j]);
    }
  }
  chart.loaded = true;
  chart.dirty = true;
  chart.drawnAt = 0;
  scheduleDraw();
}

function reloadAll() {
  for (const chart of charts.values()) loadHistory(chart);
}

// Text (list values, legends) is rewritten at most every TEXT_MS: each rewrite
// costs the browser style, layout and paint, and nobody reads 10 changes a second.
const TEXT_MS = 250;
const textDirty = new Set();
const legendDirty = new Set();

function refreshText() {
  if (document.hidden) return;
  for (const s of textDirty) s.showValue();
  textDirty.clear();
  for (const chart of legendDirty) if (chart.cursorIdx === null) chart.showLegend();
  legendDirty.clear();
}

const HELD_FRAMES = 3000;  // frames kept while paused (5 min at 10 Hz), then history is refetched
let held = [];
let heldOverflow = false;

function onReadings(event) {
  lastId = event.lastEventId || lastId;
  const frame = JSON.parse(event.data);
  if (typeof frame.t === "number") skew = frame.t - localNow();
  const now = localNow();
  for (const [id, point] of Object.entries(frame.series)) {
    const s = series.get(id);
    if (!s) continue;
    s.setValue(point[1]);
    s.seenAt = now;
    if (s.info.stale) s.update({ stale: false });
  }
  if (state.paused) {
    // The charts hold still (and export what they show); the list stays live.
    held.push(frame);
    if (held.length > HELD_FRAMES) { held.shift(); heldOverflow = true; }
    return;
  }
  applyFrame(frame);
}

function applyFrame(frame) {
  const touched = new Set();
  for (const [id, point] of Object.entries(frame.series)) {
    const s = series.get(id);
    if (!s || !isSelected(id)) continue;
    const chart = charts.get(chartKey(s.info));
    if (!chart) continue;
    const index = chart.ids.indexOf(id);
    const v = point[1];
    const lo = point.length >= 4 ? point[2] : v;
    const hi = point.length >= 4 ? point[3] : v;
    chart.add(index, point[0], v, lo, hi);
    touched.add(chart);
  }
  for (const chart of touched) legendDirty.add(chart);
  scheduleDraw();
}

function resume() {
  const frames = held;
  held = [];
  if (heldOverflow) {
    heldOverflow = false;
    reloadAll();
  } else {
    for (const frame of frames) applyFrame(frame);
  }
  for (const chart of charts.values()) chart.drawnAt = 0;
  scheduleDraw();
}

// Draws wait on a timer for the first chart that is due, then take the next
// animation frame: no frame is asked for that would draw nothing.
let drawTimer = null;

function scheduleDraw() {
  if (drawTimer !== null || drawScheduled || state.paused || document.hidden) return;
  const now = performance.now();
  let wait = Infinity;
  for (const chart of charts.values()) {
    if (chart.dirty || !state.zoom) wait = Math.min(wait, chart.nextDue() - now);
  }
  if (wait === Infinity) return;
  drawTimer = setTimeout(() => {
    drawTimer = null;
    drawScheduled = true;
    requestAnimationFrame(drawAll);
  }, Math.max(0, wait));
}

function drawAll() {
  drawScheduled = false;
  if (state.paused || document.hidden) return;
  const now = performance.now();
  for (const chart of charts.values()) {
    if ((chart.dirty || !state.zoom) && chart.due(now)) chart.draw(now);
  }
  scheduleDraw();  // following live, the window moves even with no new point
}

function onSelect(chart, u) {
  const { left, width } = u.select;
  if (width < 5) return;
  const start = u.posToVal(left, "x");
  const end = u.posToVal(left + width, "x");
  u.setSelect({ left: 0, width: 0, top: 0, height: 0 }, false);
  if (!(end > start)) return;
  state.zoom = { start, end };
  changedView();
}

function unzoom() {
  state.zoom = null;
  changedView();
}

function changedView() {
  if (state.paused) {  // a new view is fetched whole: nothing held is needed
    state.paused = false;
    held = [];
    heldOverflow = false;
  }
  writeUrl();
  showControls();
  reloadAll();
}

// -- export -------------------------------------------------------------------

function csvField(value) {
  let text = String(value);
  // A spreadsheet would run a cell that starts with one of these (CSV injection).
  if (/^[=+\-@\t\r]/.test(text) && typeof value === "string") text = "'" + text;
  return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

function exportCsv() {
  const lines = [["time", "series", "device", "sensor", "unit", "value", "min", "max"].join(",")];
  for (const chart of charts.values()) {
    chart.ids.forEach((id, i) => {
      const info = series.get(id).info;
      const c = chart.cols[i];
      for (let r = 0; r < chart.xs.length; r++) {
        const x = chart.xs[r];
        if (x < chart.start || x > chart.end || typeof c.v[r] !== "number") continue;
        lines.push([new Date(x * 1000).toISOString(), id, info.device, info.sensor, info.unit || "",
          c.v[r], c.lo[r], c.hi[r]].map(csvField).join(","));
      }
    });
  }
  const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" });
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
  link.download = "telemetry-" + stamp + ".csv";
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

// -- wiring -------------------------------------------------------------------

function rebuildAll() {
  for (const chart of charts.values()) chart.build();
  scheduleDraw();
}

function tickAges() {
  const now = localNow();
  for (const s of series.values()) s.showAge(now);
  showRetry();
}

function start() {
  readUrl();
  showControls();
  for (const button of document.querySelectorAll("[data-range]")) {
    button.addEventListener("click", () => {
      state.range = button.dataset.range;
      state.zoom = null;
      changedView();
    });
  }
  $("unzoom").addEventListener("click", unzoom);
  $("pause").addEventListener("click", () => {
    state.paused = !state.paused;
    showControls();
    if (!state.paused) resume();
  });
  $("export").addEventListener("click", exportCsv);
  $("split").addEventListener("change", () => {
    state.split = $("split").checked;
    writeUrl();
    for (const chart of charts.values()) chart.destroy();
    charts.clear();
    layout();
  });
  $("search").addEventListener("input", filterList);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden) {
      for (const chart of charts.values()) chart.drawnAt = 0;
      scheduleDraw();
    }
  });
  matchMedia("(prefers-color-scheme: dark)").addEventListener("change", rebuildAll);
  let width = $("charts").clientWidth;
  new ResizeObserver(() => {
    const now = $("charts").clientWidth;
    if (Math.abs(now - width) < 2) return;
    const far = Math.abs(now - width) > 0.2 * width;
    width = now;
    for (const chart of charts.values()) {
      if (chart.plot) chart.plot.setSize({ width: chart.width(), height: chart.height() });
      if (far) loadHistory(chart);
    }
  }).observe($("charts"));
  window.addEventListener("online", () => { if (retryTimer !== null) { clearTimeout(retryTimer); retryTimer = null; connect(); } });
  setInterval(tickAges, 1000);
  setInterval(refreshText, TEXT_MS);
  writeUrl();
  connect();
}

// For tests and the curious: what each chart holds (no device strings as markup).
window.telemetryPage = {
  snapshot() {
    return {
      status: statusEl.className.replace("status ", ""),
      range: state.range,
      zoom: state.zoom,
      paused: state.paused,
      resumable: lastId !== null,  // holds a cursor to resume the stream from
      charts: [...charts.values()].map((chart) => ({
        key: chart.key,
        ids: chart.ids,
        start: chart.start,
        end: chart.end,
        rows: chart.xs.length,
        series: Object.fromEntries(chart.ids.map((id, i) => {
          // What is on screen: the rows inside the window (as the export takes them).
          const c = chart.cols[i];
          const shown = (r) => typeof c.v[r] === "number" && chart.xs[r] >= chart.start && chart.xs[r] <= chart.end;
          const xs = chart.xs.filter((_, r) => shown(r));
          const banded = c.v.filter((v, r) => shown(r) && c.hi[r] > c.lo[r]).length;
          return [id, { points: xs.length, first: xs[0] ?? null, last: xs[xs.length - 1] ?? null, banded }];
        })),
      })),
    };
  },
};

start();
