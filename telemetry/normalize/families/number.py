"""The `number` family: a payload that is one number, optionally with a unit.

`21.5`, ` -3e2 `, `21.5 °C`, `1013hPa` are readings.  `nan`, `inf`, `1e309`,
`true`, `21,5`, `unavailable` and empty payloads are not: each raises
`PayloadError` with a reason that is counted.
"""

from __future__ import annotations

import math
import re

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.units import canonical_unit

_COMMA_DECIMAL = re.compile(r"[+-]?\d+,\d")
_NUMBER = re.compile(r"([+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?)\s*(\S.*)?", re.DOTALL)


def decode_text(payload: bytes) -> str:
    """UTF-8 text without a BOM, or `PayloadError("not_utf8")`."""
    try:
        text = payload.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PayloadError("not_utf8", f"byte {exc.start} is not UTF-8") from None
    return text.removeprefix("\ufeff")


def parse_number(payload: bytes) -> tuple[float, str | None]:
    """The value and canonical unit in `payload`."""
    text = decode_text(payload).strip()
    if not text:
        raise PayloadError("empty", "the payload is empty")
    match = _NUMBER.fullmatch(text)
    if match is not None and _COMMA_DECIMAL.match(text):
        raise PayloadError("comma_decimal", f"{text[:40]!r} has a decimal comma; expected a '.'")
    if match is None:
        raise PayloadError("not_a_number", f"{text[:40]!r} is not a number")
    value = float(match.group(1))
    if not math.isfinite(value):
        raise PayloadError("not_finite", f"{match.group(1)[:40]!r} is out of range")
    unit_text = match.group(2)
    if unit_text is None:
        return value, None
    unit = canonical_unit(unit_text)
    if unit is None:
        raise PayloadError("unknown_unit", f"{unit_text[:40]!r} is not a known unit")
    return value, unit


class Number:
    """MQTT payloads and serial lines that are one number: `21.5`, `21.5 °C`."""

    name = "number"
    transports = ("mqtt", "serial", "sim")
    priority = 1000  # the last resort of `auto`
    topic_sniff = True  # its sniff reads the topic and the payload's first byte only

    def sniff(self, ctx: Context) -> bool:
        return True

    def parse(self, ctx: Context, emit: Emit) -> None:
        device, sensor = ctx.names()
        value, unit = parse_number(ctx.payload)
        emit.reading(device, sensor, value, unit)


FAMILY = Number()
