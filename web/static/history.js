// `/api/history`: the queries a chart sends for its window, and the one place
// that reads the answer ({series: {id: {t: [...], v: [...]}}}, web/history.py).
//
// Pure; tests/web/js/history.test.mjs runs it in node.

export const MAX_QUERY_SERIES = 64;  // web/query.py MAX_SERIES
export const MAX_POINTS = 10000;     // web/query.py MAX_POINTS

// Four points a pixel column (M4: first, min, max, last), within the server's limits.
export function historyPoints(plotWidth) {
  return Math.min(MAX_POINTS, Math.max(8, 4 * plotWidth));
}

// The query strings for series `ids` over `span` ({start, end, follow}): a
// span that follows live asks up to now, the server's own clock.
export function historyQueries(ids, span, points) {
  const queries = [];
  for (let i = 0; i < ids.length; i += MAX_QUERY_SERIES) {
    const params = new URLSearchParams();
    for (const id of ids.slice(i, i + MAX_QUERY_SERIES)) params.append("series", id);
    params.set("start", span.start.toFixed(3));
    if (!span.follow) params.set("end", span.end.toFixed(3));
    params.set("points", String(points));
    queries.push(params.toString());
  }
  return queries;
}

// [{id, t: [seconds], v: [value or null: a gap]}], one per series answered.
export function readHistory(body) {
  const found = typeof body === "object" && body !== null ? body.series : null;
  if (typeof found !== "object" || found === null) return [];
  const out = [];
  for (const [id, s] of Object.entries(found)) {
    if (typeof s !== "object" || s === null || !Array.isArray(s.t) || !Array.isArray(s.v)) continue;
    const n = Math.min(s.t.length, s.v.length);
    const t = [], v = [];
    for (let j = 0; j < n; j++) {
      if (typeof s.t[j] !== "number") continue;
      t.push(s.t[j]);
      v.push(typeof s.v[j] === "number" ? s.v[j] : null);
    }
    out.push({ id, t, v });
  }
  return out;
}
