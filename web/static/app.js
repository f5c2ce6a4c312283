// The live page: one EventSource, every series' latest value and unit.
// Device-supplied strings only ever reach the page through textContent.
"use strict";

const rows = new Map();      // series id -> {value: Element, unit: Element}
const devices = new Map();   // device -> {section, body, state}
const availability = new Map();  // device -> online (true/false), as last reported
let source = null;
let lastId = null;
let attempt = 0;

const statusEl = document.getElementById("status");

function setStatus(kind, text) {
  statusEl.className = "status " + kind;
  statusEl.textContent = text;
}

function deviceEntry(device) {
  let entry = devices.get(device);
  if (entry) return entry;
  const node = document.getElementById("device-template").content.cloneNode(true);
  node.querySelector(".device-name").textContent = device;
  entry = {
    section: node.querySelector("section"),
    body: node.querySelector("tbody"),
    state: node.querySelector(".device-state"),
  };
  entry.section.dataset.device = device;
  devices.set(device, entry);
  document.getElementById("devices").appendChild(node);
  document.getElementById("empty").hidden = true;
  showAvailability(device);
  return entry;
}

function setAvailability(info) {
  availability.set(info.device, info.online);
  if (devices.has(info.device)) showAvailability(info.device);
}

function showAvailability(device) {
  const entry = devices.get(device);
  const online = availability.get(device);
  entry.section.classList.toggle("offline", online === false);
  entry.state.textContent = online === false ? "offline" : "";
}

function formatValue(v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return "–";
  const abs = Math.abs(v);
  return abs !== 0 && (abs < 0.01 || abs >= 1e6) ? v.toExponential(3) : String(Math.round(v * 1000) / 1000);
}

function addSeries(info) {
  let row = rows.get(info.id);
  if (!row) {
    const tr = document.createElement("tr");
    tr.dataset.series = info.id;
    const sensor = document.createElement("td");
    sensor.className = "sensor";
    sensor.textContent = info.sensor;
    const value = document.createElement("td");
    value.className = "value";
    const unit = document.createElement("td");
    unit.className = "unit";
    tr.append(sensor, value, unit);
    deviceEntry(info.device).body.appendChild(tr);
    row = {value, unit};
    rows.set(info.id, row);
  }
  row.unit.textContent = info.unit || "";
  if (info.last_value !== undefined && info.last_value !== null) {
    row.value.textContent = formatValue(info.last_value);
  }
}

function onReadings(event) {
  lastId = event.lastEventId || lastId;
  const frame = JSON.parse(event.data);
  for (const [id, point] of Object.entries(frame.series)) {
    const row = rows.get(id);
    if (row) row.value.textContent = formatValue(point[1]);
  }
}

function connect() {
  const url = lastId ? "/events?last_id=" + encodeURIComponent(lastId) : "/events";
  source = new EventSource(url);
  source.addEventListener("open", () => { attempt = 0; setStatus("live", "live"); });
  source.addEventListener("catalog", (e) => {
    const catalog = JSON.parse(e.data);
    for (const info of catalog.devices || []) setAvailability(info);
    for (const info of catalog.series) addSeries(info);
  });
  source.addEventListener("status", (e) => {
    for (const info of JSON.parse(e.data).devices || []) setAvailability(info);
  });
  source.addEventListener("readings", onReadings);
  source.addEventListener("error", () => {
    if (source.readyState === EventSource.CLOSED) {
      // A non-200 answer ends an EventSource for good: reconnect ourselves, with jitter.
      source.close();
      attempt += 1;
      const delay = Math.min(30000, 1000 * 2 ** Math.min(attempt, 5)) * (0.5 + Math.random() / 2);
      setStatus("offline", "offline, retrying in " + Math.ceil(delay / 1000) + " s");
      setTimeout(connect, delay);
    } else {
      setStatus("reconnecting", "reconnecting");
    }
  });
}

connect();
