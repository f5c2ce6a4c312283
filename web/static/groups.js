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

export function chartKey(info, split) {
  if (split) return "s:" + info.id;
  if (info.kind === "state") return "st:" + quantity(info.sensor);
  if (!info.unit) return "n:" + quantity(info.sensor);
  return MEASURES.has(info.unit) ? "u:" + info.unit : "u:" + info.unit + ":" + quantity(info.sensor);
}

// chart key -> the ids it draws, for the series `isSelected` keeps: charts of a
// unit first, then those grouped by name; series by id within each.
export function groupSeries(infos, split, isSelected) {
  const rank = (info) => (info.kind === "state" ? "2" : info.unit ? "0" : "1") + chartKey(info, split);
  const ordered = [...infos].sort((a, b) =>
    rank(a).localeCompare(rank(b)) || a.id.localeCompare(b.id));
  const groups = new Map();
  for (const info of ordered) {
    if (!isSelected(info.id)) continue;
    const key = chartKey(info, split);
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(info.id);
  }
  return groups;
}

// "Temperature (°C)", then how many series: what the chart shows, in words.
export function chartTitle(key, infos) {
  const first = infos[0];
  const unit = first.kind === "state" ? " (on/off)" : " (" + unitLabel(first.unit) + ")";
  const count = infos.length === 1 ? "" : "· " + infos.length + " series";
  if (key.startsWith("s:")) {
    return { title: first.device + " / " + first.sensor + unit, detail: "" };
  }
  const measures = first.kind === "state" ? null : MEASURES.get(first.unit);
  if (measures) return { title: measures + unit, detail: count };
  // What the sensors measure, by name: "Humidity (%)" for AM2301.Humidity and sensor/humidity.
  const names = [...new Set(infos.map((i) => quantityName(quantity(i.sensor))))];
  return { title: (names.length <= 3 ? names.join(", ") : names.length + " quantities") + unit, detail: count };
}

// A legend entry: the sensor alone on a chart of its own, else "device / sensor".
export function legendName(key, info, count) {
  return count === 1 && key.startsWith("s:") ? info.sensor : info.device + " / " + info.sensor;
}
