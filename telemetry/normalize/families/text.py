"""The `text` family: labelled values as sensor libraries' example sketches print them.

Each line is read as the examples of the common Arduino libraries write it
(the sources are the corpus's, `tests/corpus/text.json`):

    Temperature = 24.00 *C                  Adafruit BME280, BMP280, BME680
    Temp *C = 24.51                         Adafruit SHT31 (the unit in the label)
    Humidity: 45.00%  Temperature: 23.00°C 73.40°F  Heat index: 22.92°C 73.26°F
                                            Adafruit DHT (a second unit of a value)
    TVOC 12 ppb<TAB>eCO2 400 ppm            Adafruit SGP30 (`key value unit`)
    PM 1.0: 0<TAB><TAB>PM 2.5: 1            Adafruit PM2.5 AQI
    Humidity: 45 Pressure: 101325 Alt: 12.3 Temp: 75.20      SparkFun BME280
    co2(ppm):400 temp(C):25.1 humidity(%):40.5               SparkFun SCD30
    Temperature for the device 1 (index 0) is: 23.50         DallasTemperature
    2021-07-29 15:57:01: PM1 1.0, PM2.5 11.0, PM10 12.0 μg/m3  PyPMS

- Fields are cut at tabs, `|`, `;` and commas (not a comma between two digits).
  In a field with `:` or `=`, a label is the text before the separator and its
  value the number after it; several such pairs may share a field (`Alt: 12.3
  Temp: 75.20`), the text after one value and its unit being the next label.
  A field without either is `label number [unit]`, repeated, and nothing else
  (`Restarting in 10 seconds...` is prose, not a reading).
- A unit is one the vocabulary knows (`units.canonical_unit`), written right
  after the number (`45.00%`, `23.00°C`) or as the next word or two (`24.00 *C`,
  `24.1 degrees C`), or at the end of the label (`Temp *C`, `co2(ppm)`,
  `temp_C`: `_serialtext.split_unit`).  Other words after a number are the next
  label, except one word that ends a `label: value` field (`Heart rate: 72
  bpm`, `Free heap: 123456 bytes`): a unit the vocabulary lacks, kept as
  written.  A unit is never guessed.
- A second number with its own unit right after a value (the DHT's `73.40°F`
  after `23.00°C`) is the same quantity in another unit: `Temperature °F`.  A
  name given twice on one line is told apart the same way (`Temp C: 23.50 Temp
  F: 74.30` is `Temp` in °C and `Temp °F`), and so is a name the port printed
  before with another unit (`O3 : 21 ppb`, then `O3 : 0.04 mg/m3`).
- A unit written once after the last of several comma-separated `label number`
  fields, none stating its own, is the unit of all of them (PyPMS's `PM1 1.0,
  PM2.5 11.0, PM10 12.0 μg/m3`).  Axes (one letter) after a quantity's first
  are that quantity's, and share its unit: `Acceleration X: 0.12, Y: 0.34, Z:
  9.81 m/s^2` is `Acceleration X`, `Acceleration Y`, `Acceleration Z` in m/s^2
  (Adafruit MPU6050).
- A line may start with its time, `YYYY-MM-DD HH:MM:SS` (ISO 8601, a `T` or a
  space): the device time of its values, zone-less in the port's time zone
  (else the machine's).  Tags in brackets first (`[ 12345 ms -> 501 ms ] IR:
  123`, Adafruit TSL2591; `[DHT] Temp: 21`) are skipped; a number alone after
  them (`[ 500 ms ] 123.45 lux`) is read as the `number` family reads one.  A
  value labelled `time`, `timestamp` or `ts` is the device time too when it is
  one (epoch s, ms, µs, ns after 2000); a smaller one is a counter such as
  `millis()` (SparkFun HTU21D's `Time:12345`), read as any other value.
- A value that is text (`Sensor Type: DHT22`, `Device Address: 28FF...`, a hex
  `0x1F`) is skipped; `nan`, `inf`, `ovf` are counted (`not_finite`); `21,5`
  is counted (`comma_decimal`).  A line with no labelled number at all (`BME280
  test`, `Failed to read from DHT sensor!`) is counted as `not_a_reading`.
- A new label becomes a series once the port has printed it on two lines
  (`_serialtext.confirmed`): the first line of each name is counted as
  `not_a_reading`, so a boot banner or a crash dump makes no series.

`auto` gives this family every labelled line that is not `key=value` (`kv`'s):
the Arduino Serial Plotter's `a:1,b:2` reads the same here, and a label with a
space is kept whole (`Label 1:10` is `Label 1`, where the IDE 2 plotter shows
`1`; `format = "plotter"` reads as the plotter does).  Lines of numbers alone
are the plotter's (`value 1`, `value 2`, ...) or `number`'s.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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
    split_unit,
)
from telemetry.normalize.families.number import parse_number
from telemetry.normalize.timestamps import EARLIEST, epoch_seconds
from telemetry.units import canonical_unit

_MAX_SNIFF = 4096
_MAX_LABEL = 64
_STAMP = re.compile(
    r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:?\d{2})?)\s*[:,;|]?\s*"
)
_STAMP_START = re.compile(rb"\d{4}-\d{2}-\d{2}[T ]\d{2}:")
_FIELDS = re.compile(r"\t+|\s*[|;]\s*|(?<!\d),\s*|,(?!\d)\s*")
# a clock time (`12:34:56`) is one token, not a label and a value
_TOKENS = re.compile(r"\d{1,2}:\d{2}:\d{2}(?:\.\d+)?(?![\d:])|[:=]|[^\s:=]+")
_SEPARATORS = (":", "=")
_LETTER = re.compile(r"[^\W\d_]")
_COMMA_DECIMAL = re.compile(r"[+-]?\d+,\d+")
# a word that can be a unit the vocabulary lacks (`bpm`, `uT`, `bytes`, `m/s^2`)
_STATED = re.compile(r"(?=.*[^\W\d_])[\w/^%°µ²³·-]{1,8}")
# `[ 12345 ms -> 501 ms ] IR: 123` (Adafruit TSL2591), `[DHT] Temp: 21`: tags first
_TAGS = re.compile(r"(?:\[[^\]\[{\"]{0,40}\]\s*)*")
_BARE = re.compile(rf"{NUMBER}(?:\s*\S+)?")
_TAIL = re.compile(r"\s+(?:is|are|was|=)$")


@dataclass(slots=True)
class _Field:
    label: str
    number: str
    unit: str | None
    spaced: bool  # `label number`, not `label: number`


def _value(token: str) -> tuple[str, str | None] | None:
    """(number, unit written onto it) of `23.00°C`, `45.00%`, `12`; None for text."""
    found = number_prefix(token)
    if found is None:
        return None
    number, rest = found
    if not rest:
        return number, None
    return (number, rest) if canonical_unit(rest) is not None else None


def _unit_after(tokens: list[str], at: int, *, pairs: bool) -> tuple[str | None, int]:
    """A unit in the words at `at` (two words, then one), and where reading goes on.
    With `pairs` (a `label: value` field) a word followed by `:` is the next label."""
    for width in (2, 1):
        words = tokens[at : at + width]
        if len(words) < width or any(w in _SEPARATORS for w in words):
            continue
        follows = tokens[at + width] if at + width < len(tokens) else ""
        if pairs and follows in _SEPARATORS:
            continue
        if canonical_unit(" ".join(words)) is not None:
            return " ".join(words), at + width
    return None, at


def _label(words: list[str]) -> str | None:
    """The label `words` make: trimmed of decoration and of a closing `is`
    (`Temperature for the device 1 (index 0) is: 23.50`); None without a letter."""
    text = _TAIL.sub("", " ".join(words).strip(" -*#>"))
    if not text or len(text) > _MAX_LABEL or _LETTER.search(text) is None:
        return None
    return text


class _Reader:
    """One line's fields, and what is wrong with its values."""

    def __init__(self, emit: Emit) -> None:
        self.emit = emit
        self.fields: list[_Field] = []
        self.when: float | None = None
        self.flawed = False  # a label's value was meant as a number and is none

    def add(self, label: str, number: str, unit: str | None, *, spaced: bool) -> None:
        if label.lower() in TIME_NAMES and epoch_seconds(float(number)) >= EARLIEST:
            self.when = self.emit.device_time(number)
            return
        self.fields.append(_Field(label, number, unit, spaced))

    def bad(self, label: str, token: str) -> None:
        """A label's value that is not a number: counted when it is meant as one."""
        if looks_nonfinite(token):
            self.emit.error("not_finite", f"{label}: {token[:40]!r} is not a number")
            self.flawed = True
        elif _COMMA_DECIMAL.fullmatch(token):
            self.emit.error("comma_decimal", f"{label}: {token[:40]!r} has a decimal comma")
            self.flawed = True

    def pairs(self, tokens: list[str]) -> None:
        """`label: value [unit] label: value ...`."""
        words: list[str] = []
        at = 0
        while at < len(tokens):
            token = tokens[at]
            at += 1
            if token not in _SEPARATORS:
                words.append(token)
                continue
            label, words = _label(words), []
            if at >= len(tokens) or tokens[at] in _SEPARATORS:
                continue
            token = tokens[at]
            at += 1
            found = _value(token)
            if label is None:
                continue
            if found is None:
                self.bad(label, token)
                continue
            number, unit = found
            if unit is None:
                unit, at = _unit_after(tokens, at, pairs=True)
            if unit is None and at == len(tokens) - 1 and _STATED.fullmatch(tokens[at]):
                unit, at = tokens[at], at + 1  # `Heart rate: 72 bpm`: the field's last word
            self.add(label, number, unit, spaced=False)
            at = self._alternates(tokens, at, label, unit)

    def _alternates(self, tokens: list[str], at: int, label: str, unit: str | None) -> int:
        """The DHT's `23.00°C 73.40°F`: more values of one label, each with its unit."""
        while unit is not None and at < len(tokens):
            found = _value(tokens[at])
            if found is None:
                break
            number, other = found
            end = at + 1
            if other is None:
                other, end = _unit_after(tokens, at + 1, pairs=True)
            if other is None or canonical_unit(other) == canonical_unit(unit):
                break
            self.add(label, number, other, spaced=False)
            at = end
        return at

    def spaced(self, tokens: list[str]) -> None:
        """`label number [unit]`, repeated, filling the field; else nothing."""
        found: list[_Field] = []
        words: list[str] = []
        at = 0
        while at < len(tokens):
            token = tokens[at]
            at += 1
            value = _value(token) if words else None
            if value is None:
                words.append(token)
                continue
            label = _label(words)
            if label is None:
                return
            number, unit = value
            if unit is None:
                unit, at = _unit_after(tokens, at, pairs=False)
            found.append(_Field(label, number, unit, True))
            words = []
        if words or not found:
            return  # prose around the numbers: not a table of readings
        for f in found:
            self.add(f.label, f.number, f.unit, spaced=True)


def _share_last_unit(fields: list[_Field], line: str) -> None:
    """PyPMS's `PM1 1.0, PM2.5 11.0, PM10 12.0 μg/m3`: one unit for the list."""
    if len(fields) < 2 or "," not in line or any(c in line for c in "\t|;"):
        return
    *first, last = fields
    if last.unit is None or not last.spaced:
        return
    if all(f.spaced and f.unit is None for f in first):
        for f in first:
            f.unit = last.unit


def _axes(fields: list[_Field]) -> None:
    """Axes: one-letter labels (`X`, `Y`, `Z`) after a first one, until one repeats,
    are a group.  After `<quantity> <axis>` they are that quantity's
    (Adafruit MPU6050's `Acceleration X: 0.12, Y: 0.34, Z: 9.81 m/s^2` is
    `Acceleration Y`...), and a unit stated once in a group is all of its axes'
    (Adafruit LIS3DH's raw `X: -144 Y: 208 Z: 16400`, then `X: -0.05 Y: 0.09 Z:
    9.81 m/s^2`: the second group is in m/s^2)."""
    at = 0
    while at < len(fields):
        first = fields[at]
        head, _, axis = first.label.rpartition(" ")
        end = at + 1
        if not first.spaced and len(axis) == 1 and axis.isalpha():
            seen = {axis}
            while end < len(fields) and _is_axis(fields[end], seen):
                seen.add(fields[end].label)
                if head:
                    fields[end].label = f"{head} {fields[end].label}"
                end += 1
            units = {f.unit for f in fields[at:end] if f.unit is not None}
            if end - at > 1 and len(units) == 1:
                for f in fields[at:end]:
                    f.unit = f.unit or next(iter(units))
        at = end


def _is_axis(field: _Field, seen: set[str]) -> bool:
    label = field.label
    return not field.spaced and len(label) == 1 and label.isalpha() and label not in seen


def _with_unit(name: str, unit: str | None) -> str:
    return f"{name} {canonical_unit(unit) or unit}" if unit else name


def _named(ctx: Context, fields: list[_Field]) -> list[tuple[str, str, str | None]]:
    """(sensor, number, unit) of each field: the unit out of the label, and a name
    given twice on the line, or printed before with another unit (`Concentration
    O3 : 21 ppb`, then `Concentration O3 : 0.04 mg/m3`), told apart by its unit."""
    labels = [f.label for f in fields]
    first_units = ctx.state.space(f"text-units:{ctx.msg.route.source}")
    out: list[tuple[str, str, str | None]] = []
    taken: set[str] = set()
    for f in fields:
        name, stated = split_unit(f.label, trailing_word=True, siblings=labels)
        unit = f.unit or stated
        known = canonical_unit(unit) or unit if unit else None
        before = first_units.get(name, known)
        if name in taken or before != known:
            name = _with_unit(name, unit)
            if name in taken:
                continue
        elif name not in first_units:
            first_units[name] = known
        taken.add(name)
        out.append((name, f.number, unit))
    return out


class Text:
    """`label: value unit`, `label = value unit`, `label value unit` serial lines."""

    name = "text"
    transports = ("serial",)
    priority = 65  # after kv's `key=value`, before the plotter's numbers

    def sniff(self, ctx: Context) -> bool:
        head = ctx.head()
        if head.isdigit() and not _STAMP_START.match(ctx.payload.lstrip()):
            return False  # numbers first: the plotter's or `number`'s (most serial lines)
        if head == b"[":  # tags first, or a JSON array (the json family's)
            return self._tagged(ctx)
        line = sniff_text(ctx, _MAX_SNIFF)
        if line is None:
            return False
        line = line.strip()
        stamp = _STAMP.match(line)
        body = line[stamp.end() :] if stamp else line
        if not body or (number_prefix(body) is not None and not stamp):
            return False  # numbers first: the plotter's or `number`'s
        # the rest is text, labelled values or not (`----`, `BME280 test`)
        return not looks_nonfinite(body) and INFLUX_LINE.match(body) is None

    @staticmethod
    def _tagged(ctx: Context) -> bool:
        """`[ 500 ms ] Lux: 12.3`: tags, then text; `[1, 2]` alone is JSON."""
        if len(ctx.payload) > _MAX_SNIFF:
            return False
        try:
            line = ctx.text().strip()
        except PayloadError:
            return False
        tags = _TAGS.match(line)
        return tags is not None and 0 < tags.end() < len(line)

    def parse(self, ctx: Context, emit: Emit) -> None:
        device, sensor = ctx.names()
        line = ctx.text().strip()
        reader = _Reader(emit)
        stamp = _STAMP.match(line)
        if stamp:
            reader.when = emit.device_time(stamp.group(1))
            line = line[stamp.end() :]
        tags = _TAGS.match(line)
        line = line[tags.end() :] if tags else line
        for part in _FIELDS.split(line):
            tokens = _TOKENS.findall(part)
            if len(tokens) > MAX_FIELDS:
                raise PayloadError("too_many_fields", f"{len(tokens)} words in one field")
            if any(t in _SEPARATORS for t in tokens):
                reader.pairs(tokens)
            else:
                reader.spaced(tokens)
        fields = reader.fields
        if not fields:
            if _BARE.fullmatch(line):  # `[ 500 ms ] 123.45 lux`: a number after its tags
                value, unit = parse_number(line.encode())
                emit.reading(device, sensor, value, unit, reader.when)
            elif not reader.flawed:
                raise PayloadError("not_a_reading", f"{line[:40]!r} has no labelled number")
            return
        _share_last_unit(fields, line)
        _axes(fields)
        named = _named(ctx, fields)
        known = confirmed(ctx, emit, (name for name, _, _ in named))
        for name, number, unit in named:
            if name in known:
                emit.reading(device, name, number, unit, reader.when)


FAMILY = Text()
