"""The `nmea` family: NMEA 0183 sentences from GPS receivers and marine sensors.

- Checksums: every sentence must end in `*HH`, the XOR of the characters
  between `$` and `*`.  NMEA 0183 since 2.3 requires it and it is what guards a
  noisy serial line, so a sentence without one is counted
  (`nmea_no_checksum`), a wrong one `nmea_bad_checksum`; neither is read.
- Names: the device is the port's name; the sensor is `<sentence>.<field>`
  (`GGA.latitude`, `RMC.speed`, `XDR.AirTemp`).  The talker (GP, GN, GL, II,
  WI, ...) is left out, so a receiver that switches from `$GPGGA` to `$GNGGA`
  stays one series; only GSV keeps it (`GSV.GL.satellites_in_view`), as each
  constellation reports its own count.
- Values: latitude and longitude in signed decimal degrees (`°`, south and west
  negative), speeds with their stated unit (`kn`, `km/h`, `m/s`), angles `°`,
  depths and altitudes `m` (a depth given only in feet: `ft`), the age of DGPS
  corrections `s`.  Empty fields (no fix yet) are skipped silently; a
  malformed field is counted (`nmea_bad_field`) and the rest still read.
- Codes are not readings: GGA's fix quality (0 none, 1 GPS, 2 DGPS, 4 RTK...)
  and DGPS station id say how a position was found, not a quantity, and give no
  series; the fix quality still decides whether the position is read.
- Void data: RMC/GLL status `V`, mode `N`, or GGA fix quality 0 give no
  position (counted `nmea_void`, except when the position fields are empty
  anyway); MWV status `V` gives no wind.
- Device time: RMC's date and time (UTC; two-digit years 80-99 are 19xx).
  Other sentences carry a time of day without a date and keep the receive time.
- Read: GGA, RMC, GLL, VTG, GSA, GSV (count in view, from the first sentence of
  a group), XDR (each type/value/unit/name group; `XDR.<name>`, or
  `XDR.<type><n>` when unnamed), MTW, DPT, DBT, DBS, DBK (depth below the
  transducer, surface, keel: the metre field, else the feet field), MWV, HDG,
  HDT, HDM, VHW, MDA, RSA.  ZDA (time only) gives nothing, silently; other
  sentences, proprietary `$P...` ones and `!` (AIS) ones are counted as
  `nmea_unsupported`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._serialtext import MAX_FIELDS, is_number

_ADDRESS = re.compile(r"[A-Z][A-Z0-9]([A-Z]{3})")
_SPEED_UNITS = {"N": "kn", "K": "km/h", "M": "m/s"}
# XDR (transducer type, unit letter) -> unit; NMEA 0183 table of transducer types
_XDR_UNITS = {
    ("C", "C"): "°C",
    ("C", "F"): "°F",
    ("C", "K"): "K",
    ("P", "B"): "bar",
    ("P", "P"): "Pa",
    ("H", "P"): "%",
    ("U", "V"): "V",
    ("I", "A"): "A",
    ("A", "D"): "°",
    ("D", "M"): "m",
    ("F", "H"): "Hz",
    ("T", "R"): "rpm",
    ("V", "M"): "m³",
    ("R", "P"): "%",
}


class _Sentence:
    """One checked sentence's fields, and how its values reach the emitter."""

    __slots__ = ("ctx", "device", "emit", "fields", "kind", "talker", "when")

    def __init__(self, ctx: Context, emit: Emit, talker: str, kind: str, fields: list[str]):
        self.ctx, self.emit = ctx, emit
        self.talker, self.kind, self.fields = talker, kind, fields
        self.device = ctx.names()[0]
        self.when: float | None = None

    def field(self, index: int) -> str:
        return self.fields[index].strip() if index < len(self.fields) else ""

    def number(self, index: int) -> float | None:
        text = self.field(index)
        if not text:
            return None
        if not is_number(text):
            self.emit.error("nmea_bad_field", f"{self.kind} field {index + 1}: {text[:20]!r}")
            return None
        return float(text)

    def put(self, name: str, value: float | None, unit: str | None = None) -> None:
        if value is not None:
            self.emit.reading(self.device, f"{self.kind}.{name}", value, unit, self.when)

    def read(self, index: int, name: str, unit: str | None = None) -> None:
        self.put(name, self.number(index), unit)

    def coordinate(self, index: int, name: str, positive: str, negative: str) -> None:
        """`ddmm.mmmm,N` (`dddmm.mmmm,E`) as signed decimal degrees."""
        value, hemisphere = self.number(index), self.field(index + 1)
        if value is None:
            return
        degrees, minutes = divmod(abs(value), 100.0)
        limit = 90 if positive == "N" else 180
        if hemisphere not in (positive, negative) or minutes >= 60 or degrees > limit:
            self.emit.error("nmea_bad_field", f"{self.kind} {name}: {self.field(index)!r}")
            return
        signed = degrees + minutes / 60.0
        self.put(name, -signed if hemisphere == negative else signed, "°")

    def position(self, index: int, valid: bool) -> None:
        if not valid:
            if self.field(index) or self.field(index + 2):
                self.emit.error("nmea_void", f"{self.kind}: the receiver marks the fix invalid")
            return
        self.coordinate(index, "latitude", "N", "S")
        self.coordinate(index + 2, "longitude", "E", "W")

    def signed(self, index: int, name: str, negative: str) -> None:
        """An angle followed by E/W (magnetic variation, deviation): west negative."""
        value = self.number(index)
        if value is not None:
            self.put(name, -value if self.field(index + 1) == negative else value, "°")

    def positional(self, table: tuple[tuple[int, str, str, str], ...]) -> None:
        for index, letter, name, unit in table:
            if not letter or self.field(index + 1) == letter:
                self.read(index, name, unit)

    def paired(self, start: int, names: dict[str, tuple[str, str]]) -> None:
        """`value,letter` pairs (VTG, VHW, MDA): the letter says which quantity it is."""
        for index in range(start, len(self.fields) - 1, 2):
            found = names.get(self.field(index + 1))
            if found is not None:
                self.read(index, *found)


def _rmc_time(clock: str, date: str) -> float | None:
    if len(clock) < 6 or len(date) != 6 or not (clock[:6] + date).isdigit():
        return None
    year = int(date[4:6])
    try:
        when = dt.datetime(
            year + (1900 if year >= 80 else 2000), int(date[2:4]), int(date[0:2]),
            int(clock[0:2]), int(clock[2:4]), int(clock[4:6]), tzinfo=dt.UTC,
        )  # fmt: skip
    except ValueError:
        return None
    fraction = clock[6:]
    extra = float("0" + fraction) if fraction[:1] == "." and is_number("0" + fraction) else 0.0
    return when.timestamp() + extra


def _gga(s: _Sentence) -> None:
    quality = s.number(5)  # how the fix was found: a code, not a reading
    s.position(1, quality != 0)
    s.read(6, "satellites")
    if quality != 0:  # without a fix, receivers send 99.99 for HDOP and nothing else
        s.read(7, "hdop")
        s.read(8, "altitude", "m")
        s.read(10, "geoid_separation", "m")
        s.read(12, "dgps_age", "s")  # seconds since the last DGPS correction


def _rmc(s: _Sentence) -> None:
    clock, date = s.field(0), s.field(8)
    if clock and date:
        when = _rmc_time(clock, date)
        if when is None:
            s.emit.error("bad_time", f"RMC time {clock[:12]!r} date {date[:8]!r}")
        else:
            s.when = s.emit.device_time(when)
    valid = s.field(1) == "A" and s.field(11)[:1] != "N"
    if not valid:
        s.emit.error("nmea_void", "RMC: the receiver marks the data void")
        return
    s.position(2, True)
    s.read(6, "speed", "kn")
    s.read(7, "course", "°")
    s.signed(9, "magnetic_variation", "W")


def _gll(s: _Sentence) -> None:
    s.position(0, s.field(5) in ("A", "") and s.field(6)[:1] != "N")


def _vtg(s: _Sentence) -> None:
    if s.field(1) in ("T", ""):
        s.paired(0, {"T": ("course", "°"), "M": ("course_magnetic", "°"),
                     "N": ("speed", "kn"), "K": ("speed_kmh", "km/h")})  # fmt: skip
    else:  # NMEA 1.5: course true, course magnetic, knots, km/h without letters
        s.read(0, "course", "°")
        s.read(1, "course_magnetic", "°")
        s.read(2, "speed", "kn")
        s.read(3, "speed_kmh", "km/h")


def _gsa(s: _Sentence) -> None:
    s.read(1, "fix_type")
    s.read(14, "pdop")
    s.read(15, "hdop")
    s.read(16, "vdop")


def _gsv(s: _Sentence) -> None:
    if s.field(1) == "1":
        s.kind = f"GSV.{s.talker}"
        s.read(2, "satellites_in_view")


def _xdr(s: _Sentence) -> None:
    for group, index in enumerate(range(0, len(s.fields) - 1, 4)):
        kind, unit_letter, name = s.field(index), s.field(index + 2), s.field(index + 3)
        unit = _XDR_UNITS.get((kind, unit_letter))
        s.read(index + 1, name or f"{kind}{group}", unit)


def _mwv(s: _Sentence) -> None:
    reference = {"R": "relative", "T": "true"}.get(s.field(1))
    if reference is None or s.field(4) != "A":
        if s.field(4) == "V":
            s.emit.error("nmea_void", "MWV: the sensor marks the wind data invalid")
        return
    s.read(0, f"wind_angle_{reference}", "°")
    s.read(2, f"wind_speed_{reference}", _SPEED_UNITS.get(s.field(3)))


def _hdg(s: _Sentence) -> None:
    s.read(0, "heading", "°")
    s.signed(1, "deviation", "W")
    s.signed(3, "variation", "W")


def _rsa(s: _Sentence) -> None:
    if s.field(1) == "A":
        s.read(0, "starboard", "°")
    if s.field(3) == "A":
        s.read(2, "port", "°")


# MDA fields: (index, the unit letter expected after it or "", sensor, unit);
# positional, because the letters repeat (C for both temperatures, M for both
# a direction and a speed)
_MDA = (
    (2, "B", "pressure", "bar"),
    (4, "C", "air_temperature", "°C"),
    (6, "C", "water_temperature", "°C"),
    (8, "", "humidity", "%"),
    (10, "C", "dew_point", "°C"),
    (12, "T", "wind_direction", "°"),
    (14, "M", "wind_direction_magnetic", "°"),
    (16, "N", "wind_speed", "kn"),
    (18, "M", "wind_speed_ms", "m/s"),
)


def _dpt(s: _Sentence) -> None:
    s.read(0, "depth", "m")
    s.read(1, "offset", "m")


def _depth(s: _Sentence) -> None:
    """DBT, DBS, DBK: `feet,f,metres,M,fathoms,F`; the metres, else the feet."""
    if s.field(3) == "M" and s.field(2):
        s.read(2, "depth", "m")
    elif s.field(1) == "f":
        s.read(0, "depth", "ft")


_HANDLERS: dict[str, Callable[[_Sentence], None]] = {
    "GGA": _gga, "RMC": _rmc, "GLL": _gll, "VTG": _vtg, "GSA": _gsa, "GSV": _gsv,
    "XDR": _xdr, "MWV": _mwv, "HDG": _hdg, "RSA": _rsa,
    "MTW": lambda s: s.read(0, "temperature", "°C" if s.field(1) == "C" else None),
    "DPT": _dpt,
    "DBT": _depth, "DBS": _depth, "DBK": _depth,
    "HDT": lambda s: s.read(0, "heading", "°"),
    "HDM": lambda s: s.read(0, "heading", "°"),
    "VHW": lambda s: s.paired(0, {"T": ("heading", "°"), "M": ("heading_magnetic", "°"),
                                  "N": ("speed", "kn"), "K": ("speed_kmh", "km/h")}),
    "MDA": lambda s: s.positional(_MDA),
    "ZDA": lambda s: None,
}  # fmt: skip


def _checked(line: str) -> str:
    """The sentence between `$` and `*`, its checksum verified."""
    star = line.rfind("*")
    if star < 0:
        raise PayloadError("nmea_no_checksum", f"{line[:20]!r} has no *HH checksum")
    body, given = line[1:star], line[star + 1 :].strip()
    if len(given) != 2 or any(c not in "0123456789ABCDEFabcdef" for c in given):
        raise PayloadError("nmea_bad_checksum", f"{given[:8]!r} is not a two-digit checksum")
    computed = 0
    for byte in body.encode("utf-8", "surrogatepass"):
        computed ^= byte
    if computed != int(given, 16):
        raise PayloadError("nmea_bad_checksum", f"computed {computed:02X}, sentence says {given}")
    return body


class Nmea:
    """NMEA 0183 sentences, one a line."""

    name = "nmea"
    transports = ("serial",)
    priority = 10

    def sniff(self, ctx: Context) -> bool:
        return ctx.payload.lstrip()[:1] in (b"$", b"!")

    def parse(self, ctx: Context, emit: Emit) -> None:
        line = ctx.text().strip()
        if not line.startswith(("$", "!")):
            raise PayloadError("nmea_not_a_sentence", f"{line[:20]!r} does not start with $")
        body = _checked(line)
        fields = body.split(",", MAX_FIELDS)
        address = fields[0]
        match = _ADDRESS.fullmatch(address)
        if line[0] == "!" or address.startswith("P") or match is None:
            raise PayloadError("nmea_unsupported", f"{address[:12]!r} sentences are not read")
        handler = _HANDLERS.get(match.group(1))
        if handler is None:
            raise PayloadError("nmea_unsupported", f"{address[:12]!r} sentences are not read")
        handler(_Sentence(ctx, emit, address[:2], match.group(1), fields[1:]))


FAMILY = Nmea()
