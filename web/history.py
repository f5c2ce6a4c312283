"""`GET /api/history` and `GET /api/export`: stored points, downsampled or whole.

History answers each series with at most `points` points chosen by M4 (first,
min, max and last of each of `points / 4` time buckets), so a chart drawn
`points / 4` pixels wide shows the same line as from every point; gaps stay
gaps (`null`), never zeros.  The points come from the raw ring when it reaches
back to `start`, else from the coarsest rollup that still has enough buckets
(each bucket given as its first, min, max and last); `from` says which.
Export gives the raw ring's points themselves, as CSV or JSON.  Parameters
are bounded (see `web.query`); a bad one is a 422.
"""

from __future__ import annotations

import csv
import io
import math

import numpy as np
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from telemetry.downsample import m4
from telemetry.quantities import format_duration
from telemetry.store import FloatArray, Ring, Store
from web.query import QueryError, points, window

MAX_EXPORT_SERIES = 16
_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run (CSV injection)


def _problem(error: QueryError) -> Response:
    return JSONResponse({"error": str(error), "parameter": error.parameter}, status_code=422)


def _pairs(ts: FloatArray, values: FloatArray) -> tuple[list[float], list[float | None]]:
    return ts.tolist(), [v if math.isfinite(v) else None for v in values.tolist()]


class History:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def history(self, request: Request) -> Response:
        try:
            span = window(request.query_params, self.store.raw_span)
            limit = points(request.query_params)
        except QueryError as error:
            return _problem(error)
        found, unknown = {}, []
        for sid in span.series:
            info = self.store.series.get(sid)
            if info is None:
                unknown.append(sid)
                continue
            source = Store.choose(info, span.start, span.end, limit)
            ts, values = Store.points(source, span.start, span.end)
            if len(ts) > limit:
                ts, values = m4(ts, values, span.start, np.nextafter(span.end, np.inf), limit // 4)
            t, v = _pairs(ts, values)
            kind = "raw" if isinstance(source, Ring) else format_duration(source.width)
            found[sid] = {"unit": info.unit, "t": t, "v": v, "from": kind}
        body = {"start": span.start, "end": span.end, "points": limit, "series": found}
        if unknown:
            body["unknown"] = unknown
        return JSONResponse(body)

    async def export(self, request: Request) -> Response:
        params = request.query_params
        kind = params.get("format", "csv")
        try:
            if kind not in ("csv", "json"):
                raise QueryError("format", f"{kind[:20]!r} is not one of csv, json")
            span = window(params, self.store.raw_span, MAX_EXPORT_SERIES)
        except QueryError as error:
            return _problem(error)
        rows = {}
        for sid in span.series:
            info = self.store.series.get(sid)
            if info is not None:
                rows[sid] = info.ring.range(span.start, span.end)
        if kind == "json":
            return JSONResponse(
                {sid: [list(p) for p in zip(*_pairs(*r), strict=True)] for sid, r in rows.items()}
            )
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["series", "timestamp", "value"])
        for sid, (ts, values) in rows.items():
            shown = f"'{sid}" if sid.startswith(_FORMULA) else sid
            writer.writerows(
                (shown, repr(t), repr(v)) for t, v in zip(ts.tolist(), values.tolist(), strict=True)
            )
        return Response(
            out.getvalue(),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="telemetry.csv"'},
        )
