// The min-max band of a series, as uPlot's series `paths`: a vertical stroke a
// pixel column wide in each column of the plot, from the highest max to the
// lowest min of the buckets in it, where that spans at least BAND_MIN_PX.
//
// Why strokes, not uPlot's bands or a polygon: uPlot's bands fill one
// series' path clipped by another's, and a polygon along the maxima and back
// along the minima is filled with anti-aliased edges; either cost the browser
// several times the rest of the chart to rasterise (a full hour of buckets,
// 20 series, every redraw).  Columns a pixel wide are hairlines, the cheapest
// thing a canvas draws, and at the buckets' own width (a pixel) the two look
// the same.  A band narrower than BAND_MIN_PX lies under the line anyway.
//
// No DOM: the `u` it is given is read for the plot's box and scales only.

export const BAND_MIN_PX = 2;

// What a series' `paths` returns for nothing to stroke or fill.
export const NO_PATH = Object.freeze({ stroke: null, fill: null, clip: null, band: null, gaps: null, flags: 0 });

// `paths` for the band of series `index` of `table` (buckets.js): uPlot calls
// it with the rows i0..i1 to draw, and strokes what it returns with the
// series' stroke at its width (1: a device pixel per CSS pixel).
export function bandPaths(table, index) {
  return (u, seriesIdx, i0, i1) => ({ ...NO_PATH, stroke: columns(u, table, index, i0, i1) });
}

// The column strokes, in canvas pixels, or null for none.
export function columns(u, table, index, i0, i1, ratio = globalThis.devicePixelRatio || 1) {
  const { lo, hi } = table.cols[index];
  const xs = table.xs;
  const box = u.bbox;
  const sx = u.scales.x, sy = u.scales.y;
  if (!(sx.max > sx.min) || !(sy.max > sy.min)) return null;
  const kx = box.width / (sx.max - sx.min);
  const ky = box.height / (sy.max - sy.min);
  const step = Math.max(1, Math.round(ratio));  // a column: a CSS pixel, in canvas pixels
  const least = BAND_MIN_PX * ratio;
  const bottom = box.top + box.height;
  let path = null;
  let col = NaN, top = Infinity, low = -Infinity;  // the column being gathered, its y extent
  const emit = () => {
    if (low - top < least) return;
    path = path || new Path2D();
    const x = col * step;
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
