"""`GET /api/export` as rows: every series in the range (no `series`), or `format=ndjson`.

A row is one stored raw point with what names it: series id, device, sensor,
unit, the time in ISO 8601 (UTC, to the microsecond: `2026-12-07T03:52:21.250000Z`)
and the value (as `repr` writes it, as the series export does).  As CSV
(`series,device,sensor,unit,time,value`, each text field quoted as `csv.writer`
would and defused when a spreadsheet would run it), as one JSON array of row
objects, or as NDJSON (one row object a line).

Like the series export (`web.history`), it streams: a series' points are copied
on the event loop, encoded `EXPORT_SLICE` at a time in a worker thread, and sent
before the next series is read.  The whole answer is bounded by the export cap:
at most `MAX_EXPORT_SERIES` whole raw rings' worth of points (what the most a
request naming series can get), counted before anything is sent; a range that
holds more is a 422 that says to narrow it or name the series.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncIterator, Sequence

import numpy as np
import orjson

from telemetry.history import CatalogEntry, FloatArray, Store
from web.query import QueryError, Window

MAX_EXPORT_SERIES = 16  # series one export may name
EXPORT_SLICE = 10_000  # points of a raw ring encoded at a time
FORMATS = ("csv", "json", "ndjson")
CSV_HEADER = b"series,device,sensor,unit,time,value\r\n"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")  # what a spreadsheet would run (CSV injection)
_NUMPY = orjson.OPT_SERIALIZE_NUMPY


def csv_texts(values: FloatArray) -> list[bytes]:
    """Each float as `repr` writes it.  orjson's text is the same digits except for
    exponents (`1e-7` for `1e-07`) and NaN and infinities (`null`): those few are
    written by `repr`."""
    if not len(values):
        return []
    texts = orjson.dumps(values, option=_NUMPY)[1:-1].split(b",")
    size = np.abs(values)
    odd = ~np.isfinite(values) | ((size < 1e-4) & (values != 0)) | (size >= 1e16)
    for i in np.flatnonzero(odd).tolist():
        texts[i] = repr(float(values[i])).encode()
    return texts


def csv_field(text: str) -> bytes:
    """`text` as a CSV field, quoted as `csv.writer` would, formulas defused."""
    shown = f"'{text}" if text.startswith(_FORMULA) else text
    out = io.StringIO()
    csv.writer(out).writerow([shown])
    return out.getvalue().removesuffix("\r\n").encode()


def iso_texts(ts: FloatArray) -> list[bytes]:
    """Epoch seconds as ISO 8601 times in UTC, to the microsecond."""
    micros = np.round(ts * 1e6).astype(np.int64).astype("datetime64[us]")
    return [text.encode() + b"Z" for text in np.datetime_as_string(micros, unit="us").tolist()]


def export_cap(store: Store) -> int:
    """Points one export may hold: `MAX_EXPORT_SERIES` whole raw rings."""
    return MAX_EXPORT_SERIES * store.raw_points


def every_series(store: Store, span: Window) -> list[str]:
    """Every series id, in order, when their points in the range fit the export cap;
    else QueryError.  One series' copy at a time, and no more counted than the cap."""
    cap, total = export_cap(store), 0
    ids = sorted(store.series)
    for sid in ids:
        total += len(store.series[sid].raw(span.start, span.end)[0])
        if total > cap:
            raise QueryError(
                "start",
                f"the range holds over {cap} points of all series, the most one export "
                "gives; narrow the range or name the series",
            )
    return ids


def _prefix(kind: str, entry: CatalogEntry) -> bytes:
    """What each row of one series starts with, up to its time."""
    if kind == "csv":
        names = (entry.id, entry.device, entry.sensor, entry.unit or "")
        return b",".join(csv_field(name) for name in names) + b","
    head = {"series": entry.id, "device": entry.device, "sensor": entry.sensor, "unit": entry.unit}
    return orjson.dumps(head)[:-1] + b',"time":"'


def _rows(kind: str, prefix: bytes, ts: FloatArray, values: FloatArray) -> bytes:
    """One slice of a series' rows (in a worker thread); JSON rows comma-separated."""
    pairs = zip(iso_texts(ts), csv_texts(values), strict=True)
    if kind == "csv":
        return b"".join([prefix + t + b"," + v + b"\r\n" for t, v in pairs])
    rows = [prefix + t + b'","value":' + v + b"}" for t, v in pairs]
    return b"\n".join(rows) + b"\n" if kind == "ndjson" else b",".join(rows)


async def rows(
    store: Store, ids: Sequence[str], span: Window, kind: str, cap: int
) -> AsyncIterator[bytes]:
    """The rows of the series `ids` that exist, in that order, at most `cap` of them."""
    yield CSV_HEADER if kind == "csv" else b"[" if kind == "json" else b""
    comma = b""
    for sid in ids:
        series = store.get(sid)
        if series is None or cap <= 0:
            continue  # deleted since the count; or the points that arrived since
        ts, values = series.raw(span.start, span.end)  # copies
        ts, values = ts[:cap], values[:cap]
        cap -= len(ts)
        prefix = _prefix(kind, series.entry)
        for lo in range(0, len(ts), EXPORT_SLICE):
            hi = lo + EXPORT_SLICE
            text = await asyncio.to_thread(_rows, kind, prefix, ts[lo:hi], values[lo:hi])
            if kind == "json":
                text, comma = comma + text, b","
            yield text
    if kind == "json":
        yield b"]"
