"""The `system` family: what the `[[system]]` reader (`devices/system.py`) read from
the kernel's sysfs files, one poll a message.

The reader has already turned every file into a value in the vocabulary's unit
(millidegrees into °C, microwatts into W; `devices/sysfs.py` cites the kernel's
documentation for each); it writes one line per sensor, tab-separated:
`<sensor>\\t<value>\\t<unit>`, where the unit is empty for none and `state` for
an on/off flag (1 or 0).  No other transport uses this family, and `auto`
never picks it.
"""

from __future__ import annotations

from telemetry.normalize.base import Context, Emit

STATE = "state"


def line(sensor: str, value: float, unit: str | None) -> str:
    """One sensor's line, as the family reads it."""
    return f"{sensor}\t{value!r}\t{unit or ''}"


class System:
    name = "system"
    transports = ("system",)
    priority = 2000

    def sniff(self, ctx: Context) -> bool:
        return False

    def parse(self, ctx: Context, emit: Emit) -> None:
        device, _ = ctx.names()
        for text in ctx.text().splitlines():
            sensor, _, rest = text.partition("\t")
            number, _, unit = rest.partition("\t")
            try:
                value = float(number)
            except ValueError:
                emit.error("not_a_number", f"{sensor[:40]!r}: {number[:40]!r} is not a number")
                continue
            if unit == STATE:
                emit.state(device, sensor, value)
            else:
                emit.reading(device, sensor, value, unit or None)


FAMILY = System()
