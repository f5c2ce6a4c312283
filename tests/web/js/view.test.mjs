// view.js: what the page shows, and the URL that shares it.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Clock, DEFAULT_RANGE, View, globMatch } from "../../../web/static/view.js";

test("an empty URL is the default view: live, last hour, every series", () => {
  const view = View.fromQuery("");
  const { range, zoom, paused, split, selected, group, ranged } = view;
  assert.deepEqual({ range, zoom, paused, split, selected, group, ranged },
    { range: DEFAULT_RANGE, zoom: null, paused: false, split: false, selected: null, group: "quantity", ranged: false });
  assert.equal(view.toQuery(), "?range=1h");
});

test("the URL keeps range, zoom, split and selection, and gives the same view back", () => {
  const view = View.fromQuery("?range=15m&start=100&end=160.5&split=1&series=b%2Ft&series=a%2Ft");
  assert.equal(view.range, "15m");
  assert.deepEqual(view.zoom, { start: 100, end: 160.5 });
  assert.equal(view.split, true);
  assert.deepEqual([...view.selected], ["b/t", "a/t"]);
  const query = view.toQuery();
  assert.equal(query, "?range=15m&start=100.000&end=160.500&split=1&series=a%2Ft&series=b%2Ft");
  const again = View.fromQuery(query);
  assert.equal(again.toQuery(), query);
  assert.deepEqual([again.range, again.zoom, again.split, [...again.selected].sort()],
    [view.range, view.zoom, view.split, [...view.selected].sort()]);
});

test("unknown ranges and backward or half zooms are ignored", () => {
  for (const range of ["2h", "constructor", "__proto__", ""]) {
    assert.equal(View.fromQuery("?range=" + range).range, DEFAULT_RANGE, range);
  }
  assert.equal(View.fromQuery("?start=200&end=100").zoom, null);
  assert.equal(View.fromQuery("?start=200").zoom, null);
  assert.equal(View.fromQuery("?start=x&end=300").zoom, null);
});

test("live, the span ends at the server's now; zoomed, it stays put", () => {
  const view = View.fromQuery("?range=1m");
  assert.deepEqual(view.span(1000), { start: 940, end: 1000, follow: true });
  view.zoomTo(10, 20);
  assert.deepEqual(view.span(1000), { start: 10, end: 20, follow: false });
  view.setRange("6h");
  assert.deepEqual(view.span(100000), { start: 100000 - 21600, end: 100000, follow: true });
});

test("unchecking a series selects the others; checking every one again selects none", () => {
  const view = new View();
  const all = ["a", "b", "c"];
  view.choose("b", false, all);
  assert.deepEqual([...view.selected].sort(), ["a", "c"]);
  assert.equal(view.isSelected("b"), false);
  assert.equal(view.isSelected("a"), true);
  view.choose("b", true, all);
  assert.equal(view.selected, null);
  assert.equal(view.isSelected("new"), true);
});

test("the clock follows the server's time from each frame", () => {
  const clock = new Clock();
  clock.sync(Date.now() / 1000 + 3600);
  assert.ok(Math.abs(clock.now() - (Date.now() / 1000 + 3600)) < 1);
  clock.sync(null);  // a frame without a time changes nothing
  assert.ok(Math.abs(clock.skew - 3600) < 1);
});

test("the server's [page] defaults: its range unless the address has one, its selection, its grouping", () => {
  const page = { range: "24h", series: ["kitchen/*"], group: "device" };
  const hidden = (id) => id === "kitchen/debug";
  const view = View.fromQuery("");
  view.setDefaults(page, hidden);
  assert.equal(view.range, "24h");
  assert.equal(view.group, "device");
  assert.equal(view.isSelected("kitchen/temperature"), true);
  assert.equal(view.isSelected("kitchen/debug"), false);  // hidden: kept, not charted
  assert.equal(view.isSelected("shed/temperature"), false);  // not in [page] series
  const ranged = View.fromQuery("?range=15m");
  ranged.setDefaults(page, hidden);
  assert.equal(ranged.range, "15m");
});

test("choosing a hidden series charts it; unchoosing it again is the default selection", () => {
  const view = View.fromQuery("");
  view.setDefaults({ range: null, series: [], group: "quantity" }, (id) => id === "b");
  const all = ["a", "b"];
  view.choose("b", true, all);
  assert.deepEqual([...view.selected].sort(), ["a", "b"]);
  view.choose("b", false, all);
  assert.equal(view.selected, null);
});

test("globs as the stream's: * any run, ? one character, the rest literal", () => {
  assert.equal(globMatch("kitchen/*", "kitchen/a/b"), true);
  assert.equal(globMatch("k?t/x", "kit/x"), true);
  assert.equal(globMatch("a.b", "axb"), false);
  assert.equal(globMatch("*", ""), true);
});
