// buckets.js: the per-pixel bucket table behind each chart.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Buckets } from "../../../web/static/buckets.js";

// 0..100 s over 100 pixels: one-second buckets.
const table = (columns = 1) => new Buckets(columns, { start: 0, end: 100 }, 100);

test("a bucket is the span over the plot's pixels, never fewer than 100", () => {
  assert.equal(table().w, 1);
  assert.equal(new Buckets(1, { start: 0, end: 100 }, 400).w, 0.25);
  assert.equal(new Buckets(1, { start: 0, end: 100 }, 30).w, 1);
});

test("points in one bucket keep the last value and widen its min and max", () => {
  const t = table();
  assert.equal(t.add(0, 10.1, 5, 5, 5), true);
  assert.equal(t.add(0, 10.5, 7, 6, 9), true);
  assert.equal(t.add(0, 10.9, 4, 4, 4), true);
  assert.deepEqual(t.xs, [10]);
  assert.deepEqual(t.cols[0], { v: [4], lo: [4], hi: [9] });
});

test("a row sits at its bucket's start, so the newest point is never right of now", () => {
  const t = table();
  t.add(0, 42.99, 1, 1, 1);
  assert.deepEqual(t.xs, [42]);
});

test("rows stay in time order when an older point arrives late", () => {
  const t = table(2);
  t.add(0, 20.5, 2, 2, 2);
  t.add(1, 10.5, 1, 1, 1);
  t.add(0, 15.5, 3, 3, 3);
  assert.deepEqual(t.xs, [10, 15, 20]);
  assert.deepEqual(t.cols[0].v, [undefined, 3, 2]);
  assert.deepEqual(t.cols[1].v, [1, undefined, undefined]);
});

test("points outside the span are refused", () => {
  const t = table();
  assert.equal(t.add(0, -1.5, 1, 1, 1), false);  // more than a bucket before the start
  assert.equal(t.add(0, 161, 1, 1, 1), false);   // more than a minute after the end
  assert.deepEqual(t.xs, []);
  assert.equal(t.add(0, 159, 1, 1, 1), true);    // a device clock a little ahead still counts
});

test("a null value marks a gap, and a later value in its bucket replaces it", () => {
  const t = table();
  assert.equal(t.add(0, 10, null, null, null), false);
  assert.deepEqual(t.cols[0].v, [null]);
  assert.equal(t.add(0, 10.5, 4, 3, 5), true);
  assert.deepEqual(t.cols[0], { v: [4], lo: [3], hi: [5] });
});

test("a series back from stale breaks its line after its last bucket", () => {
  const t = table();
  t.add(0, 10, 1, 1, 1);
  assert.equal(t.add(0, 15, 2, 2, 2, true), true);
  assert.deepEqual(t.xs, [10, 11, 15]);
  assert.deepEqual(t.cols[0].v, [1, null, 2]);
});

test("no break without a flag, nor when the next point is in the next bucket", () => {
  const t = table();
  t.add(0, 10, 1, 1, 1);
  t.add(0, 15, 2, 2, 2);
  t.add(0, 16, 3, 3, 3, true);
  assert.deepEqual(t.cols[0].v, [1, 2, 3]);
});

test("following live, rows that left the span are dropped", () => {
  const t = table();
  t.add(0, 10, 1, 1, 1);
  t.add(0, 50, 2, 2, 2);
  t.follow({ start: 30, end: 130 });
  assert.deepEqual([t.start, t.end], [30, 130]);
  assert.deepEqual(t.xs, [50]);
  assert.deepEqual(t.cols[0].v, [2]);
  assert.deepEqual(t.ks, [50]);
});

test("what is on screen: values inside the span, and the points standing for several readings", () => {
  const t = table(2);
  t.add(0, -0.5, 9, 9, 9);       // its bucket starts before the span: kept, not shown
  t.add(0, 20, 1, 0, 2);
  t.add(0, 30, 1, 1, 1);
  t.add(1, 25, null, null, null);
  assert.deepEqual(t.shown(0), [1, 3]);
  assert.deepEqual(t.summary(0), { points: 2, first: 20, last: 30, banded: 1 });
  assert.deepEqual(t.summary(1), { points: 0, first: null, last: null, banded: 0 });
});

test("uPlot's data: x, then each series' value (not its min and max); reset empties it", () => {
  const t = table(2);
  t.add(1, 10, 5, 4, 6);
  assert.equal(t.data.length, 3);
  assert.equal(t.data[0], t.xs);
  assert.deepEqual(t.data.slice(1), [[undefined], [5]]);
  assert.deepEqual(t.cols[1], { v: [5], lo: [4], hi: [6] });
  t.reset({ start: 100, end: 200 }, 200);
  assert.deepEqual(t.data, [[], [], []]);
  assert.equal(t.w, 0.5);
  assert.equal(t.add(1, 10, 5, 5, 5), false);  // the old span is gone
});

test("a second series' history finds the rows the first made, and makes the missing ones in order", () => {
  const t = table(2);
  for (const x of [10, 20, 30, 40]) t.add(0, x + 0.5, x, x, x);
  for (const x of [5, 20, 35, 40]) t.add(1, x + 0.5, -x, -x, -x);
  assert.deepEqual(t.xs, [5, 10, 20, 30, 35, 40]);
  assert.deepEqual(t.cols[0].v, [undefined, 10, 20, 30, undefined, 40]);
  assert.deepEqual(t.cols[1].v, [-5, undefined, -20, undefined, -35, -40]);
});

test("each series' widest bucket is known, for the bands to skip a series with none", () => {
  const t = table(2);
  t.add(0, 10.2, 5, 5, 5);
  t.add(0, 10.7, 6, 6, 6);  // the bucket spans 5..6
  t.add(1, 12.5, 1, 1, 1);
  assert.deepEqual(t.spread, [1, 0]);
  t.reset({ start: 0, end: 100 }, 100);
  assert.deepEqual(t.spread, [0, 0]);
});

test("rows that left the span go in batches, not one at a time", () => {
  const t = table();
  for (let x = 0; x < 100; x++) t.add(0, x + 0.5, x, x, x);
  t.follow({ start: 2.5, end: 102.5 });  // two rows are out: kept for now
  assert.equal(t.xs.length, 100);
  t.follow({ start: 5.5, end: 105.5 });  // five: a batch
  assert.equal(t.xs[0], 5);
});

test("a value with no line to draw to it is lone: alone in its column, or between gaps", () => {
  const t = table(2);
  t.add(0, 50, 1, 1, 1);
  assert.deepEqual(t.lone(0), [0]);  // one point in view
  assert.deepEqual(t.lone(1), []);   // nothing at all
  t.add(1, 40, 2, 2, 2);
  t.add(1, 60, 3, 3, 3);             // rows apart, no gap between: one line
  assert.deepEqual(t.lone(1), []);
  assert.deepEqual(t.lone(0), [1]);  // still alone, though other rows came in
  t.add(0, 70, 4, 4, 4, true);       // back after a gap: both ends alone
  assert.deepEqual(t.lone(0), [1, 4]);  // rows: 40, 50, the gap at 51, 60, 70
  t.add(0, 72, 5, 5, 5);             // joined to the one before it
  assert.deepEqual(t.lone(0), [1]);
});

test("statistics over the window: min, max, the buckets' mean, a counter's use across a reset", () => {
  const t = table(2);
  t.add(0, 10, 5, 4, 6);
  t.add(0, 20, 7, 7, 9);
  t.add(0, 30, 6, 2, 6);
  assert.deepEqual(t.stats(0), { min: 2, max: 9, mean: 6, increase: 2, points: 3 });
  assert.equal(t.stats(1), null);
  // An energy meter: 100 -> 103, reset, 0.5 -> 2; a reading a hair lower is no use.
  for (const [s, v] of [[10, 100], [20, 103], [30, 102.999], [40, 0.5], [50, 2]]) t.add(1, s, v, v, v);
  assert.equal(t.stats(1).increase, 3 + 0.5 + 1.5);
  // Only what is in the window counts.
  t.follow({ start: 35, end: 135 });
  assert.deepEqual(t.stats(1), { min: 0.5, max: 2, mean: 1.25, increase: 1.5, points: 2 });
});
