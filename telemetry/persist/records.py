"""One commit's changes as the bytes of a log record, and back: lossless and compact.

A record holds, for each series that stored points since the commit before, the
runs of points it stored (in order; late points as runs of one), its catalog
fields when the log has not declared them yet or they changed, and, for a series
whose runs were not all kept, the whole series.  A series is named by a small
key that the log declares once.

Points are encoded column by column, numpy over the whole record, then the
lot goes through zlib:
- times: the difference of each time's 64-bit pattern from the one before (one
  second at 1 Hz is the same few bytes each time), zigzagged so a late point's
  negative difference stays small, then byte-shuffled (all first bytes, all
  second bytes, ...: the constant high bytes become long runs);
- values: a series whose values in the record are all decimals with at most
  `MAX_DECIMALS` digits (what most sensors send) as those integers, differences
  zigzagged and shuffled the same way; other values (full-precision floats) as
  differences of their bit patterns.
Every step is exact: decoding gives back the same bits.  A record that does
not decode raises `BadRecord`.
"""

from __future__ import annotations

import json
import struct
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from telemetry.errors import TelemetryError
from telemetry.history import KINDS, LATE, FloatArray, Run, Runs, SeriesSnapshot

MAX_DECIMALS = 6
RAW = 255  # the scale of a series whose values are stored as bits
POWERS = np.array([float(10**d) for d in range(MAX_DECIMALS + 1)])
EXACT = 2.0**53  # integers up to here are exact as floats
LEVEL = 6  # zlib's default: level 9 gains nothing on shuffled numbers

ROLLUP_COLUMNS = ("<f4", "<f4", "<f4", "<f4", "<f4", "<f4", "<f8", "<u4")  # as Rollup.COLUMNS

AnyArray = npt.NDArray[Any]
U64 = npt.NDArray[np.uint64]


class BadRecord(TelemetryError):
    """A log record that does not decode into changes that fit together."""


@dataclass(frozen=True, slots=True)
class Declared:
    """A series' catalog fields as a record declares them under `key`; `count`,
    `last_ts`, `last_value`: its entry before the record's runs (for a new series)."""

    key: int
    id: str
    device: str
    sensor: str
    unit: str | None
    source: str
    first_seen: float
    count: int
    last_ts: float
    last_value: float


@dataclass(frozen=True, slots=True)
class Points:
    """A record's runs: each run's series (`keys`), the runs as columns (`runs`); the
    runs of one series one after the other."""

    keys: npt.NDArray[np.int64]
    runs: Runs

    @classmethod
    def of(cls, by_key: Sequence[tuple[int, Sequence[Run]]]) -> Points:
        keys = [key for key, runs in by_key for _ in runs]
        return cls(np.array(keys, dtype=np.int64), Runs.of([r for _, runs in by_key for r in runs]))

    def by_key(self) -> list[tuple[int, tuple[Run, ...]]]:
        out: list[tuple[int, list[Run]]] = []
        for key, run in zip(self.keys.tolist(), self.runs.runs(), strict=True):
            if not out or out[-1][0] != key:
                out.append((key, []))
            out[-1][1].append(run)
        return [(key, tuple(runs)) for key, runs in out]


NO_POINTS = Points.of([])


@dataclass(frozen=True, slots=True)
class Record:
    """What one commit changed: declarations, then whole series, then runs by key."""

    seq: int
    declared: tuple[Declared, ...] = ()
    whole: tuple[tuple[int, SeriesSnapshot], ...] = ()
    points: Points = NO_POINTS


# -- numbers -------------------------------------------------------------------------


def _pack_steps(bits: U64) -> AnyArray:
    """Differences of `bits` (wrapping), zigzagged, shuffled by byte: uint8s."""
    steps = np.diff(bits, prepend=np.uint64(0)).view(np.int64)
    zigzag = ((steps << 1) ^ (steps >> 63)).view(np.uint64).astype("<u8", copy=False)
    return np.ascontiguousarray(zigzag.view(np.uint8).reshape(-1, 8).T).reshape(-1)


def _unpack_steps(shuffled: AnyArray, n: int) -> U64:
    if shuffled.size != 8 * n:
        raise BadRecord(f"{shuffled.size} bytes of numbers for {n} numbers")
    zigzag = np.ascontiguousarray(shuffled.reshape(8, n).T).view("<u8").reshape(-1)
    zigzag = zigzag.astype(np.uint64)
    steps = (zigzag >> np.uint64(1)) ^ (np.uint64(0) - (zigzag & np.uint64(1)))
    return np.cumsum(steps, dtype=np.uint64)


def _scales(values: FloatArray, starts: npt.NDArray[np.intp]) -> npt.NDArray[np.uint8]:
    """For each series (its values begin at `starts`), the fewest decimals that give
    every one of its values back exactly, or RAW."""
    chosen = np.full(len(starts), RAW, dtype=np.uint8)
    bits = values.view(np.uint64)
    with np.errstate(over="ignore", invalid="ignore"):
        for decimals, power in enumerate(POWERS):
            scaled = np.rint(values * power)
            fits = np.abs(scaled) <= EXACT  # NaN and infinities do not
            back = np.where(fits, scaled, 0.0).astype(np.int64).astype(np.float64) / power
            exact = fits & (back.view(np.uint64) == bits)
            found = np.logical_and.reduceat(exact, starts) & (chosen == RAW)
            chosen[found] = decimals
            if not (chosen == RAW).any():
                break
    return chosen


def _pack_points(ts: FloatArray, values: FloatArray, counts: AnyArray) -> dict[str, AnyArray]:
    """Every series' points (`counts` of them each, in order) as columns of bytes."""
    starts = np.zeros(len(counts), dtype=np.intp)
    np.cumsum(counts[:-1], out=starts[1:])
    scales = np.full(len(counts), RAW, dtype=np.uint8)
    some = counts > 0
    if some.any():
        scales[some] = _scales(values, starts[some])
    each = np.repeat(scales, counts)
    raw = each == RAW
    decimal = values[~raw] * POWERS[each[~raw]]
    return {
        "scales": scales,
        "ts": _pack_steps(ts.view(np.uint64)),
        "ints": _pack_steps(np.rint(decimal).astype(np.int64).view(np.uint64)),
        "floats": _pack_steps(values[raw].view(np.uint64)),
    }


def _unpack_points(columns: dict[str, AnyArray], counts: AnyArray) -> tuple[FloatArray, FloatArray]:
    n = int(counts.sum())
    scales = columns["scales"]
    if len(scales) != len(counts) or np.any((scales > MAX_DECIMALS) & (scales != RAW)):
        raise BadRecord("the scales do not fit the series")
    each = np.repeat(scales, counts)
    raw = each == RAW
    values = np.empty(n)
    values[raw] = _unpack_steps(columns["floats"], int(raw.sum())).view(np.float64)
    ints = _unpack_steps(columns["ints"], n - int(raw.sum())).view(np.int64)
    values[~raw] = ints.astype(np.float64) / POWERS[each[~raw]]
    return _unpack_steps(columns["ts"], n).view(np.float64), values


# -- a bundle: a JSON head naming arrays, then their bytes -----------------------------

HEAD = struct.Struct("<I")


def _bundle(head: dict[str, Any], arrays: dict[str, AnyArray]) -> bytes:
    head = {**head, "arrays": [[name, a.dtype.str, a.size] for name, a in arrays.items()]}
    text = json.dumps(head, separators=(",", ":")).encode()
    return b"".join([HEAD.pack(len(text)), text, *(a.tobytes() for a in arrays.values())])


def _unbundle(data: bytes) -> tuple[dict[str, Any], dict[str, AnyArray]]:
    try:
        (size,) = HEAD.unpack_from(data)
        head = json.loads(data[HEAD.size : HEAD.size + size])
        offset = HEAD.size + size
        arrays = {}
        for name, dtype, count in head.pop("arrays"):
            kind = np.dtype(dtype)
            if kind.kind not in "fiu" or count < 0 or offset + count * kind.itemsize > len(data):
                raise BadRecord(f"array {name!r} does not fit the record")
            arrays[name] = np.frombuffer(data, kind, count, offset).astype(kind.newbyteorder("="))
            offset += count * kind.itemsize
    except (struct.error, ValueError, TypeError, KeyError) as exc:
        raise BadRecord(f"the record's head does not decode: {exc}") from None
    if offset != len(data) or not isinstance(head, dict):
        raise BadRecord("the record has bytes no array claims")
    return head, arrays


# -- whole series ---------------------------------------------------------------------


def _whole_head(key: int, s: SeriesSnapshot) -> list[Any]:
    fields = [s.id, s.device, s.sensor, s.unit, s.source, s.first_seen, s.last_ts, s.last_value]
    rollups = [[width, newest, oldest, len(cols[0])] for width, newest, oldest, cols in s.rollups]
    return [key, *fields, s.count, len(s.raw[0]), len(s.held[0]), rollups]


def _whole_arrays(i: int, s: SeriesSnapshot) -> dict[str, AnyArray]:
    out = {f"w{i}r{j}": np.asarray(a, "<f8") for j, a in enumerate((*s.raw, *s.held))}
    for r, (_, _, _, columns) in enumerate(s.rollups):
        for c, (column, dtype) in enumerate(zip(columns, ROLLUP_COLUMNS, strict=True)):
            out[f"w{i}u{r}c{c}"] = np.asarray(column, dtype)
    return out


def _whole(i: int, head: list[Any], arrays: dict[str, AnyArray]) -> tuple[int, SeriesSnapshot]:
    key, sid, device, sensor, unit, source, first_seen, last_ts, last_value, count = head[:10]
    raw, held, rollups = head[10:]
    ts, values, held_ts, held_values = (arrays[f"w{i}r{j}"] for j in range(4))
    if len(ts) != raw or len(held_ts) != held:
        raise BadRecord(f"whole series {sid!r}: its points do not fit")
    saved = []
    for r, (width, newest, oldest, _size) in enumerate(rollups):
        columns = tuple(arrays[f"w{i}u{r}c{c}"] for c in range(len(ROLLUP_COLUMNS)))
        saved.append((float(width), int(newest), int(oldest), columns))
    snapshot = SeriesSnapshot(
        id=str(sid),
        device=str(device),
        sensor=str(sensor),
        unit=None if unit is None else str(unit),
        source=str(source),
        first_seen=float(first_seen),
        last_ts=float(last_ts),
        last_value=float(last_value),
        count=int(count),
        raw=(ts, values),
        rollups=tuple(saved),
        held=(held_ts, held_values),
    )
    return int(key), snapshot


# -- records --------------------------------------------------------------------------


def encode(record: Record) -> bytes:
    """The record as bytes (compressed)."""
    keys, runs = record.points.keys, record.points.runs
    arrays: dict[str, AnyArray] = {
        "keys": keys.astype("<u4"),
        "counts": runs.lengths.astype("<u4"),
        "kinds": runs.kinds.astype("u1"),
    }
    if len(keys):  # points grouped by series for the scales: consecutive runs of one key
        firsts = np.flatnonzero(np.diff(keys, prepend=-1))
        arrays.update(_pack_points(runs.ts, runs.values, np.add.reduceat(runs.lengths, firsts)))
    for i, (_, snapshot) in enumerate(record.whole):
        arrays.update(_whole_arrays(i, snapshot))
    head = {
        "seq": record.seq,
        "declared": [
            [
                d.key,
                d.id,
                d.device,
                d.sensor,
                d.unit,
                d.source,
                d.first_seen,
                d.count,
                d.last_ts,
                d.last_value,
            ]
            for d in record.declared
        ],
        "whole": [_whole_head(key, s) for key, s in record.whole],
    }
    return zlib.compress(_bundle(head, arrays), LEVEL)


def decode(data: bytes) -> Record:
    """The record `encode` gave these bytes for; BadRecord when they do not decode."""
    try:
        head, arrays = _unbundle(zlib.decompress(data))
        declared = tuple(_declared(fields) for fields in head["declared"])
        whole = tuple(_whole(i, h, arrays) for i, h in enumerate(head["whole"]))
        return Record(int(head["seq"]), declared, whole, _points(arrays))
    except BadRecord:
        raise
    except (zlib.error, ValueError, TypeError, KeyError, IndexError) as exc:
        raise BadRecord(f"the record does not decode: {exc!r}") from None


def _declared(fields: list[Any]) -> Declared:
    key, sid, device, sensor, unit, source, first_seen, count, last_ts, last_value = fields
    return Declared(
        int(key),
        str(sid),
        str(device),
        str(sensor),
        None if unit is None else str(unit),
        str(source),
        float(first_seen),
        int(count),
        float(last_ts),
        float(last_value),
    )


def _points(arrays: dict[str, AnyArray]) -> Points:
    keys, counts, kinds = arrays["keys"], arrays["counts"].astype(np.int64), arrays["kinds"]
    if not len(keys):
        return NO_POINTS
    if len(counts) != len(keys) or len(kinds) != len(keys) or not np.isin(kinds, KINDS).all():
        raise BadRecord("the runs do not fit their keys")
    firsts = np.flatnonzero(np.diff(keys.astype(np.int64), prepend=-1))
    ts, values = _unpack_points(arrays, np.add.reduceat(counts, firsts))
    run = np.repeat(np.arange(len(counts)), counts)  # the run of each point
    falls = (run[1:] == run[:-1]) & ~(ts[1:] > ts[:-1]) & (kinds[run[1:]] != LATE)
    if falls.any():
        raise BadRecord("a run's times do not rise")
    return Points(keys.astype(np.int64), Runs(counts, kinds.astype(np.uint8), ts, values))
