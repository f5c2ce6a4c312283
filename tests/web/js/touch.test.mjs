// touch.js: the span a pinch leaves.
import assert from "node:assert/strict";
import { test } from "node:test";

import { pinchSpan } from "../../../web/static/touch.js";

test("fingers spread twice as far: half the span, the time under them kept", () => {
  assert.deepEqual(pinchSpan(0, 100, 50, 100, 200), [25, 75]);
  assert.deepEqual(pinchSpan(0, 100, 80, 100, 200), [40, 90]);
});

test("fingers brought together: a longer span", () => {
  assert.deepEqual(pinchSpan(0, 100, 50, 200, 100), [-50, 150]);
});

test("fingers at one spot do not divide by zero", () => {
  const [a, b] = pinchSpan(0, 100, 50, 100, 0);
  assert.ok(Number.isFinite(a) && Number.isFinite(b) && b > a);
});
