"""The `csv` family: CSV lines from a port that sent a header line first.

- A line whose fields are all names (`time,temp (°C),hum`) is a header: it is
  remembered for the port (the route's source, in the bounded
  `ctx.state.space("csv")`) and gives no reading.  A later header (the device
  rebooted, or its sketch changed) replaces it.  A name is not a number, holds
  no `:` (`var1:`, `Value:377`: the plotter's), is four words at most and does
  not end a sentence (`Could not find a valid BME280 sensor, check wiring!` is
  prose); and a line whose every field ends in a number (`TVOC 12 ppb<TAB>eCO2
  400 ppm`) is labelled values, the text family's, not a header.  A header's
  columns are series from the first data line on: a header is what confirms a
  name at once, where `label: value` lines wait for a second line.  A `#`
  before a header (`# Temperature,Humidity`) is dropped.
- The separator is sniffed from the header: `,`, `;` or a tab, whichever it
  holds most of (commas win ties); data lines are split with the header's.
  Fields may be quoted as RFC 4180 says.
- Data line value i is the reading named by header field i.  A line before
  any header is counted (`no_header`); one with another number of fields than
  the header is counted (`column_count`) and not read, since the columns can
  no longer be matched.  Empty fields are missing values and skipped; a
  non-numeric field is counted (`not_a_number` / `not_finite`).
- A column named `time`, `timestamp`, `ts`, `datetime` or `date_time` (any
  case) is the device's time (epoch s/ms/µs/ns or ISO 8601; zone-less times in
  the port's time zone), not a reading.
- Units: a unit in brackets or parentheses at the end of a header field is
  stated (`temp (°C)`, `temp[C]`, `pm25[ug/m3]`, `pressure (hPa)`), and so is a
  unit the vocabulary knows after the last `_` (`temp_C`, `pressure_hPa`,
  `pm25_ugm3` is a name): it is removed from the sensor name and mapped to the
  vocabulary.  A one-letter suffix is a unit only when no sibling column shares
  the stem with a suffix that is none (`motor_A,motor_B` are names), and `_h`,
  `_d`, `_g`, `_l` are names (`temp_h`, `temp_l`: high and low); see
  `_serialtext.split_unit`.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._serialtext import (
    MAX_FIELDS,
    NUMBER,
    TIME_NAMES,
    is_number,
    looks_nonfinite,
    sniff_text,
    split_units,
)
from telemetry.units import canonical_unit

_SEPARATORS = (",", ";", "\t")
_MAX_SNIFF = 8192
_MAX_WORDS = 4
# `TVOC 12 ppb`, `Raw H2 13000`: a label, a number and perhaps a unit
_ENDS_IN_NUMBER = re.compile(rf".*\s{NUMBER}(?:\s*(\S+))?")


@dataclass(frozen=True, slots=True)
class Header:
    separator: str
    names: tuple[str, ...]  # "" for the time column
    units: tuple[str | None, ...]
    time_index: int | None


def _split(line: str, separator: str) -> list[str]:
    try:
        row = next(csv.reader([line], delimiter=separator), [])
    except csv.Error:  # an unbalanced quote: read the fields as they are
        row = line.split(separator)
    return [field.strip() for field in row]


def _separator(line: str) -> str | None:
    counts = [(line.count(sep), -i, sep) for i, sep in enumerate(_SEPARATORS)]
    count, _, sep = max(counts)
    return sep if count else None


def _name(field: str) -> bool:
    """Not empty, not a number or `nan`/`inf`, no `:`, a few words, not a sentence."""
    return (
        bool(field)
        and not is_number(field)
        and not looks_nonfinite(field)
        and ":" not in field
        and len(field.split()) <= _MAX_WORDS
        and not field.endswith(("!", "?", "..."))
    )


def _labelled_value(field: str) -> bool:
    """`TVOC 12 ppb`, `Raw H2 13000`: a label and a number, not a column name."""
    match = _ENDS_IN_NUMBER.fullmatch(field)
    return match is not None and (
        match.group(1) is None or canonical_unit(match.group(1)) is not None
    )


def _is_header(fields: list[str]) -> bool:
    """Every field a name, and not every one a labelled value."""
    return all(_name(f) for f in fields) and not all(_labelled_value(f) for f in fields)


def _header(line: str) -> Header | None:
    line = line.removeprefix("#").lstrip()  # `# Temperature,Humidity`: a marked header
    separator = _separator(line)
    if separator is None:
        return None
    fields = _split(line, separator)
    if len(fields) < 2 or len(fields) > MAX_FIELDS or not _is_header(fields):
        return None
    names: list[str] = []
    units: list[str | None] = []
    time_index = None
    for i, (name, unit) in enumerate(split_units(fields, any_bracketed=True)):
        is_time = name.lower() in TIME_NAMES and time_index is None
        if is_time:
            time_index = i
        names.append("" if is_time else name)
        units.append(unit)
    return Header(separator, tuple(names), tuple(units), time_index)


class Csv:
    """Comma, semicolon or tab separated serial lines after a header line."""

    name = "csv"
    transports = ("serial",)
    priority = 50

    def sniff(self, ctx: Context) -> bool:
        line = sniff_text(ctx, _MAX_SNIFF)
        if line is None:
            return False
        if "=" in line:
            return False  # `key=value` lines are the kv family's
        known = ctx.state.space(self.name).get(ctx.msg.route.source)
        if known is not None and len(_split(line, known.separator)) == len(known.names):
            return True
        return _header(line) is not None

    def parse(self, ctx: Context, emit: Emit) -> None:
        device, _ = ctx.names()
        line = ctx.text().strip()
        headers = ctx.state.space(self.name)
        header = _header(line)
        if header is not None:
            headers[ctx.msg.route.source] = header
            return
        known: Header | None = headers.get(ctx.msg.route.source)
        if known is None:
            raise PayloadError("no_header", "a CSV line before any header line")
        fields = _split(line, known.separator)
        if len(fields) != len(known.names):
            raise PayloadError(
                "column_count", f"{len(fields)} fields; the header has {len(known.names)}"
            )
        when = None
        if known.time_index is not None and fields[known.time_index]:
            when = emit.device_time(fields[known.time_index])
        for name, unit, field in zip(known.names, known.units, fields, strict=True):
            if not name or not field:
                continue
            if not is_number(field):
                reason = "not_finite" if looks_nonfinite(field) else "not_a_number"
                emit.error(reason, f"{name}: {field[:40]!r} is not a number")
                continue
            emit.reading(device, name, field, unit, when)


FAMILY = Csv()
