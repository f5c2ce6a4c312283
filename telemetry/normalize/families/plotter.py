"""The `plotter` family: lines for the Arduino Serial Plotter (Arduino IDE 2).

Read as the IDE 2 plotter reads them (arduino/arduino-serial-plotter-webapp,
`src/msgAggregatorWorker.ts`): a line is split into parts on runs of spaces,
tabs and commas (`[, \\t]+`).

- If the line holds a `:` after its first character, it is labelled: each
  part `label:value` is one value named `label`; parts without a label, or
  without a value (`Label 1:` label-only lines), give nothing, as in the
  plotter.  A label therefore cannot hold a space: `Label 1:10` is the value
  `10` named `1` (the Arduino docs renamed their example labels to
  `Variable_1` for this reason, arduino/docs-content#621).
- Otherwise the values are unlabelled and named `value 1`, `value 2`, ... by
  their position among the parts, exactly the plotter's names.

One deliberate difference: `Temperature: 23.64, Humidity: 43.89` (a space after
the colon, arduino/arduino-ide#2205) pairs the label with the next part when
that part is an unlabelled number; the IDE 2 plotter plots nothing there, which
its maintainers list as a defect.

Values are read like JavaScript's `parseFloat`, as the plotter does: the
number a part starts with, the rest dropped, so `21.5C` is 21.5 and no unit
(the plotter has none; a unit is never guessed).  A part that starts with no
number (`nan`, `ERR`) is counted (`not_finite` / `not_a_number`); a line with
no value at all is counted as `no_values`.  The device is the port's name.

A label becomes a series once the port has printed it on two lines
(`_serialtext.confirmed`; its first line is counted as `not_a_reading`);
unlabelled values, named by their place, are read from the first line.  With
`format = "auto"` the `text` family, tried first, reads labelled lines (with
units, and labels with spaces kept whole); lines of numbers come here.
"""

from __future__ import annotations

import re

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._serialtext import (
    MAX_FIELDS,
    confirmed,
    is_number,
    looks_nonfinite,
    number_prefix,
    sniff_text,
)

_PARTS = re.compile(r"[, \t]+")
_MAX_SNIFF = 4096  # longer lines are not sniffed as plotter lines


def _parts(line: str) -> list[str]:
    return [p for p in _PARTS.split(line.strip()) if p]


def _labelled(line: str) -> bool:
    return line.find(":") > 0


def _pairs(parts: list[str]) -> list[tuple[str, str]]:
    """(label, value text) of a labelled line, in order."""
    pairs = []
    index = 0
    while index < len(parts):
        key, colon, value = parts[index].partition(":")
        value = value.split(":", 1)[0].strip()  # `a:1:2` is `a` = `1`, as in the plotter
        key = key.strip()
        index += 1
        following = parts[index] if index < len(parts) else ":"
        if colon and key and not value and ":" not in following and number_prefix(following):
            value = following  # `Label: 12`: the value is the next part
            index += 1
        if colon and key and value:
            pairs.append((key, value))
    return pairs


class Plotter:
    """`a:1,b:2`, `a:1 b:2`, `1 2 3` serial lines, as the Arduino Serial Plotter reads them."""

    name = "plotter"
    transports = ("serial",)
    priority = 70

    def sniff(self, ctx: Context) -> bool:
        line = sniff_text(ctx, _MAX_SNIFF)
        if line is None:
            return False
        if "=" in line:
            return False  # `key=value` lines are the kv family's
        parts = _parts(line)
        if _labelled(line):
            return any(number_prefix(value) for _, value in _pairs(parts))
        return len(parts) >= 2 and all(is_number(p) for p in parts)

    def parse(self, ctx: Context, emit: Emit) -> None:
        device, _ = ctx.names()
        line = ctx.text()
        parts = _parts(line)
        if len(parts) > MAX_FIELDS:
            raise PayloadError("too_many_fields", f"{len(parts)} values on one line")
        labelled = _labelled(line)
        if labelled:
            pairs = _pairs(parts)
        else:
            pairs = [(f"value {i}", part) for i, part in enumerate(parts, start=1)]
        if not pairs:
            raise PayloadError("no_values", f"no values in {line[:40]!r}")
        values = []
        for label, text in pairs:
            found = number_prefix(text)
            if found is None:
                reason = "not_finite" if looks_nonfinite(text) else "not_a_number"
                emit.error(reason, f"{label}: {text[:40]!r} is not a number")
                continue
            values.append((label, found[0]))
        known = confirmed(ctx, emit, (label for label, _ in values)) if labelled else None
        for label, number in values:
            if known is None or label in known:
                emit.reading(device, label, number)


FAMILY = Plotter()
