"""Helpers the serial line families (`text`, `plotter`, `kv`, `csv`, `nmea`) share.

Numbers in serial text are read with one strict pattern rather than `float()`,
which would also take `1_0`, `infinity` and surrounding blanks; a device time
found on a line is checked once for the whole line, so a bad clock is counted
once per line rather than once per value.

Names a line gives its values (`Temperature`, `temp`, `AVG5`) become series
only once the port has printed them on two lines (`confirmed`): a boot banner,
a crash dump or line noise prints a label once, a sketch's loop prints it
every time round.  The first line of each new name is what that costs; a CSV
header names its columns at once, and JSON, NMEA, SenML and line protocol
lines, whose grammar is strict, are read from their first line.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable

from telemetry.normalize.base import Context, Emit
from telemetry.units import canonical_unit

# a decimal number, optionally with an exponent: what C's printf and Arduino's
# Serial.print produce; no hex, no `_`, no words
NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER = re.compile(NUMBER)
_NONFINITE = re.compile(r"[+-]?(?:nan|inf|infinity|ovf)", re.IGNORECASE)

# column and key names that carry the device's own time rather than a reading
TIME_NAMES = frozenset({"time", "timestamp", "ts", "datetime", "date_time"})

MAX_FIELDS = 256  # more values than this on one line is not a sensor line

# `measurement[,tag=v...] field=v ...`: InfluxDB line protocol, the influx family's
# (it comes after the text families in `auto`, so they leave such lines to it)
INFLUX_LINE = re.compile(r"[^\s,=]+(?:,[^\s,=]+=[^\s,]+)*\s+[^\s,=]+=")


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


# `temp (°C)`, `pm25[ug/m3]`, `co2(ppm)`: a unit in brackets at the end of a name
_BRACKETED = re.compile(r"^(.*?)\s*[\[(]\s*([^\[\]()]{1,24}?)\s*[\])]$")
# Lower-case one-letter units that are more often a name's end (`temp_h`, `temp_l`
# for high and low, `cell_d`): not units after `_`.
_NOT_SUFFIXES = frozenset({"h", "d", "g", "l"})


def _temperature(stem: str) -> bool:
    """`temp`, `temperature`, `water_temp`: a stem a lone C or F after it is °C or °F."""
    return re.split(r"[\s_]", stem)[-1].lower().startswith("temp")


def _suffix_unit(stem: str, suffix: str, siblings: Collection[str]) -> str | None:
    """The unit `stem_suffix` states: a known one, and, for one letter, no sibling
    `stem_X` whose `X` is none (`motor_A`, `motor_B` are names); a lower-case `c` or
    `f` only after a temperature (`temp_c`)."""
    if suffix in ("c", "f") and _temperature(stem):
        return "°" + suffix.upper()
    if canonical_unit(suffix) is None or suffix in _NOT_SUFFIXES:
        return None
    if len(suffix) > 1:
        return suffix
    for other in siblings:
        head, sep, tail = other.rpartition("_")
        if sep and head == stem and tail != suffix and canonical_unit(tail) is None:
            return None
    return suffix


def split_unit(
    name: str,
    *,
    any_bracketed: bool = False,
    trailing_word: bool = False,
    siblings: Collection[str] = (),
) -> tuple[str, str | None]:
    """(the name without its unit, the unit as written or None) of a column or label
    that states its unit: `temp (°C)`, `pm25[ug/m3]`, `co2(ppm)`, `temp_C`,
    `humidity_%`, `temp_c` (a lower-case c or f only after a temperature); with
    `trailing_word`, also `Temp *C`, `Hum. %`, `Temp C` (one letter only after a
    word starting `temp`).  A bracketed unit must be a known one unless
    `any_bracketed` (a CSV header's `Pression (hectopascal)` is kept as stated)."""
    match = _BRACKETED.match(name)
    if match and match.group(1):
        unit = match.group(2)
        if any_bracketed or canonical_unit(unit) is not None:
            return match.group(1), unit
        return name, None
    stem, sep, suffix = name.rpartition("_")
    if sep and stem and (unit := _suffix_unit(stem, suffix, siblings)):
        return stem, unit
    if trailing_word:
        head, sep, word = name.rpartition(" ")
        head = head.rstrip()
        if sep and head and canonical_unit(word) is not None:
            if len(word) > 1 or not word.isalpha():
                return head, word
            if word in ("C", "F") and _temperature(head):
                return head, word
    return name, None


def split_units(names: list[str], *, any_bracketed: bool = False) -> list[tuple[str, str | None]]:
    """`split_unit` of each of a line's (or a header's) names; two that would become
    one name (`temp_C`, `temp_F`) keep their whole names, and their units."""
    split = [split_unit(n, any_bracketed=any_bracketed, siblings=names) for n in names]
    counts: dict[str, int] = {}
    for name, _ in split:
        counts[name] = counts.get(name, 0) + 1
    return [
        (whole if counts[name] > 1 else name, unit)
        for whole, (name, unit) in zip(names, split, strict=True)
    ]


def confirmed(ctx: Context, emit: Emit, names: Iterable[str]) -> set[str]:
    """The `names` this port has now printed on two lines: a name seen for the first
    time is remembered (in the port's own `State` space: name -> seen twice yet),
    and its value counted as `not_a_reading` (once a line)."""
    seen = ctx.state.space(f"serial-names:{ctx.msg.route.source}")
    known: set[str] = set()
    new: list[str] = []
    for name in dict.fromkeys(names):
        state = seen.get(name)
        if state is None:
            seen[name] = False
            new.append(name)
        else:
            if not state:
                seen[name] = True
            known.add(name)
    if new:
        shown = ", ".join(new)[:60]
        emit.error("not_a_reading", f"{shown!r}: new on this port; read from its next line on")
    return known
