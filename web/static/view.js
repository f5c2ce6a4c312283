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

// Whether series id `id` matches glob `glob` (`*` any run of characters, `?`
// one), as the server's stream patterns do (fnmatch).
export function globMatch(glob, id) {
  const pattern = String(glob).replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp("^" + pattern + "$", "s").test(id);
}

export class View {
  constructor() {
    this.range = DEFAULT_RANGE;
    this.zoom = null;      // {start, end} while zoomed in, else null (follow live)
    this.paused = false;
    this.split = false;
    this.selected = null;  // null: the default selection; else a Set of ids
    this.group = "quantity";  // how series share charts ([page] group): quantity, device, none
    this.ranged = false;   // the range came from the address (or the browser's last view)
    // The default selection: every series, but for those `[[series]] hide`
    // keeps off the charts, and, when `[page] series` lists globs, only those.
    this.byDefault = () => true;
  }

  // The server's `[page]` defaults (readPage), under what the address says,
  // `hidden(id)`: whether `[[series]] hide` is set for the series.
  setDefaults(page, hidden) {
    if (!this.ranged && page.range && Object.hasOwn(RANGES, page.range)) this.range = page.range;
    this.group = page.group;
    const globs = page.series;
    this.byDefault = (id) => !hidden(id) && (globs.length === 0 || globs.some((g) => globMatch(g, id)));
  }

  // The view a query string (`location.search`) describes; the rest default.
  static fromQuery(search) {
    const view = new View();
    const params = new URLSearchParams(search);
    const range = params.get("range");
    if (range && Object.hasOwn(RANGES, range)) {
      view.range = range;
      view.ranged = true;
    }
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
    return this.selected === null ? this.byDefault(id) : this.selected.has(id);
  }

  // Chart series `id` or not; `all` is every series id (back to the default
  // selection: no selection of its own).
  choose(id, on, all) {
    if (this.selected === null) this.selected = new Set(all.filter((k) => this.byDefault(k)));
    if (on) this.selected.add(id); else this.selected.delete(id);
    if (all.every((k) => this.selected.has(k) === this.byDefault(k))) this.selected = null;
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
