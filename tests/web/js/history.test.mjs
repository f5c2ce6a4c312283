// history.js: the /api/history queries and the one place its answer is read.
import assert from "node:assert/strict";
import { test } from "node:test";

import { MAX_POINTS, MAX_QUERY_SERIES, historyPoints, historyQueries, readHistory } from "../../../web/static/history.js";

test("four points a pixel, within the server's limits", () => {
  assert.equal(historyPoints(300), 1200);
  assert.equal(historyPoints(1), 8);
  assert.equal(historyPoints(100000), MAX_POINTS);
});

test("a live span asks from its start up to now; a zoomed one names its end", () => {
  assert.deepEqual(historyQueries(["a/t", "b t"], { start: 100.25, end: 160, follow: true }, 800),
    ["series=a%2Ft&series=b+t&start=100.250&points=800"]);
  assert.deepEqual(historyQueries(["a"], { start: 1, end: 2, follow: false }, 8),
    ["series=a&start=1.000&end=2.000&points=8"]);
});

test("more series than one query may name are asked in several", () => {
  const ids = Array.from({ length: MAX_QUERY_SERIES * 2 + 1 }, (_, i) => "s" + i);
  const queries = historyQueries(ids, { start: 0, end: 1, follow: true }, 8);
  assert.equal(queries.length, 3);
  const asked = queries.flatMap((q) => new URLSearchParams(q).getAll("series"));
  assert.deepEqual(asked, ids);
});

test("the answer: times and values per series, gaps as null", () => {
  const body = { start: 0, end: 10, points: 8, series: {
    "a/t": { unit: "°C", t: [1, 2, 3], v: [20, null, 21], from: "raw" },
  } };
  assert.deepEqual(readHistory(body), [{ id: "a/t", t: [1, 2, 3], v: [20, null, 21] }]);
});

test("a malformed answer yields what it can", () => {
  assert.deepEqual(readHistory(null), []);
  assert.deepEqual(readHistory({ series: [] }), []);
  assert.deepEqual(readHistory({ series: { a: null, b: { t: [1, "x", 3], v: [1, 2] } } }),
    [{ id: "b", t: [1], v: [1] }]);
});
