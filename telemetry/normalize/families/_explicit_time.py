"""Device times whose unit the format states, shared by `senml` and `influx`.

`timestamps.device_time` tells s, ms, µs and ns apart by size, which is right
for formats that do not say.  SenML (always seconds) and line protocol (the
route's `precision`) do say, so these families convert to seconds themselves;
a result of 1e11 s or more (after the year 5138) would be re-read by size as
milliseconds, so it is refused here as `clock_ahead` instead.
"""

from __future__ import annotations

from telemetry.normalize.base import Emit

# Below this, device_time reads a number as seconds (see timestamps.epoch_seconds).
SECONDS_LIMIT = 1e11


def reading_at(
    emit: Emit,
    device: str,
    sensor: str,
    value: object,
    *,
    unit: str | None,
    seconds: float | None,
    kind: str = "number",
) -> bool:
    """`emit.reading` with a time already in epoch seconds (or None for "now")."""
    if seconds is not None and abs(seconds) >= SECONDS_LIMIT:
        emit.error(
            "clock_ahead" if seconds > 0 else "clock_unsynced",
            f"{sensor}: device time {seconds:.6g} s not used",
        )
        seconds = None
    return emit.reading(device, sensor, value, unit, seconds, kind=kind)
