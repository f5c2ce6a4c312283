"""The `influx` family: InfluxDB line protocol, over MQTT and serial.

`measurement[,tag=value...] field=value[,field=value...] [timestamp]`, one
point a line, as the InfluxDB v1/v2 line protocol reference gives it:
- Escaping: a backslash before `,` or space in a measurement, and before `,`,
  `=` or space in tag keys, tag values and field keys, makes it literal; any
  other backslash is kept.  String field values are double-quoted, with `\\"`
  and `\\\\` inside.
- Field values: floats (`21.5`, `-1e3`), integers (`3i`), unsigned integers
  (`3u`) are readings; booleans (`t`, `T`, `true`, `True`, `TRUE`, and the `f`
  spellings) are readings of kind `state` (1/0); strings are skipped without
  an error.  Anything else
  (`NaN`, `inf`, `21,5`, bare words) makes the line malformed, as it does
  for InfluxDB; so does a number out of range (an integer beyond 64 bits,
  a float beyond a double, `1e309`).  A repeated field key: the last one counts.
- Timestamp: an integer in the route's `precision` (`ns` unless configured;
  `us`, `ms`, `s`).  Line protocol states its precision, so it is converted
  here rather than guessed by size.  No timestamp: the receive time.
- Several lines in one payload; blank lines and `#` comment lines are
  skipped.  A malformed line is counted as `bad_line` with the reason and its
  line number; the other lines of the payload are still read.
- Units: none (line protocol states none).

Device and sensor (decided here):
- The topic template's `{device}` or the route's fixed device (a serial
  port's name) is the device; otherwise the first of the tags `device`,
  `host` and `id` (Telegraf tags every point with the `host` that ran it; an
  explicit `device` tag is more specific); with none of them, the
  measurement is the device.
- The sensor is the values of the other tags, in tag-key order (InfluxDB's
  series key sorts them too), then the field key, joined by `.`.  The tag
  that names the device is never in it (no repeated device name).  The
  measurement starts it, except where a `device` or `id` tag names the
  device: there the measurement is the client's bucket for everything the
  device sends (`environment,device=esp0 temperature=21.5` -> `esp0` /
  `temperature`), whereas Telegraf's measurement names the plugin that made
  the point (`cpu,cpu=cpu0,host=pi usage_idle=98` -> `pi` /
  `cpu.cpu0.usage_idle`, beside `mem.used_percent`); so points InfluxDB
  keeps apart stay apart here.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._explicit_time import reading_at

DEVICE_TAGS = ("device", "host", "id")
PER_SECOND = {"ns": 1_000_000_000, "us": 1_000_000, "ms": 1_000, "s": 1}
TRUE = frozenset(("t", "T", "true", "True", "TRUE"))
BOOLEANS = TRUE | frozenset(("f", "F", "false", "False", "FALSE"))
_FLOAT = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?")
_INTEGER = re.compile(r"-?\d+i|\d+u")
_TIMESTAMP = re.compile(r"-?\d{1,19}")
INT64 = range(-(2**63), 2**63)
UINT64 = range(2**64)

# For `sniff` only: the grammar of one line, with a measurement that holds no
# `=` (legal, but then any `key=value key=value` text would look like a point).
_KEY = r"(?:[^\s,=\\]|\\.)+"
_MEASUREMENT = r"(?:[^\s,=\\#\[{\"]|\\.)(?:[^\s,=\\]|\\.)*"
# Each number has one way to match: `\d+\.?\d*` had many, and backtracked
# exponentially over a long line of fields that finally failed (found by fuzzing).
_VALUE = (
    r'(?:"(?:[^"\\]|\\.)*"|-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?[iu]?'
    r"|[tT](?:rue)?|[fF](?:alse)?|TRUE|FALSE)"
)
_LINE = re.compile(
    rf"{_MEASUREMENT}(?:,{_KEY}={_KEY})* {_KEY}={_VALUE}(?:,{_KEY}={_VALUE})*(?: -?\d{{1,19}})?"
)
_SNIFF_BYTES = 4096
# A line that holds a point: neither blank nor a `#` comment (`\s` is what
# `str.strip` strips; only "\n" ends a line).
DATA_LINE = re.compile(r"^[^\S\n]*[^\s#][^\n]*", re.MULTILINE)


class BadLine(Exception):
    """Why one line is not line protocol; the payload's other lines are still read."""


def _token(line: str, i: int, stops: str, escapable: str) -> tuple[str, int]:
    """The text from `i` to the first unescaped character of `stops`, and its index."""
    out = []
    end = len(line)
    while i < end:
        ch = line[i]
        if ch == "\\" and i + 1 < end and line[i + 1] in escapable:
            out.append(line[i + 1])
            i += 2
            continue
        if ch in stops:
            break
        out.append(ch)
        i += 1
    return "".join(out), i


def _string_end(line: str, i: int) -> int:
    """The index just past the quoted string that starts at `i`."""
    i += 1
    while i < len(line):
        if line[i] == "\\":
            i += 2
        elif line[i] == '"':
            return i + 1
        else:
            i += 1
    raise BadLine("unterminated string field value")


def _number(text: str) -> int | float | bool:
    """The number or boolean a field value holds; `BadLine` otherwise."""
    if _FLOAT.fullmatch(text):
        number = float(text)
        if not math.isfinite(number):  # `1e309`: as InfluxDB, out of range
            raise BadLine(f"field value {text[:30]!r} is out of range")
        return number
    if _INTEGER.fullmatch(text):
        try:
            whole = int(text[:-1])
        except ValueError:  # over `int`'s 4300 digits
            whole = None
        if whole is None or whole not in (UINT64 if text[-1] == "u" else INT64):
            raise BadLine(f"field value {text[:30]!r} is out of range")  # 64 bits, as InfluxDB
        return whole
    if text in BOOLEANS:
        return text in TRUE
    raise BadLine(f"field value {text[:30]!r} is not a number, boolean or string")


def parse_line(
    line: str,
) -> tuple[str, dict[str, str], dict[str, int | float | bool], str | None]:
    """(measurement, tags, numeric and boolean fields, timestamp text) of one point;
    `BadLine` if not."""
    measurement, i = _token(line, 0, ", ", ", ")
    if not measurement:
        raise BadLine("no measurement")
    tags: dict[str, str] = {}
    while i < len(line) and line[i] == ",":
        key, i = _token(line, i + 1, "=, ", ",= ")
        if not key or i >= len(line) or line[i] != "=":
            raise BadLine("a tag without '=' (or an unescaped space, comma or '=')")
        value, i = _token(line, i + 1, "=, ", ",= ")
        if not value or (i < len(line) and line[i] == "="):
            raise BadLine(f"tag {key[:30]!r} has no value or an unescaped '='")
        tags[key] = value
    if i >= len(line):
        raise BadLine("no fields")
    fields: dict[str, int | float | bool] = {}
    while True:
        key, i = _token(line, i + 1, "=, ", ",= ")
        if not key or i >= len(line) or line[i] != "=":
            raise BadLine("a field without a key and '='")
        start = i + 1
        if line[start : start + 1] == '"':
            i = _string_end(line, start)
            fields.pop(key, None)
        else:
            text, i = _token(line, start, ", ", "")
            fields[key] = _number(text)
        if i >= len(line) or line[i] == " ":
            break
        if line[i] != ",":
            raise BadLine("text after a string field value")
    stamp = line[i:].strip() or None
    if stamp is not None and not _TIMESTAMP.fullmatch(stamp):
        raise BadLine(f"timestamp {stamp[:30]!r} is not an integer")
    return measurement, tags, fields, stamp


def data_lines(text: str, line: re.Pattern[str] = DATA_LINE) -> Iterator[tuple[int, str]]:
    """Each line of `text` that `line` matches (by default: neither blank nor a `#`
    comment) with its number among all lines, without its "\\r".  One at a time:
    a body of millions of short lines is never a list of them."""
    number = 1
    at = 0
    for match in line.finditer(text):
        number += text.count("\n", at, match.start())
        at = match.start()
        yield number, match.group().rstrip("\r")


class Influx:
    name = "influx"
    transports = ("mqtt", "serial")
    priority = 90  # before the generic text families; its sniff needs the whole grammar

    def sniff(self, ctx: Context) -> bool:
        if b"=" not in ctx.payload[:_SNIFF_BYTES]:  # every line has a field `k=v`
            return False  # (a quarter of `auto`'s time on a plain number, without this)
        head = ctx.payload[:_SNIFF_BYTES].decode("utf-8", "replace")
        for raw in head.split("\n"):
            line = raw.strip()
            if line and not line.startswith("#"):
                return _LINE.fullmatch(line) is not None
        return False

    def parse(self, ctx: Context, emit: Emit) -> None:
        text = ctx.text()
        if not text.strip():
            raise PayloadError("empty", "the payload is empty")
        per_second = PER_SECOND.get(ctx.msg.route.precision or "ns", PER_SECOND["ns"])
        for number, line in data_lines(text):
            try:
                measurement, tags, fields, stamp = parse_line(line)
            except BadLine as exc:
                emit.error("bad_line", f"line {number}: {exc}")
                continue
            seconds = None
            if stamp is not None:
                whole, part = divmod(int(stamp), per_second)
                seconds = whole + part / per_second
            device, path = self._names(ctx, measurement, tags)
            for key, value in fields.items():
                sensor = ".".join((*path, key))
                if isinstance(value, bool):
                    reading_at(
                        emit, device, sensor, float(value), unit=None, seconds=seconds, kind="state"
                    )
                else:
                    reading_at(emit, device, sensor, value, unit=None, seconds=seconds)

    @staticmethod
    def _names(ctx: Context, measurement: str, tags: dict[str, str]) -> tuple[str, list[str]]:
        """The device, and the sensor path before the field key."""
        used = next((t for t in DEVICE_TAGS if t in tags), None)
        device = ctx.device or (tags[used] if used else measurement)
        keep = ctx.device is not None or used is not None
        path = [measurement] if keep and used in (None, "host") else []
        path.extend(tags[key] for key in sorted(tags) if key != used)
        return device, path


FAMILY = Influx()
