// The sensor list: a section per device (in name order, greyed when offline),
// a row per series with its checkbox, latest value, unit and age.
//
// The SensorList owns the page's series records ({id, info, value}); the charts
// read them and never write them.  Values are written to the DOM at most every
// second (`refreshText`, with the ages): each rewrite costs the browser style, layout
// and paint, and nobody reads ten changes a second.  Device strings reach the
// DOM only through textContent.

import { formatAge, formatReading } from "./format.js";

// `text` in `el`, with a line break allowed after each separator (. / _ :),
// so a long name such as ENERGY.TotalStartTime.Today wraps between its words,
// never inside one (text nodes and <wbr> elements: no markup is parsed).
export function setBreakable(el, text) {
  el.textContent = "";
  for (const part of String(text).split(/(?<=[./_:])/)) {
    if (el.firstChild) el.append(document.createElement("wbr"));
    el.append(part);
  }
}

class Series {
  constructor(info, checked, onToggle, onDelete) {
    this.id = info.id;
    this.info = info;
    this.value = null;
    this.seenAt = NaN;       // local clock, seconds
    const tr = document.createElement("tr");
    tr.dataset.series = info.id;
    const pick = document.createElement("td");
    pick.className = "pick";
    this.checkbox = document.createElement("input");
    this.checkbox.type = "checkbox";
    this.checkbox.checked = checked;
    this.checkbox.addEventListener("change", () => onToggle(this.id, this.checkbox.checked));
    const label = document.createElement("label");  // the whole cell is the tap target
    label.append(this.checkbox);
    pick.append(label);
    this.sensorEl = document.createElement("td");
    this.sensorEl.className = "sensor";
    this.valueEl = document.createElement("td");
    this.valueEl.className = "value";
    this.unitEl = document.createElement("td");
    this.unitEl.className = "unit";
    this.ageEl = document.createElement("td");
    this.ageEl.className = "age";
    // Shown in the list's edit mode only: delete the series and its history.
    const del = document.createElement("td");
    del.className = "delete";
    const button = document.createElement("button");
    button.type = "button";
    button.textContent = "Delete";
    button.setAttribute("aria-label", "delete " + info.id);
    button.addEventListener("click", () => onDelete(this.id));
    del.append(button);
    tr.append(pick, this.sensorEl, this.valueEl, this.unitEl, this.ageEl, del);
    this.row = tr;
    this.checkbox.setAttribute("aria-label", "chart " + info.id);
  }

  showInfo() {
    setBreakable(this.sensorEl, this.info.name || this.info.sensor);
    this.sensorEl.title = this.info.name ? this.info.id : "";
    this.unitEl.textContent = this.info.kind === "state" ? "" : this.info.unit || "";
    this.row.classList.toggle("stale", this.info.stale);
  }

  showValue() {
    const text = formatReading(this.value, this.info);
    if (this.valueEl.textContent !== text) this.valueEl.textContent = text;
  }

  showAge(now) {
    const text = formatAge(now - this.seenAt);
    if (this.ageEl.textContent !== text) this.ageEl.textContent = text;
  }
}

export class SensorList {
  // `view` says which series are charted; `onToggle(id, on)` when a checkbox
  // changes; `onDelete(id)` when a series' Delete is pressed.
  constructor(doc, view, onToggle, onDelete) {
    this.view = view;
    this.onToggle = onToggle;
    this.onDelete = onDelete;
    this.listEl = doc.getElementById("devices");
    this.template = doc.getElementById("device-template");
    this.countEl = doc.getElementById("count");
    this.searchEl = doc.getElementById("search");
    this.series = new Map();        // id -> Series
    this.devices = new Map();       // device -> {section, body, state}
    this.availability = new Map();  // device -> online (from catalog and status)
    this.textDirty = new Set();     // Series whose value changed since the last refreshText
  }

  get size() {
    return this.series.size;
  }

  get(id) {
    return this.series.get(id);
  }

  ids() {
    return [...this.series.keys()];
  }

  // The ids in the list's order: devices by name, a device's series as they came.
  orderedIds() {
    return [...this.listEl.querySelectorAll("tr[data-series]")].map((tr) => tr.dataset.series);
  }

  infos() {
    return [...this.series.values()].map((s) => s.info);
  }

  // A `catalog` (readCatalog): new series get a row, known ones their new info,
  // deleted ones lose theirs.  Returns whether the series changed (new or
  // deleted), and the ids that have just gone stale.
  applyCatalog(catalog, now) {
    this.setAvailability(catalog.devices);
    let changed = false;
    const staled = [];
    for (const info of catalog.series) {
      let s = this.series.get(info.id);
      const wasStale = s ? s.info.stale : info.stale;
      if (!s) {
        s = new Series(info, this.view.isSelected(info.id), this.onToggle, this.onDelete);
        this.series.set(info.id, s);
        this.deviceEntry(info.device).body.appendChild(s.row);
        changed = true;
      }
      s.info = info;
      s.showInfo();
      if (info.age !== null) s.seenAt = now - info.age;
      if (info.lastValue !== null && s.value === null) this.setValue(s, info.lastValue);
      if (info.stale && !wasStale) {
        staled.push(info.id);
        s.showAge(now);
      }
    }
    for (const id of catalog.removed) if (this.remove(id)) changed = true;
    this.countEl.textContent = "(" + this.series.size + ")";
    return { changed, staled };
  }

  // The points of a `readings` frame (readReadings), received at `now`.
  applyReadings(points, now) {
    for (const p of points) {
      const s = this.series.get(p.id);
      if (!s) continue;
      this.setValue(s, p.v);
      s.seenAt = now;
      if (s.info.stale) {
        s.info = { ...s.info, stale: false };
        s.showInfo();
      }
    }
  }

  setValue(s, v) {
    s.value = v;
    this.textDirty.add(s);
  }

  // [{device, online}] from a catalog or a status event.
  setAvailability(devices) {
    for (const { device, online } of devices) {
      this.availability.set(device, online);
      if (this.devices.has(device)) this.showAvailability(device);
    }
  }

  deviceEntry(device) {
    let entry = this.devices.get(device);
    if (entry) return entry;
    const node = this.template.content.cloneNode(true);
    node.querySelector(".device-name").textContent = device;
    entry = {
      section: node.querySelector("section"),
      body: node.querySelector("tbody"),
      state: node.querySelector(".device-state"),
    };
    entry.section.dataset.device = device;
    this.devices.set(device, entry);
    // Devices in name order, so the list reads the same on every load.
    const after = [...this.listEl.children].find((s) => s.dataset.device > device);
    this.listEl.insertBefore(node, after || null);
    this.showAvailability(device);
    return entry;
  }

  showAvailability(device) {
    const entry = this.devices.get(device);
    const online = this.availability.get(device);
    entry.section.classList.toggle("offline", online === false);
    entry.state.textContent = online === false ? "offline" : "";
  }

  // The search box filters the list (not the charts): every word must match.
  filter() {
    const words = this.searchEl.value.trim().toLowerCase().split(/\s+/).filter(Boolean);
    for (const [device, entry] of this.devices) {
      let shown = 0;
      for (const tr of entry.body.children) {
        const s = this.series.get(tr.dataset.series);
        const text = [device, s.info.sensor, s.info.unit || "", s.id].join(" ").toLowerCase();
        const match = words.every((w) => text.includes(w));
        tr.hidden = !match;
        if (match) shown += 1;
      }
      entry.section.hidden = shown === 0;
    }
  }

  // Series `id` was deleted: its row goes, and its device's when it was the last.
  remove(id) {
    const s = this.series.get(id);
    if (!s) return false;
    this.series.delete(id);
    this.textDirty.delete(s);
    const device = s.info.device;
    s.row.remove();
    const entry = this.devices.get(device);
    if (entry && entry.body.children.length === 0) {
      entry.section.remove();
      this.devices.delete(device);
    }
    return true;
  }

  // The checkboxes, after the view's selection changed.
  showSelection() {
    for (const s of this.series.values()) s.checkbox.checked = this.view.isSelected(s.id);
  }

  refreshText() {
    for (const s of this.textDirty) s.showValue();
    this.textDirty.clear();
  }

  showAges(now) {
    for (const s of this.series.values()) s.showAge(now);
  }
}
