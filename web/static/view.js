// What the page shows: the range or zoomed window, pause, one chart per series,
// the selection; and the server's clock, which places the live window.
//
// A View is written only by main.js (through these methods) and read by the
// list and the charts.  The URL holds it: `range=1h`, or `start` and `end` when
// zoomed, `series=ID` repeated (none: every series) and `split=1`.  No DOM:
// tests/web/js/view.test.mjs runs it in node.

export const RANGES = Object.freeze({ "1m": 60, "15m": 900, "1h": 3600, "6h": 21600, "24h": 86400 });
export const DEFAULT_RANGE = "1h";

// The local clock, in seconds.
export const localNow = () => Date.now() / 1000;

// The server's clock, as each `readings` frame states it.
export class Clock {
  constructor() {
    this.skew = 0;  // server clock - local clock, seconds
  }

  sync(serverTime) {
    if (typeof serverTime === "number") this.skew = serverTime - localNow();
  }

  now() {
    return localNow() + this.skew;
  }
}

export class View {
  constructor() {
    this.range = DEFAULT_RANGE;
    this.zoom = null;      // {start, end} while zoomed in, else null (follow live)
    this.paused = false;
    this.split = false;
    this.selected = null;  // null: every series; else a Set of ids
  }

  // The view a query string (`location.search`) describes; the rest default.
  static fromQuery(search) {
    const view = new View();
    const params = new URLSearchParams(search);
    const range = params.get("range");
    if (range && Object.hasOwn(RANGES, range)) view.range = range;
    const start = Number(params.get("start"));
    const end = Number(params.get("end"));
    if (params.has("start") && params.has("end") && Number.isFinite(start) && Number.isFinite(end) && end > start) {
      view.zoom = { start, end };
    }
    view.split = params.get("split") === "1";
    const chosen = params.getAll("series");
    view.selected = chosen.length ? new Set(chosen) : null;
    return view;
  }

  toQuery() {
    const params = new URLSearchParams();
    params.set("range", this.range);
    if (this.zoom) {
      params.set("start", this.zoom.start.toFixed(3));
      params.set("end", this.zoom.end.toFixed(3));
    }
    if (this.split) params.set("split", "1");
    if (this.selected) for (const id of [...this.selected].sort()) params.append("series", id);
    return "?" + params.toString();
  }

  // The time span on the charts when the server's clock reads `now`; `follow`:
  // it moves with the clock.
  span(now) {
    if (this.zoom) return { start: this.zoom.start, end: this.zoom.end, follow: false };
    return { start: now - RANGES[this.range], end: now, follow: true };
  }

  isSelected(id) {
    return this.selected === null || this.selected.has(id);
  }

  // Chart series `id` or not; `all` is every series id (all chosen: no selection).
  choose(id, on, all) {
    if (this.selected === null) this.selected = new Set(all);
    if (on) this.selected.add(id); else this.selected.delete(id);
    if (all.every((k) => this.selected.has(k))) this.selected = null;
  }

  setRange(range) {
    this.range = range;
    this.zoom = null;
  }

  zoomTo(start, end) {
    this.zoom = { start, end };
  }

  unzoom() {
    this.zoom = null;
  }
}
