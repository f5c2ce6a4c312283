// stream.js: the one place each server event is read, and the reconnects.
import assert from "node:assert/strict";
import { test } from "node:test";

import { Stream, backoff, readCatalog, readHello, readPage, readReadings, readStatus, streamUrl }
  from "../../../web/static/stream.js";

// As telemetry/hub.py sends them.
const CATALOG = {
  full: true,
  series: [
    { id: "shed/temperature", device: "shed", sensor: "temperature", unit: "°C", source: "sim",
      last_value: 14.5, last_ts: 1700000000.5, count: 12, stale: false, age: 0.25 },
    { id: "zb0/humidity", device: "zb0", sensor: "humidity", unit: null, source: "mqtt",
      last_value: null, last_ts: 0, count: 0, stale: true },
    { id: "zb0/contact", device: "zb0", sensor: "contact", unit: null, kind: "state", source: "mqtt",
      last_value: 1, last_ts: 1700000000.5, count: 3, stale: false, age: 2, name: "Front door", hide: false,
      chart: "Doors" },
  ],
  removed: ["old/one", 5],
  sources: [{ name: "sim", kind: "sim", state: "connected" }],
  devices: [{ device: "zb0", online: false, since: 1700000000 }, { device: "shed", online: true, since: 1 }],
};

test("hello: the server's boot id", () => {
  assert.deepEqual(readHello({ server: "telemetry", version: "0.1.0", boot: "b1", tick: 100, limits: {} }),
    { boot: "b1" });
  assert.deepEqual(readHello({}), { boot: null });
});

test("catalog: each series in the page's names, and which devices are online", () => {
  assert.deepEqual(readCatalog(CATALOG), {
    series: [
      { id: "shed/temperature", device: "shed", sensor: "temperature", unit: "°C", kind: "number",
        name: null, hide: false, chart: null, stale: false, lastValue: 14.5, age: 0.25 },
      { id: "zb0/humidity", device: "zb0", sensor: "humidity", unit: null, kind: "number",
        name: null, hide: false, chart: null, stale: true, lastValue: null, age: null },
      { id: "zb0/contact", device: "zb0", sensor: "contact", unit: null, kind: "state",
        name: "Front door", hide: false, chart: "Doors", stale: false, lastValue: 1, age: 2 },
    ],
    removed: ["old/one"],
    devices: [{ device: "zb0", online: false }, { device: "shed", online: true }],
  });
});

test("catalog: entries without an id, and fields of the wrong type, are not taken", () => {
  const read = readCatalog({ series: [null, 3, { device: "x" }, { id: "a/b", unit: "", age: "5", stale: 1, kind: 7 }],
    devices: "none" });
  assert.deepEqual(read, {
    series: [{ id: "a/b", device: "", sensor: "", unit: null, kind: "number", name: null, hide: false, chart: null,
      stale: false, lastValue: null, age: null }],
    removed: [],
    devices: [],
  });
  assert.deepEqual(readCatalog(null), { series: [], removed: [], devices: [] });
});

test("page defaults: range, selection globs and grouping; anything else the page's own", () => {
  assert.deepEqual(readPage({ range: "24h", series: ["kitchen/*", 3], group: "device" }),
    { range: "24h", series: ["kitchen/*"], group: "device" });
  assert.deepEqual(readPage(null), { range: null, series: [], group: "quantity" });
  assert.deepEqual(readPage({ group: "nonsense" }).group, "quantity");
});

test("status: device availability; readers' states and shutdown are not shown", () => {
  assert.deepEqual(readStatus({ devices: [{ device: "zb0", online: true, since: 2 }] }),
    { devices: [{ device: "zb0", online: true }] });
  assert.deepEqual(readStatus({ sources: [{ name: "home", state: "down" }] }), { devices: [] });
  assert.deepEqual(readStatus({ server: "shutdown" }), { devices: [] });
});

test("readings: one point per series, a single reading as its own min and max", () => {
  const frame = readReadings({ t: 1700000001.25, series: { "a/t": [1700000001, 20.5], "b/p": [1700000000.9, 7, 3, 11] } });
  assert.deepEqual(frame, {
    t: 1700000001.25,
    points: [
      { id: "a/t", t: 1700000001, v: 20.5, lo: 20.5, hi: 20.5 },
      { id: "b/p", t: 1700000000.9, v: 7, lo: 3, hi: 11 },
    ],
  });
});

test("readings: malformed points are skipped, a missing clock is null", () => {
  const frame = readReadings({ series: { a: "x", b: [], c: [null, 1], d: [5, "NaN"] } });
  assert.deepEqual(frame, { t: null, points: [{ id: "d", t: 5, v: null, lo: null, hi: null }] });
  assert.deepEqual(readReadings("nonsense"), { t: null, points: [] });
});

test("reconnects back off from about a second to at most 30 s, with jitter", () => {
  assert.equal(backoff(1, () => 0), 500);
  assert.equal(backoff(1, () => 1), 1000);
  assert.equal(backoff(3, () => 1), 4000);
  assert.equal(backoff(6, () => 1), 30000);
  assert.equal(backoff(50, () => 1), 30000);
  assert.equal(backoff(50, () => 0), 15000);
});

test("the stream resumes from its cursor, URL-encoded", () => {
  assert.equal(streamUrl(null), "/events");
  assert.equal(streamUrl("b1-42"), "/events?last_id=b1-42");
  assert.equal(streamUrl("a&b"), "/events?last_id=a%26b");
});

// An EventSource that the test drives.
class FakeSource {
  constructor(url) {
    this.url = url;
    this.listeners = new Map();
    this.closed = false;
  }

  addEventListener(name, listener) {
    this.listeners.set(name, [...(this.listeners.get(name) || []), listener]);
  }

  close() {
    this.closed = true;
  }

  emit(name, data, lastEventId = "") {
    const event = { data: data === undefined ? undefined : JSON.stringify(data), lastEventId };
    for (const listener of this.listeners.get(name) || []) listener(event);
  }
}

function opened() {
  const calls = [];
  const sources = [];
  const handlers = {};
  for (const name of ["show", "catalog", "status", "readings", "reload", "lost"]) {
    handlers[name] = (...args) => calls.push([name, ...args]);
  }
  const stream = new Stream(handlers, (url) => {
    const source = new FakeSource(url);
    sources.push(source);
    return source;
  });
  stream.connect();
  return { stream, calls, sources };
}

test("each event reaches its handler as the reader returns it", () => {
  const { calls, sources } = opened();
  const [source] = sources;
  assert.equal(source.url, "/events");
  source.emit("open");
  source.emit("catalog", CATALOG);
  source.emit("status", { devices: [{ device: "shed", online: false }] });
  source.emit("readings", { t: 2, series: { "a/t": [1, 2] } }, "b1-7");
  assert.deepEqual(calls, [
    ["show", "connecting", "connecting"],
    ["show", "live", "live"],
    ["catalog", readCatalog(CATALOG)],
    ["status", { devices: [{ device: "shed", online: false }] }],
    ["readings", { t: 2, points: [{ id: "a/t", t: 1, v: 2, lo: 2, hi: 2 }] }],
  ]);
});

test("after an error the stream reconnects by itself, resuming from the last readings' id", () => {
  const { stream, calls, sources } = opened();
  sources[0].emit("readings", { t: 2, series: {} }, "b1-7");
  assert.equal(stream.resumable, true);
  sources[0].emit("error");
  assert.equal(sources[0].closed, true);
  assert.deepEqual(calls.slice(-2).map((c) => c[0]), ["show", "lost"]);
  assert.match(calls.at(-2)[2], /^reconnecting in 1 s$/);
  assert.equal(sources.length, 1);  // waits: no reconnect storm
  stream.retryNow();                // as when the browser comes back online
  assert.equal(sources.length, 2);
  assert.equal(sources[1].url, "/events?last_id=b1-7");
  assert.deepEqual(calls.at(-1), ["show", "reconnecting", "reconnecting…"]);
  sources[1].emit("open");
  assert.equal(stream.attempt, 0);
  stream.retryNow();                // nothing pending: nothing happens
  assert.equal(sources.length, 2);
});

test("a reset drops the cursor and asks for history again", () => {
  const { stream, calls, sources } = opened();
  sources[0].emit("readings", { t: 2, series: {} }, "b1-7");
  sources[0].emit("reset", { reason: "expired" });
  assert.equal(stream.resumable, false);
  assert.deepEqual(calls.at(-1), ["reload"]);
});

test("a restarted server is refetched when the page had no cursor to resume from", () => {
  const { calls, sources } = opened();
  sources[0].emit("hello", { boot: "b1" });
  sources[0].emit("hello", { boot: "b1" });
  assert.equal(calls.filter((c) => c[0] === "reload").length, 0);
  sources[0].emit("hello", { boot: "b2" });
  assert.equal(calls.filter((c) => c[0] === "reload").length, 1);
});

test("with a cursor, a restart is left to the server's reset", () => {
  const { calls, sources } = opened();
  sources[0].emit("hello", { boot: "b1" });
  sources[0].emit("readings", { t: 2, series: {} }, "b1-7");
  sources[0].emit("hello", { boot: "b2" });
  assert.equal(calls.filter((c) => c[0] === "reload").length, 0);
});

test("after three failed attempts the badge says offline", () => {
  const { stream, calls, sources } = opened();
  for (let i = 0; i < 4; i++) {
    sources.at(-1).emit("error");
    stream.retryNow();
  }
  sources.at(-1).emit("error");
  assert.equal(stream.attempt, 5);
  const shown = calls.filter((c) => c[0] === "show").at(-1);
  assert.equal(shown[1], "offline");
  assert.match(shown[2], /^offline, retrying in \d+ s$/);
  stream.retryNow();
});
