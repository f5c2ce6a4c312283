// bands.js: the min-max bands as strokes per pixel column, and the y range that holds them.
import assert from "node:assert/strict";
import { test } from "node:test";

import { bandRange, columns, drawBands } from "../../../web/static/bands.js";
import { Buckets } from "../../../web/static/buckets.js";

// What the canvas is asked to draw (node has no Path2D).
globalThis.Path2D = class {
  constructor() { this.ops = []; }
  moveTo(x, y) { this.ops.push(["M", x, y]); }
  lineTo(x, y) { this.ops.push(["L", x, y]); }
};

// A plot 100 canvas pixels wide from x = 10, 100 tall from y = 0, showing
// t 0..100 s and values 0..100: a pixel a second, a pixel a unit.
// Columns are stroked through their pixel's middle.
const u = { bbox: { left: 10, top: 0, width: 100, height: 100 }, scales: { x: { min: 0, max: 100 }, y: { min: 0, max: 100 } } };
const table = () => new Buckets(1, { start: 0, end: 100 }, 100);
const draw = (t, ratio = 1) => columns(u, t, 0, 0, t.xs.length - 1, ratio);

test("a bucket that holds several readings is a stroke in its column from max down to min", () => {
  const t = table();
  t.add(0, 20.5, 50, 40, 60);
  assert.deepEqual(draw(t).ops, [["M", 30.5, 40], ["L", 30.5, 60]]);
});

test("buckets in one pixel column are one stroke over all of them", () => {
  const t = new Buckets(1, { start: 0, end: 100 }, 400);  // four buckets a pixel
  t.add(0, 20.1, 50, 45, 55);
  t.add(0, 20.6, 50, 30, 52);
  assert.deepEqual(draw(t).ops, [["M", 30.5, 45], ["L", 30.5, 70]]);
});

test("nothing is drawn where the band is narrower than the line would hide", () => {
  const t = table();
  t.add(0, 20.5, 50, 50, 50);  // one reading
  t.add(0, 21.5, 50, 49.5, 50.5);  // a pixel
  assert.equal(draw(t), null);
});

test("a column is as wide as a CSS pixel: device pixels on a dense screen", () => {
  const t = table();
  t.add(0, 20.5, 50, 40, 60);
  assert.deepEqual(draw(t, 2).ops, [["M", 31, 40], ["L", 31, 60]]);  // column 15 of 2-px columns
  t.add(0, 21.5, 50, 49.5, 50.5);  // a canvas pixel: half a CSS pixel, under the line
  assert.equal(draw(t, 2).ops.length, 2);
});

test("buckets outside the plot and rows without a band are skipped", () => {
  const t = new Buckets(1, { start: -50, end: 150 }, 200);
  t.add(0, -20.5, 50, 0, 100);
  t.add(0, 120.5, 50, 0, 100);
  t.add(0, 40.5, null, null, null);  // a gap
  t.add(0, 60.5, 50, 45, 55);
  assert.deepEqual(draw(t).ops, [["M", 70.5, 45], ["L", 70.5, 55]]);
});

// uPlot's own range for values: padded, as uPlot.rangeNum(min, max, 0.1, true) pads.
const fakeUPlot = { rangeNum: (min, max) => [min - 1, max + 1] };

test("the y range holds the bands on the plot, not those off it", () => {
  const t = new Buckets(2, { start: -50, end: 150 }, 200);
  t.add(0, 50.5, 20, 10, 30);
  t.add(1, 60.5, 25, 24, 80);
  t.add(1, 140.5, 0, -500, 500);  // off the plot
  t.add(0, -0.5, 0, -500, 500);
  t.add(0, 70.5, null, null, null);  // a gap
  assert.deepEqual(bandRange(t, fakeUPlot)(u, 20, 25), [9, 81]);
});

test("with nothing on the plot the y range is uPlot's empty one", () => {
  assert.deepEqual(bandRange(table(), fakeUPlot)(u, null, null), [null, null]);
});

test("the bands are stroked in their series' colours inside the plot's box", () => {
  const calls = [];
  const ctx = new Proxy({}, {
    get: (_, name) => (...args) => calls.push([name, ...args]),
    set: (_, name, value) => { calls.push([name, value]); return true; },
  });
  const t = new Buckets(2, { start: 0, end: 100 }, 100);
  t.add(0, 20.5, 50, 40, 60);
  t.add(1, 30.5, 50, 50, 50);  // no band
  drawBands({ ...u, ctx }, t, [() => "#aaa", () => "#bbb"], 1);
  const names = calls.map((c) => c[0]);
  assert.deepEqual(names, ["save", "beginPath", "rect", "clip", "lineWidth", "strokeStyle", "stroke", "restore"]);
  assert.deepEqual(calls[2], ["rect", 10, 0, 100, 100]);
  assert.deepEqual(calls[5], ["strokeStyle", "#aaa"]);
});

test("a flat line's range is within 5 % of it, not uPlot's 0 to a round top", () => {
  const table = new Buckets(1, { start: 0, end: 100 }, 100);
  for (let t = 10; t < 90; t += 10) table.add(0, t, 97, 97, 97);
  const u = { scales: { x: { min: 0, max: 100 } } };
  const range = bandRange(table, { rangeNum: () => [0, 150] })(u, 97, 97);
  assert.deepEqual(range.map((x) => Math.round(x * 100) / 100), [92.15, 101.85]);
});
