// The "Now" section of a phone: a tile per sensor with its name, value, unit,
// age and a sparkline of the range, what a person wants at a glance.  A tile
// is a link to its chart.  On a desktop (wider than the phone layout) the
// section is not shown and nothing here runs but `layout`.
//
// The sparkline is drawn from the bucket table of the chart the series is on
// (chart.js), so it costs no request and shows what the chart shows; a series
// not charted has none.  A tile's text is rewritten with the rest of the page's
// text (main.js, at most once a second) where it changed; its sparkline only
// when its chart was drawn since.

import { formatAge, formatHeld, readingText } from "./format.js";

const SPARK_W = 120;  // CSS pixels
const SPARK_H = 28;

// When series `index` of `table` took the value it holds now (a state's last
// switch): the start of its newest run of equal values, or null when it held
// that value all through the table.
export function lastChange(table, index) {
  const v = table.cols[index].v;
  let current = null, since = null;
  for (let r = v.length - 1; r >= 0; r--) {
    const x = v[r];
    if (typeof x !== "number") continue;
    if (current === null) current = x;
    else if (x !== current) return since;
    since = table.xs[r];
  }
  return null;
}

// Sparkline points: [x, y] in a w x h box for the table's values of series
// `index` inside its window (y down, the range's min at the bottom).
export function sparkPoints(table, index, w, h) {
  const v = table.cols[index].v;
  const span = table.end - table.start;
  let lo = Infinity, hi = -Infinity;
  for (let r = 0; r < v.length; r++) {
    const x = table.xs[r];
    if (typeof v[r] !== "number" || x < table.start || x > table.end) continue;
    if (v[r] < lo) lo = v[r];
    if (v[r] > hi) hi = v[r];
  }
  if (lo === Infinity || span <= 0) return [];
  const pad = hi > lo ? 0 : 1;
  const points = [];
  for (let r = 0; r < v.length; r++) {
    const x = table.xs[r];
    if (x < table.start || x > table.end) continue;
    if (v[r] === null) points.push(null);  // a gap
    else if (typeof v[r] === "number") {
      points.push([((x - table.start) / span) * w, h - 1 - ((v[r] - lo + pad) / (hi - lo + 2 * pad)) * (h - 2)]);
    }
  }
  return points;
}

class Tile {
  constructor(s) {
    this.id = s.id;
    const a = document.createElement("a");
    a.className = "tile";
    a.dataset.series = s.id;
    this.name = document.createElement("span");
    this.name.className = "tile-name";
    this.value = document.createElement("span");
    this.value.className = "tile-value";
    this.age = document.createElement("span");
    this.age.className = "tile-age";
    this.spark = document.createElement("canvas");
    this.spark.className = "tile-spark";
    this.spark.width = SPARK_W;
    this.spark.height = SPARK_H;
    a.append(this.name, this.value, this.age, this.spark);
    this.el = a;
    this.drawnAt = null;  // its chart's drawnAt when the sparkline was drawn
    this.stale = false;
  }
}

export class Tiles {
  // `list`: the SensorList (series records); `chartOf(id)`: the Chart a series
  // is drawn on and its index there, or null.
  constructor(doc, list, chartOf) {
    this.el = doc.getElementById("now");
    this.list = list;
    this.chartOf = chartOf;
    this.tiles = new Map();  // id -> Tile
    this.phone = matchMedia("(max-width: 820px)");
  }

  // A tile per charted series, in the list's order (devices by name).
  layout(isSelected) {
    const ids = this.list.orderedIds().filter(isSelected);
    const keep = new Set(ids);
    for (const [id, tile] of this.tiles) {
      if (!keep.has(id)) {
        tile.el.remove();
        this.tiles.delete(id);
      }
    }
    let previous = null;
    for (const id of ids) {
      let tile = this.tiles.get(id);
      if (!tile) {
        tile = new Tile(this.list.get(id));
        tile.el.addEventListener("click", (e) => {
          e.preventDefault();
          const found = this.chartOf(id);
          if (found) found.chart.el.scrollIntoView({ behavior: "smooth", block: "start" });
        });
        this.tiles.set(id, tile);
      }
      const s = this.list.get(id);
      tile.name.textContent = s.info.name || s.info.device + " · " + s.info.sensor;
      tile.el.href = "#charts";
      if (previous ? previous.nextElementSibling !== tile.el : this.el.firstElementChild !== tile.el) {
        if (previous) previous.after(tile.el); else this.el.prepend(tile.el);
      }
      previous = tile.el;
    }
  }

  // Values, ages and sparklines, on a phone; `now` on the page's clock (the
  // list's ages), `serverNow` on the server's (the charts' times).
  refresh(now, serverNow) {
    if (!this.phone.matches) return;
    let colors = null;  // read once a refresh, and only when a sparkline is redrawn
    for (const [id, tile] of this.tiles) {
      const s = this.list.get(id);
      if (!s) continue;
      const text = readingText(s.value, s.info);
      if (tile.value.textContent !== text) tile.value.textContent = text;
      const found = this.chartOf(id);
      let age = formatAge(now - s.seenAt);
      if (s.info.kind === "state" && found) {
        const changed = lastChange(found.chart.table, found.index);
        if (changed !== null) age = formatHeld(serverNow - changed);
      }
      if (tile.age.textContent !== age) tile.age.textContent = age;
      tile.el.classList.toggle("stale", s.info.stale);
      // A sparkline shows what its chart shows: redrawn when the chart was
      // drawn since (or the series went stale or came back), not every refresh.
      if (found && (tile.drawnAt !== found.chart.drawnAt || tile.stale !== s.info.stale)) {
        tile.drawnAt = found.chart.drawnAt;
        tile.stale = s.info.stale;
        if (colors === null) {
          const style = getComputedStyle(this.el);
          colors = { live: style.getPropertyValue("--accent").trim(), stale: style.getPropertyValue("--stale").trim() };
        }
        this.drawSpark(tile, found.chart.table, found.index, s.info.stale ? colors.stale : colors.live,
          s.info.kind === "state");
      }
    }
  }

  // A state's sparkline in steps: it holds until the next reading.
  drawSpark(tile, table, index, color, steps) {
    const ctx = tile.spark.getContext("2d");
    ctx.clearRect(0, 0, SPARK_W, SPARK_H);
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    let last = null;
    for (const p of sparkPoints(table, index, SPARK_W, SPARK_H)) {
      if (p === null) { last = null; continue; }
      if (last === null) ctx.moveTo(p[0], p[1]);
      else {
        if (steps) ctx.lineTo(p[0], last[1]);
        ctx.lineTo(p[0], p[1]);
      }
      last = p;
    }
    if (steps && last !== null) ctx.lineTo(SPARK_W, last[1]);  // it holds still
    ctx.stroke();
  }
}
