"""The `senml` family: SenML JSON packs (RFC 8428, `application/senml+json`).

What the RFC says, and how it is read here:
- A pack is a JSON array of record objects.  Base fields (`bn`, `bt`, `bu`,
  `bv`, `bs`, `bver`) apply to their record and every later one until a record
  sets them again (section 4).  Name = `bn` + `n`; time = `bt` + `t`;
  value = `bv` + `v`; unit = `u`, else `bu` (sections 4.5.1 to 4.5.4).
- Time (section 4.5.3): a total below 2**28 (268,435,456) is relative to "now",
  which here is the receive time (0 = now: the reading keeps its receive time
  and is not marked as a device time; -5 = five seconds before it); from 2**28
  on it is absolute Unix seconds.  Times are always seconds, never guessed by
  size.  RFC 8428 has no "resolution" field: the time rule above is all it
  says about time resolution.  `ut` (update time) is ignored.
- Values: `v` is a reading.  `vs`, `vb`, `vd` (text, boolean, data) are not
  numbers and are skipped without an error.  `s` (sum, "the integral of the
  value over time", in unit times seconds) is a reading of its own, sensor
  `<sensor>.sum`, unit `<unit>·s`; with `bs` set, every later record has a sum.
- Validation, counted per record while the rest of the pack is still read: a
  record that is not an object or has a field of the wrong type
  (`bad_record`), more than one value field (`bad_record`), no value and no sum
  (`no_value`), an empty resolved name (`no_name`), a name outside the RFC's
  characters `A-Za-z0-9-:./_` or not starting with a letter or digit
  (`bad_name`), a label ending in `_` (`must_understand`, section 4.4: such a
  field must not be ignored).  A `bver` above 10 rejects the whole pack
  (`senml_version`: "MUST NOT use this object").  A record of base fields
  only (RFC section 5.1.7's `{"bn": ...}` header) is no error.
- One deliberate leniency: a name may start with `/`, because OMA LwM2M's
  SenML names resources by object path (`/3303/0/5700`), which RFC 8428 does
  not allow; such a path never names the device.

Device and sensor (decided here; SenML itself has no such split):
- When a record has both `bn` and `n`, `bn` is the device (less one trailing
  `:` or `/`, as in `urn:dev:ow:10e2073a01080063:`) and `n` the sensor.
- When its name comes whole from `bn` or from `n`, that name is the device
  (RFC 4.2: it "must uniquely identify the resource") and the record's stated
  unit the sensor (`%RH`, `lon`, `lat`; `value` when none, or when the unit
  has no letter or digit, like `/`): RFC 5.1.3 tells one device's quantities
  apart only by unit, and so its resolved form (5.1.4) gives the same series.
- A name that is a `/` path (LwM2M) never names a device: the device is the
  topic's first level, the path the sensor.
- With a topic template's `{device}` or the route's fixed device (a serial
  port), that is the device; the sensor is `n` when the record has both `bn`
  and `n` (the base name names the device the template already names: no
  `urn:dev:...:` prefix, no repeated device name in the sensor), else the
  whole resolved name, with `/<unit>` after it in the unsplit case above.
  No other structure is read into names.
"""

from __future__ import annotations

import math
import re
from typing import Any

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._explicit_time import reading_at

RELATIVE_LIMIT = 2**28  # RFC 8428 section 4.5.3
MAX_VERSION = 10  # the version RFC 8428 defines, and the default
BASE_FIELDS = ("bn", "bt", "bu", "bv", "bs", "bver")
VALUE_FIELDS = ("v", "vs", "vb", "vd")
_NAME = re.compile(r"/?[A-Za-z0-9][A-Za-z0-9\-:./_]*")
_SNIFF_KEYS = ("n", "bn", "v", "bt", "bu")

# SenML-registered spellings (RFC 8428 section 12.1) the unit vocabulary does
# not know yet; `Cel` and `%RH` it already maps.  Anything else is kept as stated.
SENML_UNITS = {
    "%EL": "%",  # remaining battery energy level, in percent
    "lat": "°",  # degrees latitude
    "lon": "°",  # degrees longitude
    "l": "L",
    "m3": "m³",
}


def _number(value: Any) -> float | None:
    """A finite float from a JSON number (not a boolean, not text)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    try:
        number = float(value)
    except OverflowError:
        return None
    return number if math.isfinite(number) else None


class _Base:
    """The base fields in force at one record of a pack."""

    __slots__ = ("bn", "bs", "bt", "bu", "bv")

    def __init__(self) -> None:
        self.bn = ""
        self.bt = 0.0
        self.bu: str | None = None
        self.bv = 0.0
        self.bs: float | None = None

    def update(self, record: dict[str, Any]) -> str | None:
        """Apply the record's base fields; the first field of the wrong type, if any."""
        for key in ("bn", "bu"):
            if key in record and not isinstance(record[key], str):
                return key
        for key in ("bt", "bv", "bs"):
            if key in record and _number(record[key]) is None:
                return key
        self.bn = record.get("bn", self.bn)
        self.bu = record.get("bu", self.bu)
        self.bt = _number(record.get("bt", self.bt)) or 0.0
        self.bv = _number(record.get("bv", self.bv)) or 0.0
        if "bs" in record:
            self.bs = _number(record["bs"])
        return None


def _check_version(pack: list[Any]) -> None:
    for record in pack:
        if isinstance(record, dict) and "bver" in record:
            version = record["bver"]
            if isinstance(version, int) and not isinstance(version, bool) and version > MAX_VERSION:
                raise PayloadError(
                    "senml_version", f"SenML version {version} is newer than {MAX_VERSION}"
                )


class SenML:
    name = "senml"
    transports = ("mqtt", "serial")
    priority = 30  # before the generic `json` family, which would read it as a plain tree
    json_only = True  # its sniff is False unless the payload starts with { or [

    def sniff(self, ctx: Context) -> bool:
        if ctx.payload.lstrip()[:1] != b"[" and not ctx.payload.startswith(b"\xef\xbb\xbf"):
            return False
        try:
            data = ctx.json()
        except PayloadError:
            return False
        return (
            isinstance(data, list)
            and bool(data)
            and isinstance(data[0], dict)
            and any(key in data[0] for key in _SNIFF_KEYS)
        )

    def parse(self, ctx: Context, emit: Emit) -> None:
        pack = ctx.json()
        if not isinstance(pack, list):
            raise PayloadError("not_senml", "a SenML pack is a JSON array of records")
        if not pack:
            raise PayloadError("empty", "the SenML pack has no records")
        _check_version(pack)
        base = _Base()
        for index, record in enumerate(pack):
            self._record(ctx, emit, base, index, record)

    def _record(self, ctx: Context, emit: Emit, base: _Base, index: int, record: Any) -> None:
        where = f"record {index}"
        if not isinstance(record, dict):
            emit.error("bad_record", f"{where} is not an object")
            return
        strict = next((k for k in record if isinstance(k, str) and k.endswith("_")), None)
        if strict is not None:
            emit.error("must_understand", f"{where}: unknown field {strict[:40]!r}")
            return
        version = record.get("bver", MAX_VERSION)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            emit.error("bad_record", f"{where}: bver {str(version)[:20]!r} is not a version")
            return
        wrong = base.update(record)
        if wrong is None:
            wrong = next(
                (k for k in ("n", "u") if k in record and not isinstance(record[k], str)), None
            )
        if wrong is None:
            wrong = next(
                (k for k in ("s", "t") if k in record and _number(record[k]) is None), None
            )
        if wrong is not None:
            emit.error("bad_record", f"{where}: {wrong!r} has the wrong type")
            return
        values = [key for key in VALUE_FIELDS if key in record]
        has_sum = "s" in record or base.bs is not None
        if not values and not has_sum and all(key in BASE_FIELDS for key in record):
            return  # a header of base fields only (RFC 8428 section 5.1.7)
        if len(values) > 1:
            emit.error("bad_record", f"{where} has {len(values)} value fields; one is allowed")
            return
        if not values and not has_sum:
            emit.error("no_value", f"{where} has no value and no sum")
            return
        name = base.bn + record.get("n", "")
        if not name:
            emit.error("no_name", f"{where} has no name and no base name")
            return
        if not _NAME.fullmatch(name):
            emit.error("bad_name", f"{where}: {name[:60]!r} has characters SenML forbids")
            return
        unit_text: str | None = record.get("u", base.bu)
        names = self._names(ctx, emit, base.bn, record.get("n", ""), unit_text)
        if names is None:
            return
        device, sensor = names
        seconds = self._time(ctx, base.bt + (_number(record.get("t", 0)) or 0.0))
        unit = SENML_UNITS.get(unit_text, unit_text) if unit_text else None
        if values == ["v"]:
            value = record["v"]
            number = _number(value)
            if number is not None:
                reading_at(emit, device, sensor, number + base.bv, unit=unit, seconds=seconds)
            elif isinstance(value, float):  # NaN or an infinity: emit counts it as not_finite
                emit.reading(device, sensor, value)
            else:  # JSON text, boolean or null where RFC 8428 wants a Number
                emit.error("not_a_number", f"{sensor}: {str(value)[:40]!r} is not a JSON number")
        if has_sum:
            total = (base.bs or 0.0) + (_number(record.get("s", 0)) or 0.0)
            sum_unit = f"{unit_text}·s" if unit_text else None
            reading_at(emit, device, f"{sensor}.sum", total, unit=sum_unit, seconds=seconds)

    @staticmethod
    def _time(ctx: Context, total: float) -> float | None:
        """Epoch seconds of a record's time, or None for "now" (RFC 8428 section 4.5.3)."""
        if total >= RELATIVE_LIMIT:
            return total
        if total == 0:
            return None
        return ctx.msg.recv_ts + total

    @staticmethod
    def _names(
        ctx: Context, emit: Emit, bn: str, n: str, unit_text: str | None
    ) -> tuple[str, str] | None:
        leaf = unit_text if unit_text and any(c.isalnum() for c in unit_text) else "value"
        name = bn + n
        split = bool(bn and n) and not bn.startswith("/")
        if ctx.device:
            if split:
                return ctx.device, n
            return ctx.device, name if name.startswith("/") else f"{name}/{leaf}"
        if split:
            return bn[:-1] if bn[-1] in ":/" else bn, n
        if not name.startswith("/"):
            return name.rstrip(":/") or name, leaf
        try:
            device, _ = ctx.names()
        except PayloadError as exc:
            emit.error(exc.reason, exc.detail)
            return None
        return device, name


FAMILY = SenML()
