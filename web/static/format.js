// Text for people: values, ages, time-axis labels, units, CSV fields.
//
// Pure functions with no DOM; tests/web/js/format.test.mjs runs them in node.

export function formatValue(v) {
  if (typeof v !== "number" || !Number.isFinite(v)) return "–";
  const abs = Math.abs(v);
  if (abs !== 0 && (abs < 0.01 || abs >= 1e6)) return v.toExponential(3);
  return String(Math.round(v * 1000) / 1000);
}

// A reading as text: a state's 1 and 0 as "on" and "off", a number as formatValue.
export function formatReading(v, info) {
  if (info && info.kind === "state" && typeof v === "number" && Number.isFinite(v)) return v ? "on" : "off";
  return formatValue(v);
}

// "21.5 °C", "on": a reading with its unit, as the legends and tiles show it.
export function readingText(v, info) {
  const text = formatReading(v, info);
  return info && info.unit && info.kind !== "state" ? text + " " + info.unit : text;
}

const COUNTERS = new Set(["Wh", "kWh", "MWh", "kVAh", "m³", "L"]);

// What a series did over the range, in words: an energy or water meter's use
// ("used 3.2 kWh"), else its min, max and mean.  `stats` from Buckets.stats.
export function statsText(stats, info) {
  if (!stats) return "nothing in range";
  if (info.kind === "state") return "on " + Math.round(stats.mean * 100) + "% of the range";
  const unit = info.unit ? " " + info.unit : "";
  if (COUNTERS.has(info.unit)) return "used " + formatValue(stats.increase) + unit;
  return "min " + formatValue(stats.min) + " · max " + formatValue(stats.max) + " · mean " + formatValue(stats.mean) + unit;
}

export function formatAge(seconds) {
  if (!Number.isFinite(seconds)) return "";
  if (seconds < 2) return "now";
  if (seconds < 90) return Math.round(seconds) + " s ago";
  if (seconds < 5400) return Math.round(seconds / 60) + " min ago";
  if (seconds < 172800) return Math.round(seconds / 3600) + " h ago";
  return Math.round(seconds / 86400) + " d ago";
}

// One line of local time per tick, precise as the tick spacing needs (uPlot's
// default adds a second line of dates that crowds a phone-wide chart).  The
// signature is uPlot's `axes[].values`.  The formats are made once: each
// `toLocaleString` with options builds one afresh, and the axes are labelled
// on every redraw.
const DAYS = new Intl.DateTimeFormat([], { month: "short", day: "numeric" });
const MINUTES = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit" });
const SECONDS = new Intl.DateTimeFormat([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });

export function timeLabels(u, splits, axisIdx, space, incr) {
  const format = incr >= 86400 ? DAYS : incr >= 60 ? MINUTES : SECONDS;
  return splits.map((t) => format.format(t * 1000));
}

export function unitLabel(unit) {
  return unit ? unit : "no unit";
}

export function csvField(value) {
  let text = String(value);
  // A spreadsheet would run a cell that starts with one of these (CSV injection).
  if (/^[=+\-@\t\r]/.test(text) && typeof value === "string") text = "'" + text;
  return /[",\n\r]/.test(text) ? '"' + text.replace(/"/g, '""') + '"' : text;
}

export function csvLine(fields) {
  return fields.map(csvField).join(",");
}

// "telemetry-20260101-123456.csv" for the export's file name, in UTC.
export function exportName(date) {
  const stamp = date.toISOString().slice(0, 19).replace(/[-:]/g, "").replace("T", "-");
  return "telemetry-" + stamp + ".csv";
}
