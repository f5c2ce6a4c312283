"""InfluxDB line protocol: how `[[output.influx]]` (`devices.influx`) writes a point.

One point is one line: `measurement,device=D,sensor=S,unit=U[,tag=v...]
value=<float> <time>`; see `LineEncoder` for why it is laid out so.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from telemetry.config.model import InfluxOutputConfig
from telemetry.outputs import OutPoint
from telemetry.remember import Remembered

# Line protocol escaping (as InfluxDB's own clients do): in a measurement, comma
# and space; in a tag key or value, also `=`; a backslash is doubled so that one
# ending a name cannot escape the separator after it.  A control character cannot
# be written in line protocol: it is replaced by its visible escape.
_CONTROL = {c: f"\\x{c:02x}" for c in (*range(0x20), 0x7F)}
_MEASUREMENT = str.maketrans({**_CONTROL, "\\": "\\\\", ",": "\\,", " ": "\\ "})
_TAG = str.maketrans({**_CONTROL, "\\": "\\\\", ",": "\\,", " ": "\\ ", "=": "\\="})


def escape_measurement(name: str) -> str:
    return name.translate(_MEASUREMENT)


def escape_tag(text: str) -> str:
    """A tag key or value (or a field key) escaped for line protocol."""
    return text.translate(_TAG)


class LineEncoder:
    """Points as line protocol.  Every point is written to one measurement (the
    config's `measurement`, default `telemetry`) with the tags `device`, `sensor`
    and `unit` (no unit tag when the series has none) and the config's static
    `tags`, sorted by key as InfluxDB prefers, and one float field `value`: a
    state (on/off, open/closed) is 1.0 or 0.0 in the same field, so a field's
    type never changes and no write fails on a type conflict.  The time is the
    reading's own, at the configured precision (truncated, after rounding to
    the microsecond a float epoch holds)."""

    def __init__(self, cfg: InfluxOutputConfig) -> None:
        self.measurement = escape_measurement(cfg.measurement)
        self.tags = cfg.tags
        self.precision = cfg.precision
        # A time in microseconds is divided by `_divide` (s, ms) or multiplied by `_times`.
        self._divide = {"s": 1_000_000, "ms": 1000}.get(cfg.precision, 0)
        self._times = 1000 if cfg.precision == "ns" else 1
        # series id: (unit, measurement and tags escaped)
        self._prefixes: Remembered[str, tuple[str | None, str]] = Remembered()

    def prefix(self, point: OutPoint) -> str:
        """The point's measurement and tags, escaped (remembered by series)."""
        found = self._prefixes.get(point.series)
        if found is not None and found[0] == point.unit:
            return found[1]
        tags = [("device", point.device), ("sensor", point.sensor), *self.tags]
        if point.unit:
            tags.append(("unit", point.unit))
        tags.sort()
        prefix = self.measurement + "".join(
            f",{escape_tag(k)}={escape_tag(v)}" for k, v in tags if v
        )
        self._prefixes[point.series] = (point.unit, prefix)
        return prefix

    def stamp(self, ts: float) -> int:
        us = round(ts * 1_000_000)
        return us // self._divide if self._divide else us * self._times

    def line(self, point: OutPoint) -> str | None:
        """One point's line; None for a value line protocol cannot carry (NaN, inf)."""
        value = float(point.value)
        if not math.isfinite(value):
            return None
        return f"{self.prefix(point)} value={value!r} {self.stamp(point.ts)}"

    def body(self, points: Sequence[OutPoint]) -> tuple[bytes, int]:
        """The request's body and how many points it holds (`line`, inlined: this is
        the output's hot loop)."""
        prefixes, prefix, isfinite = self._prefixes, self.prefix, math.isfinite
        divide, times = self._divide, self._times
        lines = []
        for p in points:
            value = float(p.value)
            if not isfinite(value):
                continue
            found = prefixes.get(p.series)
            head = found[1] if found is not None and found[0] == p.unit else prefix(p)
            us = round(p.ts * 1_000_000)
            lines.append(f"{head} value={value!r} {us // divide if divide else us * times}")
        return ("\n".join(lines) + "\n").encode("utf-8"), len(lines)
