// format.js: the text people read.
import assert from "node:assert/strict";
import { test } from "node:test";

import { csvField, csvLine, exportName, formatAge, formatReading, formatValue, readingText, statsText, timeLabels,
  unitLabel }
  from "../../../web/static/format.js";

test("values are rounded to three decimals, tiny and huge ones in exponent form", () => {
  assert.equal(formatValue(21.23456), "21.235");
  assert.equal(formatValue(-3), "-3");
  assert.equal(formatValue(0), "0");
  assert.equal(formatValue(0.001234), "1.234e-3");
  assert.equal(formatValue(12345678), "1.235e+7");
});

test("a missing or non-finite value is a dash", () => {
  for (const v of [null, undefined, NaN, Infinity, "7"]) assert.equal(formatValue(v), "–");
});

test("ages read now, seconds, minutes, hours, days", () => {
  assert.equal(formatAge(1.5), "now");
  assert.equal(formatAge(42.4), "42 s ago");
  assert.equal(formatAge(600), "10 min ago");
  assert.equal(formatAge(7200), "2 h ago");
  assert.equal(formatAge(3 * 86400), "3 d ago");
  assert.equal(formatAge(NaN), "");  // never seen
});

test("a series without a unit says so", () => {
  assert.equal(unitLabel("°C"), "°C");
  assert.equal(unitLabel(null), "no unit");
});

test("time labels are one line each, with seconds only when ticks are seconds apart", () => {
  const labels = timeLabels(null, [0, 10], 0, 70, 10);
  assert.equal(labels.length, 2);
  assert.ok(labels.every((l) => !l.includes("\n")));
  assert.ok(timeLabels(null, [0], 0, 70, 10)[0].length > timeLabels(null, [0], 0, 70, 600)[0].length);
});

test("csv fields a spreadsheet would run get a leading quote", () => {
  for (const text of ["=cmd", "+1", "-x", "@sum", "\tx"]) assert.equal(csvField(text), "'" + text);
  assert.equal(csvField("\rx"), "\"'\rx\"");
  assert.equal(csvField(-2.5), "-2.5");  // numbers are numbers
});

test("csv fields with commas, quotes or newlines are quoted", () => {
  assert.equal(csvField('a,"b"'), '"a,""b"""');
  assert.equal(csvField("two\nlines"), '"two\nlines"');
  assert.equal(csvLine(["a", 1, "b,c"]), 'a,1,"b,c"');
});

test("the export is named after the UTC time", () => {
  assert.equal(exportName(new Date(Date.UTC(2026, 0, 2, 3, 4, 5))), "telemetry-20260102-030405.csv");
});

test("a state reads on and off, without a unit; a number keeps its unit", () => {
  const state = { kind: "state", unit: null };
  assert.equal(formatReading(1, state), "on");
  assert.equal(formatReading(0, state), "off");
  assert.equal(formatReading(null, state), "–");
  assert.equal(readingText(1, state), "on");
  assert.equal(readingText(21.5, { kind: "number", unit: "°C" }), "21.5 °C");
  assert.equal(readingText(3, { kind: "number", unit: null }), "3");
});

test("statistics in words: a meter's use, else min, max and mean; a state's share of on", () => {
  const stats = { min: 1, max: 3, mean: 2, increase: 3.25, points: 9 };
  assert.equal(statsText(stats, { kind: "number", unit: "kWh" }), "used 3.25 kWh");
  assert.equal(statsText(stats, { kind: "number", unit: "°C" }), "min 1 · max 3 · mean 2 °C");
  assert.equal(statsText({ ...stats, mean: 0.25 }, { kind: "state", unit: null }), "on 25% of the range");
  assert.equal(statsText(null, { kind: "number", unit: null }), "nothing in range");
});
