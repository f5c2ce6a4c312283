// Which chart each series is drawn on, in which order, and what a chart is called.
//
// Series of one unit share a chart.  Series without a unit (Zigbee2MQTT states
// none) share one by what they measure, the last word of the sensor's name, so
// humidity and a battery's voltage are not drawn on one axis.  With `split`,
// every series has a chart of its own.  Chart keys: "u:<unit>", "n:<quantity>",
// "s:<series id>".
//
// Pure functions of series infos ({id, device, sensor, unit}); no DOM.

import { unitLabel } from "./format.js";

export function quantity(sensor) {
  const words = String(sensor).toLowerCase().split(/[\/._:\s-]+/).filter(Boolean);
  return words.length ? words[words.length - 1] : "";
}

export function chartKey(info, split) {
  if (split) return "s:" + info.id;
  return info.unit ? "u:" + info.unit : "n:" + quantity(info.sensor);
}

// chart key -> the ids it draws, for the series `isSelected` keeps: charts of a
// unit first, then those grouped by name; series by id within each.
export function groupSeries(infos, split, isSelected) {
  const rank = (info) => (info.unit ? "0" : "1") + chartKey(info, split);
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

// "temperature (°C)", then how many series: what the chart shows, in words.
export function chartTitle(key, infos) {
  const unit = " (" + unitLabel(infos[0].unit) + ")";
  const count = infos.length === 1 ? "" : "· " + infos.length + " series";
  if (key.startsWith("s:")) {
    return { title: infos[0].device + " / " + infos[0].sensor + unit, detail: "" };
  }
  if (key.startsWith("n:")) return { title: (key.slice(2) || "value") + unit, detail: count };
  // What they measure, in words: "humidity (%)" for AM2301.Humidity and sensor/humidity.
  const names = [...new Set(infos.map((i) => quantity(i.sensor) || i.sensor))];
  return { title: (names.length <= 3 ? names.join(", ") : names.length + " quantities") + unit, detail: count };
}

// A legend entry: the sensor alone on a chart of its own, else "device / sensor".
export function legendName(key, info, count) {
  return count === 1 && key.startsWith("s:") ? info.sensor : info.device + " / " + info.sensor;
}
