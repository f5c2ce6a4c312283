"""`GET /api/history` and `GET /api/export`: stored points, downsampled or whole.

History answers each series with at most `points` points chosen by M4 (first,
min, max and last of each of `points / 4` time buckets), so a chart drawn
`points / 4` pixels wide shows the same line as from every point; gaps stay
gaps (`null`), never zeros.  The points come from the raw ring when it reaches
back to `start`, else from the coarsest rollup that still has enough buckets
(each bucket given as its first, min, max and last); `from` says which.
Export gives the raw ring's points themselves, as CSV or JSON by series, or
as rows (`web.export`): every series without `series`, and NDJSON.  Parameters
are bounded (see `web.query`); a bad one is a 422.

Both answers stream, a series at a time, so a large one neither holds the
event loop nor sits whole in memory: on the loop a series' points are copied
out of the store (the pipeline appends to the rings on the loop, so a thread
never reads them), then a worker thread downsamples and encodes the copy, and
its bytes go out before the next series is read.  Other requests, the ticks
and the streams run in between.  A whole raw ring is encoded `EXPORT_SLICE`
points at a time.

Every number goes out as the shortest decimal that reads back as the stored
value: orjson writes each float64 as its shortest round trip, as `repr` does
(NaN and infinities as `null`).  A rollup's values are float32, so written as
float64 they would show the float32's binary error (23.200000762939453 for a
stored 23.2): once downsampled, they are written as a float32 array, which
orjson writes as each float32's own shortest decimal (23.2).  Raw values keep
every digit they have.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import numpy as np
import orjson
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from telemetry.downsample import m4
from telemetry.history import Answer, FloatArray, Store
from web import export
from web.export import EXPORT_SLICE, MAX_EXPORT_SERIES, csv_field, csv_texts
from web.query import QueryError, Window, points, window

_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def _problem(error: QueryError) -> Response:
    return JSONResponse({"error": str(error), "parameter": error.parameter}, status_code=422)


def _values_json(values: FloatArray, narrow: int) -> orjson.Fragment:
    """`values` as a JSON array, its first `narrow` (a rollup's float32 numbers) as the
    shortest decimal of each float32, the rest (raw float64) of each float64."""
    if not narrow:
        return orjson.Fragment(orjson.dumps(values, option=_NUMPY))
    head = orjson.dumps(values[:narrow].astype(np.float32), option=_NUMPY)
    if narrow == len(values):
        return orjson.Fragment(head)
    tail = orjson.dumps(values[narrow:], option=_NUMPY)
    return orjson.Fragment(head[:-1] + b"," + tail[1:])


def _history_series(
    sid: str,
    answer: Answer,
    *,
    unit: str | None,
    span: Window,
    limit: int,
) -> bytes:
    """`"<id>":{"unit", "t", "v", "from"}` of one series' copied points (in a worker thread)."""
    ts, values = answer.ts, answer.values
    if len(ts) > limit:
        ts, values = m4(ts, values, span.start, np.nextafter(span.end, np.inf), limit // 4)
    # In time order, a rollup's points come first: the float32 values are a prefix.
    narrow = int(np.searchsorted(ts, answer.float32_before))
    entry = {
        "unit": unit,
        "t": np.ascontiguousarray(ts),
        "v": _values_json(np.ascontiguousarray(values), narrow),
        "from": answer.source,
    }
    return orjson.dumps(sid) + b":" + orjson.dumps(entry, option=_NUMPY)


def _json_points(ts: FloatArray, values: FloatArray) -> bytes:
    """`[t,v],[t,v],...` (no brackets around the lot): one slice of an export."""
    return orjson.dumps(np.column_stack((ts, values)), option=_NUMPY)[1:-1]


def _csv_rows(field: bytes, ts: FloatArray, values: FloatArray) -> bytes:
    prefix = field + b","
    rows = zip(csv_texts(ts), csv_texts(values), strict=True)
    return b"".join([prefix + t + b"," + v + b"\r\n" for t, v in rows])


class History:
    def __init__(self, store: Store) -> None:
        self.store = store

    async def history(self, request: Request) -> Response:
        try:
            span = window(request.query_params, self.store.raw_span)
            limit = points(request.query_params)
        except QueryError as error:
            return _problem(error)
        return StreamingResponse(self._history_body(span, limit), media_type="application/json")

    async def _history_body(self, span: Window, limit: int) -> AsyncIterator[bytes]:
        """`{"start", "end", "points", "series": {id: ...}, "unknown"?}`, a series a chunk."""
        head = {"start": span.start, "end": span.end, "points": limit}
        yield orjson.dumps(head)[:-1] + b',"series":{'
        unknown = []
        comma = b""
        for sid in span.series:
            series = self.store.get(sid)
            if series is None:
                unknown.append(sid)
                continue
            got = series.query(span.start, span.end, limit)  # copies
            entry = await asyncio.to_thread(
                _history_series, sid, got, unit=series.entry.unit, span=span, limit=limit
            )
            yield comma + entry
            comma = b","
        tail = b',"unknown":' + orjson.dumps(unknown) if unknown else b""
        yield b"}" + tail + b"}"

    async def export(self, request: Request) -> Response:
        params = request.query_params
        kind = params.get("format", "csv")
        try:
            if kind not in export.FORMATS:
                raise QueryError("format", f"{kind[:20]!r} is not one of csv, json, ndjson")
            span = window(params, self.store.raw_span, MAX_EXPORT_SERIES, required=False)
            # Without series, every one as rows, counted first against the cap.
            ids = span.series or export.every_series(self.store, span)
        except QueryError as error:
            return _problem(error)
        body: AsyncIterator[bytes]
        if span.series and kind == "json":
            body = self._export_json(span)
        elif span.series and kind == "csv":
            body = self._export_csv(span)
        else:
            body = export.rows(self.store, ids, span, kind, export.export_cap(self.store))
        if kind == "json":
            return StreamingResponse(body, media_type="application/json")
        if kind == "ndjson":
            return StreamingResponse(body, media_type="application/x-ndjson")
        return StreamingResponse(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="telemetry.csv"'},
        )

    async def _export_points(
        self, span: Window
    ) -> AsyncIterator[tuple[str, FloatArray, FloatArray]]:
        """Each known series' raw points in the range, copied on the loop."""
        for sid in span.series:
            series = self.store.get(sid)
            if series is not None:
                ts, values = series.raw(span.start, span.end)
                yield sid, ts, values

    async def _export_json(self, span: Window) -> AsyncIterator[bytes]:
        """`{id: [[t, v], ...], ...}` of the known series."""
        yield b"{"
        comma = b""
        async for sid, ts, values in self._export_points(span):
            yield comma + orjson.dumps(sid) + b":["
            comma = b","
            for lo in range(0, len(ts), EXPORT_SLICE):
                hi = lo + EXPORT_SLICE
                text = await asyncio.to_thread(_json_points, ts[lo:hi], values[lo:hi])
                yield text if lo == 0 else b"," + text
            yield b"]"
        yield b"}"

    async def _export_csv(self, span: Window) -> AsyncIterator[bytes]:
        """`series,timestamp,value` rows, times and values as `repr` writes them."""
        yield b"series,timestamp,value\r\n"
        async for sid, ts, values in self._export_points(span):
            field = csv_field(sid)
            for lo in range(0, len(ts), EXPORT_SLICE):
                hi = lo + EXPORT_SLICE
                yield await asyncio.to_thread(_csv_rows, field, ts[lo:hi], values[lo:hi])
