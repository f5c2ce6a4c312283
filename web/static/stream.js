// The live stream: one EventSource on /events, its reconnects, and the one
// place that reads each event the server sends (telemetry/hub.py builds them):
//
//   hello     {server, version, boot, tick, limits}       -> readHello
//   catalog   {full, series: [info], removed?, sources, devices} -> readCatalog
//   readings  {t, series: {id: [ts, v] | [ts, v, lo, hi]}} -> readReadings (carries the id)
//   status    {sources?, devices?, server?: "shutdown"}    -> readStatus
//   reset     {reason}                                     -> (no field is needed)
//   alert     {full, alerts: [{rule, series, state, since, value}]} -> readAlert
//
// Each reader takes the parsed JSON and returns plain values in the page's own
// names; nothing else in the page knows the wire's field names.  The page shows
// neither readers' health (`sources`) nor the server's version, tick or limits,
// and every `reset` reason means the same: the cursor is gone, refetch.
// Readers and `backoff` are pure, and a Stream opens its EventSource through
// the `open` it is given: tests/web/js/stream.test.mjs runs them in node.

const RECONNECT_MAX = 30000;  // ms

const isObject = (x) => typeof x === "object" && x !== null && !Array.isArray(x);
const listOf = (x) => (Array.isArray(x) ? x : []);
const text = (x) => (typeof x === "string" ? x : String(x ?? ""));
const number = (x) => (typeof x === "number" && Number.isFinite(x) ? x : null);

export function readHello(data) {
  return { boot: isObject(data) && typeof data.boot === "string" ? data.boot : null };
}

// A series as the page keeps it: {id, device, sensor, unit (null: none), kind
// ("state": on/off readings, 1 and 0; else "number"), name (a display name
// from `[[series]]`, or null), hide (not charted unless chosen), chart (a
// group's name: its series share a chart, or null), stale, lastValue (null:
// none yet), age (seconds since its last reading, or null)}.
function readInfo(s) {
  return {
    id: s.id,
    device: text(s.device),
    sensor: text(s.sensor),
    unit: typeof s.unit === "string" && s.unit ? s.unit : null,
    kind: s.kind === "state" ? "state" : "number",
    name: typeof s.name === "string" && s.name ? s.name : null,
    hide: s.hide === true,
    chart: typeof s.chart === "string" && s.chart ? s.chart : null,
    stale: s.stale === true,
    lastValue: number(s.last_value),
    age: number(s.age),
  };
}

// Whether each device is online ({device, online}), in catalog and status alike.
function readDevices(devices) {
  return listOf(devices)
    .filter((d) => isObject(d) && typeof d.device === "string")
    .map((d) => ({ device: d.device, online: d.online !== false }));
}

export function readCatalog(data) {
  const body = isObject(data) ? data : {};
  return {
    series: listOf(body.series).filter((s) => isObject(s) && typeof s.id === "string").map(readInfo),
    removed: listOf(body.removed).filter((id) => typeof id === "string"),
    devices: readDevices(body.devices),
  };
}

// `/api/page`: the server's defaults for the page ([page] in its config):
// {range (or null), series: [glob] (empty: every series not hidden), group}.
export function readPage(data) {
  const body = isObject(data) ? data : {};
  return {
    range: typeof body.range === "string" ? body.range : null,
    series: listOf(body.series).filter((g) => typeof g === "string"),
    group: ["quantity", "device", "none"].includes(body.group) ? body.group : "quantity",
  };
}

// Alert states that changed (`full`: every state not ok, replacing the set):
// [{rule, series, state (ok, pending, firing, resolved), since (seconds), value}].
export function readAlert(data) {
  const body = isObject(data) ? data : {};
  return {
    full: body.full === true,
    alerts: listOf(body.alerts)
      .filter((a) => isObject(a) && typeof a.rule === "string" && typeof a.series === "string")
      .map((a) => ({ rule: a.rule, series: a.series, state: text(a.state), since: number(a.since) ?? 0, value: number(a.value) })),
  };
}

export function readStatus(data) {
  return { devices: readDevices(isObject(data) ? data.devices : null) };
}

// {t: the server's clock (or null), points: [{id, t, v, lo, hi}]}; a point
// with one reading has its value as min and max.
export function readReadings(data) {
  const body = isObject(data) ? data : {};
  const points = [];
  if (isObject(body.series)) {
    for (const [id, p] of Object.entries(body.series)) {
      if (!Array.isArray(p) || typeof p[0] !== "number") continue;
      const v = typeof p[1] === "number" ? p[1] : null;
      const banded = p.length >= 4 && typeof p[2] === "number" && typeof p[3] === "number";
      points.push({ id, t: p[0], v, lo: banded ? p[2] : v, hi: banded ? p[3] : v });
    }
  }
  return { t: typeof body.t === "number" ? body.t : null, points };
}

// Milliseconds before reconnect attempt `attempt` (1, 2, ...): 1 s doubling to
// 30 s, each drawn between half and all of it so that tabs spread out.
export function backoff(attempt, random = Math.random) {
  return Math.min(RECONNECT_MAX, 1000 * 2 ** Math.min(attempt - 1, 5)) * (0.5 + random() / 2);
}

export function streamUrl(lastId) {
  return lastId ? "/events?last_id=" + encodeURIComponent(lastId) : "/events";
}

// `handlers`: show(kind, text) for the status badge ("connecting",
// "reconnecting", "live", "offline"); catalog(read), status(read),
// readings(read) with the readers' values; reload() when history must be
// refetched; lost() after the stream failed.
export class Stream {
  constructor(handlers, open = (url) => new globalThis.EventSource(url)) {
    this.handlers = handlers;
    this.open = open;
    this.source = null;
    this.lastId = null;     // the cursor to resume from: the id of the last `readings`
    this.boot = null;       // the server's boot id, from `hello`
    this.attempt = 0;       // failed attempts since the stream was last open
    this.retryAt = 0;       // ms (Date.now) of the next attempt
    this.retryTimer = null;
  }

  // Holds a cursor to resume the stream from.
  get resumable() {
    return this.lastId !== null;
  }

  connect() {
    if (this.source) this.source.close();
    this.handlers.show(this.attempt ? "reconnecting" : "connecting", this.attempt ? "reconnecting…" : "connecting");
    const source = this.open(streamUrl(this.lastId));
    this.source = source;
    const on = (name, listener) => source.addEventListener(name, listener);
    on("open", () => {
      this.attempt = 0;
      this.handlers.show("live", "live");
    });
    on("hello", (e) => this.hello(readHello(JSON.parse(e.data))));
    on("catalog", (e) => this.handlers.catalog(readCatalog(JSON.parse(e.data))));
    on("status", (e) => this.handlers.status(readStatus(JSON.parse(e.data))));
    on("alert", (e) => this.handlers.alert(readAlert(JSON.parse(e.data))));
    on("readings", (e) => {
      this.lastId = e.lastEventId || this.lastId;
      this.handlers.readings(readReadings(JSON.parse(e.data)));
    });
    on("reset", () => {
      this.lastId = null;
      this.handlers.reload();
    });
    on("error", () => {
      // The browser would retry on its own after `retry:`, but gives up for good
      // on any non-200 answer; do it ourselves every time, with jittered backoff.
      if (this.source) this.source.close();
      this.source = null;
      this.scheduleReconnect();
      this.handlers.lost();
    });
  }

  hello(hello) {
    const restarted = this.boot !== null && hello.boot !== this.boot;
    this.boot = hello.boot;
    // A restarted server answers an old cursor with `reset`; with no cursor
    // (nothing received yet) the outage is simply refetched.
    if (restarted && this.lastId === null) this.handlers.reload();
  }

  scheduleReconnect() {
    this.attempt += 1;
    const delay = backoff(this.attempt);
    this.retryAt = Date.now() + delay;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = null;
      this.connect();
    }, delay);
    this.showRetry();
  }

  // Waiting to reconnect: try now (the browser is back online).
  retryNow() {
    if (this.retryTimer === null) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.connect();
  }

  // The countdown to the next attempt, on the badge (every second).
  showRetry() {
    if (this.retryTimer === null) return;
    const seconds = Math.max(0, Math.ceil((this.retryAt - Date.now()) / 1000));
    const offline = globalThis.navigator?.onLine === false || this.attempt > 3;
    this.handlers.show(offline ? "offline" : "reconnecting",
      (offline ? "offline, retrying in " : "reconnecting in ") + seconds + " s");
  }
}
