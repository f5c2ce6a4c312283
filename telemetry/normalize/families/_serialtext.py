"""Helpers the serial line families (`plotter`, `kv`, `csv`, `nmea`) share.

Numbers in serial text are read with one strict pattern rather than `float()`,
which would also take `1_0`, `infinity` and surrounding blanks; a device time
found on a line is checked once for the whole line, so a bad clock is counted
once per line rather than once per value.
"""

from __future__ import annotations

import re

from telemetry.normalize.base import Context

# a decimal number, optionally with an exponent: what C's printf and Arduino's
# Serial.print produce; no hex, no `_`, no words
NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER = re.compile(NUMBER)
_NONFINITE = re.compile(r"[+-]?(?:nan|inf|infinity|ovf)", re.IGNORECASE)

# column and key names that carry the device's own time rather than a reading
TIME_NAMES = frozenset({"time", "timestamp", "ts", "datetime", "date_time"})

MAX_FIELDS = 256  # more values than this on one line is not a sensor line


def is_number(text: str) -> bool:
    """Whether `text` is exactly one decimal number."""
    return len(text) <= 64 and _NUMBER.fullmatch(text) is not None


def number_prefix(text: str) -> tuple[str, str] | None:
    """(the number `text` starts with, the rest), or None if it starts with none."""
    match = _NUMBER.match(text[:128])
    if match is None:
        return None
    return match.group(0), text[match.end() :]


def looks_nonfinite(text: str) -> bool:
    """`nan`, `inf`, `-Infinity`, `ovf` (an Arduino `Serial.print` of an overflow)."""
    return _NONFINITE.fullmatch(text.strip()) is not None


def sniff_text(ctx: Context, limit: int) -> str | None:
    """The line as text if a plain-text family may claim it, else None.

    Not over `limit` bytes, valid UTF-8 (a BOM dropped), and not NMEA (`$`, `!`)
    or JSON (`{`, `[`), whose families come first.
    """
    payload = ctx.payload
    if len(payload) > limit or payload[:1] in (b"$", b"!", b"{", b"["):
        return None
    try:
        return payload.decode("utf-8").removeprefix("\ufeff")
    except UnicodeDecodeError:
        return None
