"""The `kv` family: `key=value` serial lines (`temp=21.5 hum=40`, `T=21.5;H=40`).

Pairs are separated by spaces, commas, semicolons or `&`; the key is the
sensor, the device the port's name.

- A unit is read only when it is one the vocabulary knows (`canonical_unit`),
  written directly after the number (`temp=21.5C`) or as the next part
  (`temp=21.5 C`).  A number followed by other text (`21.5xyz`) is counted as
  `unknown_unit` and gives no reading, as in the `number` family: the text may
  be anything, so the number is not trusted either.
- A value that is text (`state=ON`, `fw=v1.2`) is not a measurement and is
  skipped; `nan`/`inf` values are counted (`not_finite`).
- `T=21,5` (a decimal comma, so `5` left over as a bare part right after the
  pair) is counted as `comma_decimal` rather than read as 21.
- Keys `time`, `timestamp`, `ts`, `datetime`, `date_time` (any case) are the
  device's time (epoch s/ms/µs/ns or ISO 8601), not readings.
- A key may state its unit as a CSV header does (`temp_C=21.5`, `co2(ppm)=400`:
  `_serialtext.split_unit`); a unit after the value wins.
- A key becomes a series once the port has printed it on two lines
  (`_serialtext.confirmed`): its first line is counted as `not_a_reading`.
- Other bare parts (a prefix such as `0R2` on a Vaisala WXT line) are
  ignored.  A line shaped like InfluxDB line protocol (`weather,loc=x temp=21
  1465839830`: a first word without `=`, then a space) is left to `influx`
  by `auto`.
"""

from __future__ import annotations

import re

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._serialtext import (
    INFLUX_LINE,
    MAX_FIELDS,
    NUMBER,
    TIME_NAMES,
    confirmed,
    looks_nonfinite,
    number_prefix,
    sniff_text,
    split_units,
)
from telemetry.units import canonical_unit

_TOKENS = re.compile(r"([^\s,;&]+)([\s,;&]*)")
_SNIFF = re.compile(r"(?:^|[\s,;&])[^\s,;&=]+=\s*" + NUMBER)
_MAX_SNIFF = 4096


def _parts(line: str) -> list[tuple[str, str]]:
    """(part, the separator after it)."""
    return [(m.group(1), m.group(2)) for m in _TOKENS.finditer(line.strip())]


class KeyValue:
    """`key=value` pairs on one serial line."""

    name = "kv"
    transports = ("serial",)
    priority = 60

    def sniff(self, ctx: Context) -> bool:
        line = sniff_text(ctx, _MAX_SNIFF)
        if line is None:
            return False
        return _SNIFF.search(line) is not None and INFLUX_LINE.match(line) is None

    def parse(self, ctx: Context, emit: Emit) -> None:
        device, _ = ctx.names()
        parts = _parts(ctx.text())
        if len(parts) > MAX_FIELDS:
            raise PayloadError("too_many_fields", f"{len(parts)} parts on one line")
        found: list[tuple[str, str, str | None]] = []  # key, number, unit
        when: float | None = None
        index = 0
        while index < len(parts):
            part, sep = parts[index]
            index += 1
            key, equals, value = part.partition("=")
            key = key.strip()
            if not equals or not key:
                continue
            if not value and index < len(parts) and "=" not in parts[index][0]:
                value, sep = parts[index]  # `temp= 21.5`: the value is the next part
                index += 1
            if key.lower() in TIME_NAMES:
                when = emit.device_time(value) if value else None
                continue
            number = number_prefix(value)
            if number is None:
                if looks_nonfinite(value):
                    emit.error("not_finite", f"{key}: {value[:40]!r} is not a number")
                continue  # text such as `ON`: not a measurement
            text, rest = number
            following = parts[index][0] if index < len(parts) else ""
            if not rest and "=" not in following and following:
                if sep == "," and following.isdigit():
                    emit.error("comma_decimal", f"{key}: {value}{sep}{following} has a comma")
                    index += 1
                    continue
                if canonical_unit(following) is not None:
                    rest = following
                    index += 1
            unit = canonical_unit(rest) if rest else None
            if rest and unit is None:
                emit.error("unknown_unit", f"{key}: {rest[:40]!r} is not a known unit")
                continue
            found.append((key, text, unit))
        if not found and not emit.outcome.errors:
            raise PayloadError("no_values", "no key=number pairs on the line")
        names = split_units([key for key, _, _ in found])
        known = confirmed(ctx, emit, (name for name, _ in names))
        for (name, stated), (_, text, unit) in zip(names, found, strict=True):
            if name in known:
                emit.reading(device, name, text, unit or stated, when)


FAMILY = KeyValue()
