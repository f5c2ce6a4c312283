// Which chart each series is drawn on, in which order, and what a chart is called.
//
// Series of one unit share a chart, titled by what the unit measures
// ("Temperature (°C)").  A unit that several quantities share (%, ppm, ...)
// and no unit at all (Zigbee2MQTT states none) are split by what the sensor
// measures, the last word of its name ("humidity", "battery"; numbers such as
// Shelly's "relay/0" are not words), so humidity and a battery's charge are
// not drawn on one axis.  With `split`, every series has a chart of its own.
// On/off states have charts of their own by what they switch, drawn as steps.
// Chart keys: "u:<unit>", "u:<unit>:<quantity>", "n:<quantity>", "st:<quantity>",
// "s:<series id>".
//
// Pure functions of series infos ({id, device, sensor, unit}); no DOM.

import { unitLabel } from "./format.js";

// What a unit measures, when it measures one thing.
const MEASURES = new Map(Object.entries({
  "°C": "Temperature", "°F": "Temperature", K: "Temperature",
  W: "Power", kW: "Power", mW: "Power", VA: "Apparent power", var: "Reactive power", VAr: "Reactive power",
  Wh: "Energy", kWh: "Energy", MWh: "Energy", kVAh: "Energy", J: "Energy",
  V: "Voltage", mV: "Voltage", A: "Current", mA: "Current", Hz: "Frequency",
  hPa: "Pressure", Pa: "Pressure", kPa: "Pressure", mbar: "Pressure", bar: "Pressure",
  inHg: "Pressure", mmHg: "Pressure", psi: "Pressure",
  lx: "Illuminance", "W/m²": "Irradiance", "µg/m³": "Particulates", dBm: "Signal",
  "m/s": "Speed", "km/h": "Speed", mph: "Speed", kn: "Speed",
  "mm/h": "Rain rate", "m³": "Volume", L: "Volume", "m³/h": "Flow", "L/min": "Flow",
}));
// How a sensor's last word is written for people, where capitals matter.
const WORDS = new Map(Object.entries({
  co2: "CO₂", eco2: "eCO₂", voc: "VOC", tvoc: "TVOC", pm1: "PM1", pm25: "PM2.5", pm2_5: "PM2.5",
  pm10: "PM10", rssi: "RSSI", snr: "SNR", uv: "UV", linkquality: "Link quality",
}));

export function quantity(sensor) {
  const words = String(sensor).toLowerCase().split(/[\/._:\s-]+/)
    .filter((w) => w && !/^[0-9]+$/.test(w));
  return words.length ? words[words.length - 1] : "";
}

// A quantity word as a title: "humidity" -> "Humidity", "co2" -> "CO₂".
export function quantityName(word) {
  if (!word) return "Value";
  return WORDS.get(word) ?? word.charAt(0).toUpperCase() + word.slice(1);
}

// A chart key by what the series measures (see the top of this file).  Made
// once per info record (the list replaces a series' record when its info
// changes): every live point asks for its chart's key.
const QUANTITY_KEYS = new WeakMap();

function quantityKey(info) {
  let key = QUANTITY_KEYS.get(info);
  if (key === undefined) {
    if (info.kind === "state") key = "st:" + quantity(info.sensor);
    else if (!info.unit) key = "n:" + quantity(info.sensor);
    else key = MEASURES.has(info.unit) ? "u:" + info.unit : "u:" + info.unit + ":" + quantity(info.sensor);
    QUANTITY_KEYS.set(info, key);
  }
  return key;
}

// The chart of a series: its own with `split` (or grouping "none"); its
// `[[series]] chart` group's ("g:<name>"); else by quantity, and with grouping
// "device" by device too ("d:<device>|<quantity key>").
export function chartKey(info, split, group = "quantity") {
  if (split || group === "none") return "s:" + info.id;
  if (info.chart) return "g:" + info.chart;
  if (group === "device") return "d:" + info.device + "|" + quantityKey(info);
  return quantityKey(info);
}

// chart key -> the ids it draws, for the series `isSelected` keeps: named
// groups first, then charts of a unit, by name, and states; series by id
// within each.
export function groupSeries(infos, split, isSelected, group = "quantity") {
  const rank = (info) => {
    const key = chartKey(info, split, group);
    const base = info.chart ? "0" : info.kind === "state" ? "3" : info.unit ? "1" : "2";
    return (group === "device" && !info.chart ? info.device + "\n" : "") + base + key;
  };
  const ordered = [...infos].sort((a, b) =>
    rank(a).localeCompare(rank(b)) || a.id.localeCompare(b.id));
  const groups = new Map();
  for (const info of ordered) {
    if (!isSelected(info.id)) continue;
    const key = chartKey(info, split, group);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(info.id);
  }
  return groups;
}

// The units of a chart's series, in order of first appearance (a named group
// may mix them: the first on the left axis, the others on the right).
export function chartUnits(infos) {
  return [...new Set(infos.map((i) => (i.kind === "state" ? "on/off" : i.unit || "")))];
}

// "Temperature (°C)", then how many series: what the chart shows, in words.
export function chartTitle(key, infos) {
  const first = infos[0];
  const unit = first.kind === "state" ? " (on/off)" : " (" + unitLabel(first.unit) + ")";
  const count = infos.length === 1 ? "" : "· " + infos.length + " series";
  if (key.startsWith("s:")) {
    return { title: (first.name || first.device + " / " + first.sensor) + unit, detail: "" };
  }
  if (key.startsWith("g:")) {
    const units = chartUnits(infos).map(unitLabel).join(", ");
    return { title: key.slice(2) + " (" + units + ")", detail: count };
  }
  const device = key.startsWith("d:") ? first.device + " · " : "";
  const measures = first.kind === "state" ? null : MEASURES.get(first.unit);
  if (measures) return { title: device + measures + unit, detail: count };
  // What the sensors measure, by name: "Humidity (%)" for AM2301.Humidity and sensor/humidity.
  const names = [...new Set(infos.map((i) => quantityName(quantity(i.sensor))))];
  return { title: device + (names.length <= 3 ? names.join(", ") : names.length + " quantities") + unit, detail: count };
}

// A legend entry: the series' display name if it has one; the sensor alone
// on a chart of its own or its device's; else "device / sensor".
export function legendName(key, info, count) {
  if (info.name) return info.name;
  if ((count === 1 && key.startsWith("s:")) || key.startsWith("d:")) return info.sensor;
  return info.device + " / " + info.sensor;
}
