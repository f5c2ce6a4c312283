// The min-max bands of a chart's series, drawn under uPlot's lines from a
// bucket table (buckets.js): a vertical stroke a pixel column wide in each
// column of the plot, from the highest max to the lowest min of the buckets
// in it, where that spans at least BAND_MIN_PX.  The max and min are not uPlot
// series (uPlot would do for each of them every redraw what it does for a
// line); the y scale's range takes them in (`bandRange`).
//
// Why strokes, not uPlot's bands or a polygon: uPlot's bands fill one
// series' path clipped by another's, and a polygon along the maxima and back
// along the minima is filled with anti-aliased edges; either cost the browser
// several times the rest of the chart to rasterise (a full hour of buckets,
// 20 series, every redraw).  Columns a pixel wide are hairlines, the cheapest
// thing a canvas draws, and at the buckets' own width (a pixel) the two look
// the same.  A band narrower than BAND_MIN_PX lies under the line anyway.
//
// No DOM: the `u` it is given is read for the plot's box, scales and canvas
// context only; tests/web/js/bands.test.mjs runs it in node.

import { firstRow } from "./buckets.js";

export const BAND_MIN_PX = 2;

// The first and last rows on the plot (x within the x scale).
function inView(u, xs) {
  return [firstRow(xs, u.scales.x.min), firstRow(xs, u.scales.x.max + 1e-9) - 1];
}

// uPlot's `scales.y.range`: its own (the lines' values, padded) widened to
// every band on the plot, which uPlot does not see; with `on`, only the bands
// of the series `on(index)` says are on that scale (a chart with two units).
export function bandRange(table, uPlot, on = () => true) {
  return (u, lowest, highest) => {
    let min = lowest ?? Infinity, max = highest ?? -Infinity;
    const [i0, i1] = inView(u, table.xs);
    for (const [index, { lo, hi }] of table.cols.entries()) {
      if (!on(index)) continue;
      for (let r = i0; r <= i1; r++) {
        const l = lo[r], h = hi[r];  // undefined, or null in a gap: nothing
        if (l != null && l < min) min = l;
        if (h != null && h > max) max = h;
      }
    }
    if (!(min <= max)) return [null, null];
    // A flat line (a battery at 97 %) sits mid-chart within ±5 % of itself;
    // uPlot's own range for one value reaches to 0 and a rounder top (0-150).
    if (min === max) {
      const d = Math.abs(min) * 0.05 || 1;
      return [min - d, max + d];
    }
    return uPlot.rangeNum(min, max, 0.1, true);
  };
}

// uPlot's `drawAxes` hook: every band of `table`, under the lines;
// `strokes[i]()` is series i's colour; `scales[i]` its scale's key (default y).
export function drawBands(u, table, strokes, ratio = globalThis.devicePixelRatio || 1, scales = []) {
  const [i0, i1] = inView(u, table.xs);
  if (i1 < i0) return;
  const ctx = u.ctx;
  const box = u.bbox;
  ctx.save();
  ctx.beginPath();
  ctx.rect(box.left, box.top, box.width, box.height);
  ctx.clip();
  ctx.lineWidth = Math.max(1, Math.round(ratio));
  for (let i = 0; i < table.cols.length; i++) {
    const path = columns(u, table, i, i0, i1, ratio, scales[i] || "y");
    if (path === null) continue;
    ctx.strokeStyle = strokes[i]();
    ctx.stroke(path);
  }
  ctx.restore();
}

// The column strokes of series `index` over rows i0..i1, in canvas pixels, or
// null for none; its values on scale `scale`.
export function columns(u, table, index, i0, i1, ratio = globalThis.devicePixelRatio || 1, scale = "y") {
  const { lo, hi } = table.cols[index];
  const xs = table.xs;
  const box = u.bbox;
  const sx = u.scales.x, sy = u.scales[scale];
  if (!(sx.max > sx.min) || !(sy.max > sy.min)) return null;
  const kx = box.width / (sx.max - sx.min);
  const ky = box.height / (sy.max - sy.min);
  const step = Math.max(1, Math.round(ratio));  // a column: a CSS pixel, in canvas pixels
  const least = BAND_MIN_PX * ratio;
  if (table.spread[index] * ky < least) return null;  // no bucket of it is that wide
  const bottom = box.top + box.height;
  let path = null;
  let col = NaN, top = Infinity, low = -Infinity;  // the column being gathered, its y extent
  const emit = () => {
    if (low - top < least) return;
    path = path || new Path2D();
    const x = col * step + step / 2;
    path.moveTo(x, Math.max(box.top, top));
    path.lineTo(x, Math.min(bottom, low));
  };
  for (let r = i0; r <= i1; r++) {
    const h = hi[r], l = lo[r];
    if (typeof h !== "number" || typeof l !== "number") continue;
    const x = box.left + (xs[r] - sx.min) * kx;
    if (x < box.left || x > box.left + box.width) continue;
    const c = Math.floor(x / step);
    if (c !== col) {
      emit();
      col = c;
      top = Infinity;
      low = -Infinity;
    }
    top = Math.min(top, bottom - (h - sy.min) * ky);
    low = Math.max(low, bottom - (l - sy.min) * ky);
  }
  emit();
  return path;
}
