// The charting page: every series live, its history on open, one EventSource.
//
// This module wires the parts together and owns the page's state in one Page
// object: the View (range, zoom, pause, split, selection, kept in the URL), the
// server's Clock, the frames held while paused, and the parts themselves:
//
//   stream.js  the EventSource, its reconnects, and the reading of each event
//   list.js    the sensor list (owns the series records)
//   board.js   the charts section: which charts, history loads, live points, draws
//   chart.js   one chart: uPlot, title and legend over a bucket table
//   tiles.js   a phone's "Now": a tile per sensor, its sparkline from its chart
//   alerts.js  the banner of firing alerts, the series marked, notifications
//   buckets.js the per-pixel bucket table (pure)
//   groups.js, format.js, history.js, view.js: pure helpers
//
// Nothing runs at import time except `new Page(document).start()` below.

import { AlertBanner } from "./alerts.js";
import { Board } from "./board.js";
import { csvLine, exportName } from "./format.js";
import { chartKey, groupSeries } from "./groups.js";
import { SensorList } from "./list.js";
import { Stream, readPage } from "./stream.js";
import { Tiles } from "./tiles.js";
import { Clock, View, localNow } from "./view.js";

// Text (list values and ages, legends) is rewritten all together, following
// live in the frame that redraws the charts, at most every TEXT_MS (at 1 h on a
// phone the charts redraw every 5 s); paused or zoomed, every TEXT_MS.  A frame
// of its own for the text costs the browser more style, layout, paint and
// compositing than the redraw, and a value is read, not watched.  TEXT_MAX, a
// little over the longest redraw interval (chart.js), is the backstop.
const TEXT_MS = 1000;
const TEXT_MAX = 6000;
const HELD_FRAMES = 3000;  // frames kept while paused (5 min at 10 Hz), then history is refetched
const STORED_VIEW = "telemetry.view";  // localStorage: this browser's last view, when the address has none

function storedView() {
  try {
    return localStorage.getItem(STORED_VIEW) || "";
  } catch (error) {
    return "";  // storage refused (a private window): the server's defaults
  }
}

class Page {
  constructor(doc) {
    this.doc = doc;
    this.view = View.fromQuery(location.search || storedView());
    this.clock = new Clock();
    this.held = [];             // readings frames that arrived while paused
    this.heldOverflow = false;  // some were dropped: refetch on resume
    this.textAt = -Infinity;    // performance.now() of the last text refresh
    this.statusEl = doc.getElementById("status");
    this.list = new SensorList(doc, this.view, (id, on) => this.choose(id, on), (id) => this.deleteSeries(id));
    this.board = new Board(doc, this.list, this.view, () => this.view.span(this.clock.now()), {
      zoom: (start, end) => this.zoomTo(start, end),
      unzoom: () => { if (this.view.zoom) this.unzoom(); },
      fetchHistory: (query) => this.fetchHistory(query),
      drew: (now) => { if (now - this.textAt >= TEXT_MS) this.refreshText(now); },
    });
    // Until the server's [page] defaults arrive: every series not hidden.
    this.view.setDefaults({ range: null, series: [], group: "quantity" }, (id) => this.hidden(id));
    this.tiles = new Tiles(doc, this.list, (id) => this.chartOf(id));
    this.banner = new AlertBanner(doc, (ids) => this.markAlerting(ids), (id) => this.list.get(id)?.info.unit ?? null);
    this.stream = new Stream({
      alert: (event) => this.banner.apply(event, this.clock.now()),
      show: (kind, text) => this.showStatus(kind, text),
      catalog: (catalog) => this.onCatalog(catalog),
      status: (status) => this.list.setAvailability(status.devices),
      readings: (frame) => this.onReadings(frame),
      reload: () => this.board.reloadAll(),
      lost: () => this.checkLogin(),
    });
  }

  $(id) {
    return this.doc.getElementById(id);
  }

  // -- the stream's events ----------------------------------------------------

  onCatalog(catalog) {
    const { changed, staled } = this.list.applyCatalog(catalog, localNow());
    for (const id of staled) this.board.breakLine(id);
    this.board.showEmpty(this.list.size === 0);
    if (changed) {
      this.list.filter();
      this.layout();
    }
    this.board.refreshInfo();
  }

  onReadings(frame) {
    this.clock.sync(frame.t);
    this.list.applyReadings(frame.points, localNow());
    if (this.view.paused) {
      // The charts hold still (and export what they show); the list stays live.
      this.held.push(frame);
      if (this.held.length > HELD_FRAMES) {
        this.held.shift();
        this.heldOverflow = true;
      }
      return;
    }
    this.board.addPoints(frame.points);
  }

  refreshText(now) {
    this.textAt = now;
    this.list.refreshText();
    this.list.showAges(localNow());
    this.board.refreshLegends();
    this.tiles.refresh(localNow(), this.clock.now());
    this.banner.show(this.clock.now());
  }

  // Series with a firing alert: their rows, legend entries and tiles (and so,
  // through CSS, their charts) marked.
  markAlerting(ids) {
    for (const el of this.doc.querySelectorAll("tr[data-series], .legend li[data-series], .tile[data-series]")) {
      el.classList.toggle("alerting", ids.has(el.dataset.series));
    }
  }

  // The chart series `id` is drawn on, and its index there; null if none.
  chartOf(id) {
    const s = this.list.get(id);
    const chart = s && this.board.charts.get(chartKey(s.info, this.view.split, this.view.group));
    const index = chart ? chart.ids.indexOf(id) : -1;
    return index < 0 ? null : { chart, index };
  }

  showStatus(kind, text) {
    this.statusEl.className = "status " + kind;
    this.statusEl.textContent = text;
  }

  // An EventSource cannot see the status: ask once whether the login lapsed.
  checkLogin() {
    fetch("/api/series", { cache: "no-store" })
      .then((r) => { if (r.status === 401) this.signIn(); })
      .catch(() => {});
  }

  signIn() {
    location.assign("/login");
  }

  async fetchHistory(query) {
    try {
      const response = await fetch("/api/history?" + query);
      if (response.status === 401) {
        this.signIn();
        return null;
      }
      if (!response.ok) return null;
      return await response.json();
    } catch (error) {
      return null;
    }
  }

  // -- the view -----------------------------------------------------------------

  layout() {
    this.list.showSelection();
    const view = this.view;
    this.board.layout(groupSeries(this.list.infos(), view.split, (id) => view.isSelected(id), view.group));
    this.tiles.layout((id) => view.isSelected(id));
    this.tiles.refresh(localNow(), this.clock.now());  // new tiles show their values at once
    this.markAlerting(this.banner.set.series());  // new rows, legends and tiles
  }

  writeUrl() {
    const query = this.view.toQuery();
    history.replaceState(null, "", query);
    try {
      localStorage.setItem(STORED_VIEW, query);
    } catch (error) {
      // not kept: the next visit starts from the server's defaults
    }
  }

  // The server's `[page]` defaults, under what the address (or this browser's
  // last view) says.
  async loadDefaults() {
    let body = null;
    try {
      const response = await fetch("/api/page", { cache: "no-store" });
      if (response.ok) body = await response.json();
    } catch (error) {
      return;  // the server's away: the page's own defaults
    }
    if (body === null) return;
    const { range, group } = this.view;
    this.view.setDefaults(readPage(body), (id) => this.hidden(id));
    if (this.view.group !== group) this.board.clear();
    this.layout();
    if (this.view.range !== range) this.changedView();
  }

  hidden(id) {
    const s = this.list.get(id);
    return s !== undefined && s.info.hide;
  }

  // Delete series `id` and its history on the server, once confirmed; the
  // stream's catalog then takes it off the page.
  async deleteSeries(id) {
    if (!window.confirm("Delete " + id + " and all its history?")) return;
    try {
      const response = await fetch("/api/series/" + id.split("/").map(encodeURIComponent).join("/"),
        { method: "DELETE" });
      if (response.status === 401) this.signIn();
      else if (!response.ok && response.status !== 404) window.alert("The server refused: " + response.status);
    } catch (error) {
      window.alert("The server cannot be reached.");
    }
  }

  showControls() {
    const view = this.view;
    for (const button of this.doc.querySelectorAll("[data-range]")) {
      button.setAttribute("aria-pressed", String(!view.zoom && button.dataset.range === view.range));
    }
    this.$("unzoom").hidden = !view.zoom;
    this.$("pause").setAttribute("aria-pressed", String(view.paused));
    this.$("pause").textContent = view.paused ? "Resume" : "Pause";
    this.$("split").checked = view.split;
  }

  choose(id, on) {
    this.view.choose(id, on, this.list.ids());
    this.writeUrl();
    this.layout();
  }

  zoomTo(start, end) {
    this.view.zoomTo(start, end);
    this.changedView();
  }

  unzoom() {
    this.view.unzoom();
    this.changedView();
  }

  changedView() {
    if (this.view.paused) {  // a new view is fetched whole: nothing held is needed
      this.view.paused = false;
      this.held = [];
      this.heldOverflow = false;
    }
    this.writeUrl();
    this.showControls();
    this.board.reloadAll();
  }

  togglePause() {
    this.view.paused = !this.view.paused;
    this.showControls();
    if (this.view.paused) return;
    const frames = this.held;
    this.held = [];
    if (this.heldOverflow) {
      this.heldOverflow = false;
      this.board.reloadAll();
    } else {
      for (const frame of frames) this.board.addPoints(frame.points);
    }
    this.board.redrawSoon();
  }

  setSplit(split) {
    this.view.split = split;
    this.writeUrl();
    this.board.clear();
    this.layout();
  }

  // -- export -------------------------------------------------------------------

  // The points the charts show: what a paused page shows is what it exports.
  exportCsv() {
    const lines = [csvLine(["time", "series", "device", "sensor", "unit", "value", "min", "max"])];
    for (const chart of this.board.charts.values()) {
      const table = chart.table;
      chart.ids.forEach((id, i) => {
        const info = this.list.get(id).info;
        const c = table.cols[i];
        for (const r of table.shown(i)) {
          lines.push(csvLine([new Date(table.xs[r] * 1000).toISOString(), id, info.device, info.sensor,
            info.unit || "", c.v[r], c.lo[r], c.hi[r]]));
        }
      });
    }
    const blob = new Blob([lines.join("\r\n") + "\r\n"], { type: "text/csv" });
    const link = this.doc.createElement("a");
    link.href = URL.createObjectURL(blob);
    link.download = exportName(new Date());
    this.doc.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }

  // For tests and the curious: what each chart holds (no device strings as markup).
  snapshot() {
    return {
      status: this.statusEl.className.replace("status ", ""),
      range: this.view.range,
      zoom: this.view.zoom,
      paused: this.view.paused,
      resumable: this.stream.resumable,  // holds a cursor to resume the stream from
      charts: this.board.snapshot(),
    };
  }

  // -- wiring -------------------------------------------------------------------

  start() {
    this.showControls();
    for (const button of this.doc.querySelectorAll("[data-range]")) {
      button.addEventListener("click", () => {
        this.view.setRange(button.dataset.range);
        this.changedView();
      });
    }
    this.$("unzoom").addEventListener("click", () => this.unzoom());
    this.$("pause").addEventListener("click", () => this.togglePause());
    this.$("export").addEventListener("click", () => this.exportCsv());
    this.$("split").addEventListener("change", () => this.setSplit(this.$("split").checked));
    this.$("search").addEventListener("input", () => this.list.filter());
    this.$("edit").addEventListener("click", () => {
      const on = this.$("devices").classList.toggle("editing");
      this.$("edit").setAttribute("aria-pressed", String(on));
    });
    this.doc.addEventListener("visibilitychange", () => {
      if (!this.doc.hidden) this.board.redrawSoon();
    });
    matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => this.board.rebuildAll());
    new ResizeObserver(() => this.board.resized()).observe(this.$("charts"));
    window.addEventListener("online", () => this.stream.retryNow());
    setInterval(() => {
      this.stream.showRetry();
      const now = performance.now();
      const wait = this.view.paused || this.view.zoom ? TEXT_MS : TEXT_MAX;
      if (!this.doc.hidden && now - this.textAt >= wait - 100) this.refreshText(now);
    }, TEXT_MS);
    this.writeUrl();
    this.stream.connect();
    this.loadDefaults();
    window.telemetryPage = { snapshot: () => this.snapshot() };
  }
}

new Page(document).start();
