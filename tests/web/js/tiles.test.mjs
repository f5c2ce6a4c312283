// tiles.js: a state's last switch, and a sparkline's points, from a bucket table.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Buckets } from "../../../web/static/buckets.js";
import { lastChange, sparkPoints } from "../../../web/static/tiles.js";

const table = () => new Buckets(1, { start: 0, end: 100 }, 100);

test("a state's last switch: the start of its newest run of one value", () => {
  const t = table();
  for (const [s, v] of [[10, 0], [20, 1], [30, 1], [40, 1]]) t.add(0, s, v, v, v);
  assert.equal(lastChange(t, 0), 20);
  t.add(0, 50, 0, 0, 0);
  assert.equal(lastChange(t, 0), 50);
  const steady = table();
  for (const s of [10, 20]) steady.add(0, s, 1, 1, 1);
  assert.equal(lastChange(steady, 0), null);  // no switch in view
});

test("sparkline points span the box, the range's min at the bottom, gaps kept", () => {
  const t = table();
  t.add(0, 0, 1, 1, 1);
  t.add(0, 50, 3, 3, 3);
  t.add(0, 80, 2, 2, 2, true);
  const points = sparkPoints(t, 0, 100, 10);
  assert.deepEqual(points[0], [0, 9]);
  assert.deepEqual(points[1], [50, 1]);
  assert.equal(points[2], null);  // the gap before 80
  assert.deepEqual(points[3], [80, 5]);
  assert.deepEqual(sparkPoints(table(), 0, 100, 10), []);
});
