// The bucket table behind one chart: a row per pixel-wide time bucket, and per
// series the last value in the bucket with its min and max (M4 without the
// first: the line is drawn through the last values, the band spans min to max).
//
// History (`/api/history`, downsampled to the chart's width) and live points
// fill the same buckets, so a chart costs the same whatever the sensors' rate,
// and nothing grows: `trim` drops the rows that left the window.  `data` is
// laid out as uPlot takes it ([x, then each series' value]; the min and max
// are drawn by bands.js) but this module knows nothing of uPlot or the DOM;
// tests/web/js/buckets.test.mjs runs it in node.
//
// Cells are `undefined` where nothing arrived and `null` where the line must
// break (a gap in history, or a series that went stale).

// The first row at or after x = `t`, by bisection (`xs` ascending).
export function firstRow(xs, t) {
  let a = 0, b = xs.length;
  while (a < b) {
    const m = (a + b) >> 1;
    if (xs[m] < t) a = m + 1; else b = m;
  }
  return a;
}

export class Buckets {
  constructor(columns, span, pixels) {
    this.columns = columns;
    this.reset(span, pixels);
  }

  // Empty, for `span` ({start, end}) across `pixels` (at least 100 buckets).
  reset(span, pixels) {
    this.start = span.start;
    this.end = span.end;
    this.w = Math.max(0.001, (span.end - span.start) / Math.max(100, pixels));
    this.ks = [];  // bucket numbers, ascending: bucket k holds [k w, (k + 1) w)
    this.xs = [];  // each row's x: its bucket's start, so its newest point is never right of "now"
    this.cols = [];
    for (let i = 0; i < this.columns; i++) this.cols.push({ v: [], lo: [], hi: [] });
    this.lastK = this.cols.map(() => -Infinity);  // per series: its newest bucket
    this.spread = this.cols.map(() => 0);  // per series: its widest bucket (max - min) since the reset
    this.data = [this.xs];
    for (const c of this.cols) this.data.push(c.v);
  }

  // Following live: the window moves on, the rows that left it go.
  follow(span) {
    this.start = span.start;
    this.end = span.end;
    this.trim(span.start);
  }

  // The row of bucket `k`, inserted in order when it is new.  Live points
  // land in the newest row; a history answer's series each walk the table
  // from its oldest row: bisect.
  row(k) {
    const ks = this.ks;
    const n = ks.length;
    if (n && ks[n - 1] === k) return n - 1;
    let a = 0, b = n;
    while (a < b) {
      const m = (a + b) >> 1;
      if (ks[m] < k) a = m + 1; else b = m;
    }
    if (a < n && ks[a] === k) return a;
    const at = a;
    const x = k * this.w;
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

  // A point of series `index` at time `t`: value `v` (null: a gap), min `lo`,
  // max `hi`.  `gapBefore`: break the line between this point and the series'
  // previous one when buckets lie between them.  True when a value was stored
  // (the chart needs a redraw, the gap is drawn); false when the point lies
  // outside the window or only marks a gap.
  add(index, t, v, lo, hi, gapBefore = false) {
    if (t < this.start - this.w || t > this.end + 60) return false;
    const k = Math.floor(t / this.w);
    const c = this.cols[index];
    const last = this.lastK[index];
    if (gapBefore && v !== null && k > last + 1 && Number.isFinite(last)) {
      const g = this.row(last + 1);
      if (c.v[g] === undefined) c.v[g] = null;
    }
    const i = this.row(k);
    if (v === null) {
      if (c.v[i] === undefined) c.v[i] = null;
      return false;
    }
    if (c.v[i] === undefined || c.v[i] === null) {
      c.v[i] = v; c.lo[i] = lo; c.hi[i] = hi;
    } else {
      c.v[i] = v;
      if (lo < c.lo[i]) c.lo[i] = lo;
      if (hi > c.hi[i]) c.hi[i] = hi;
    }
    if (c.hi[i] - c.lo[i] > this.spread[index]) this.spread[index] = c.hi[i] - c.lo[i];
    if (k > last) this.lastK[index] = k;
    return true;
  }

  // The rows that left the window go in batches of a thirtieth of the table:
  // dropping the first row costs a move of every other one in each column, and
  // a chart redrawn every frame loses a row about every other frame.
  trim(start) {
    let n = 0;
    while (n < this.xs.length && this.xs[n] < start - this.w) n += 1;
    if (n === 0 || n < this.xs.length / 32) return;
    this.ks.splice(0, n);
    this.xs.splice(0, n);
    for (const c of this.cols) { c.v.splice(0, n); c.lo.splice(0, n); c.hi.splice(0, n); }
  }

  // The rows of series `index` holding a value with no line to draw to it:
  // the values nearest it on both sides are absent or across a gap (null).
  // Drawn as dots (chart.js), or a sensor with one point in view would not show.
  lone(index) {
    const v = this.cols[index].v;
    const rows = [];
    let joinable = false;  // a value since the last gap: the next value joins it
    let alone = -1;        // the row of a value nothing joined yet
    for (let r = 0; r < v.length; r++) {
      const x = v[r];
      if (x === undefined) continue;
      if (x === null) {
        if (alone >= 0) rows.push(alone);
        alone = -1;
        joinable = false;
      } else if (joinable) {
        alone = -1;
      } else {
        alone = r;
        joinable = true;
      }
    }
    if (alone >= 0) rows.push(alone);
    return rows;
  }

  // Series `index` over the window: the lowest min and highest max of its
  // buckets, the mean of their values (one a pixel: a time-weighted mean at
  // the chart's resolution), and its increase as a counter (an energy meter's
  // use): the sum of its rises, a fall to below half counted as a reset to
  // zero (what follows it was used since), a smaller fall as no use.  Null
  // with nothing in the window.
  stats(index) {
    const c = this.cols[index];
    let min = Infinity, max = -Infinity, sum = 0, n = 0, increase = 0, prev = null;
    for (let r = firstRow(this.xs, this.start); r < this.xs.length && this.xs[r] <= this.end; r++) {
      const v = c.v[r];
      if (typeof v !== "number") continue;
      if (c.lo[r] < min) min = c.lo[r];
      if (c.hi[r] > max) max = c.hi[r];
      sum += v;
      n += 1;
      if (prev !== null) {
        if (v >= prev) increase += v - prev;
        else if (v < prev / 2) increase += Math.max(0, v);
      }
      prev = v;
    }
    return n ? { min, max, mean: sum / n, increase, points: n } : null;
  }

  // The rows of series `index` that are on screen: a value, inside the window.
  // What the export writes and the snapshot counts.
  shown(index) {
    const c = this.cols[index];
    const rows = [];
    for (let r = 0; r < this.xs.length; r++) {
      const x = this.xs[r];
      if (typeof c.v[r] === "number" && x >= this.start && x <= this.end) rows.push(r);
    }
    return rows;
  }

  // Series `index` on screen: how many points, the first and last x, and how
  // many stand for several readings (drawn with a band).
  summary(index) {
    const c = this.cols[index];
    const rows = this.shown(index);
    return {
      points: rows.length,
      first: rows.length ? this.xs[rows[0]] : null,
      last: rows.length ? this.xs[rows[rows.length - 1]] : null,
      banded: rows.filter((r) => c.hi[r] > c.lo[r]).length,
    };
  }
}
