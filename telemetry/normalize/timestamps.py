"""Device times: epoch numbers in s, ms, µs or ns, ISO 8601 text, and sanity checks.

Epoch numbers are told apart by size, which is safe for any date between 1973
and 5138: seconds stay below 1e11, milliseconds below 1e14, microseconds below
1e17.  Zone-less ISO times are the device's local time, in the route's time
zone; unless one is configured, the machine's own (`local`: the C library's
local time, that is the `TZ` variable when set, else `/etc/localtime`), since a
device that prints a zone-less time almost always shares the Pi's zone (a
Tasmota set by NTP and its `Timezone` command, rtl_433 on the same machine).
A time before 2000 (an unsynchronised clock counting from 1970), or further
ahead of or behind the receive time than the allowed skew (a clock read in the
wrong zone, a clock that has drifted or stopped), is not used: the reading keeps
its receive time, and the reason is counted (`clock_unsynced`, `clock_ahead`,
`clock_behind`), so a chart never goes empty for want of a right clock.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import zoneinfo
from dataclasses import dataclass
from typing import Any

EARLIEST = 946_684_800.0  # 2000-01-01T00:00:00Z
LOCAL = "local"  # the machine's own time zone
_EPOCH = dt.datetime(1970, 1, 1)  # zone-less: subtracted from zone-less UTC times


@dataclass(frozen=True, slots=True)
class ClockPolicy:
    max_skew: float = 600.0  # seconds a device clock may run ahead of or behind ours
    timezone: str = LOCAL  # for zone-less local times


@functools.lru_cache(maxsize=64)
def zone(name: str) -> dt.tzinfo:
    """The time zone called `name` (`UTC`, `Europe/Berlin`); `ValueError` if unknown.
    (`local` is no tzinfo: `parse_iso` reads it through the C library.)"""
    if name.upper() == "UTC":
        return dt.UTC
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


def epoch_seconds(value: float) -> float:
    """Seconds from an epoch number in s, ms, µs or ns, told apart by size."""
    magnitude = abs(value)
    if magnitude < 1e11:
        return value
    if magnitude < 1e14:
        return value / 1e3
    if magnitude < 1e17:
        return value / 1e6
    return value / 1e9


def parse_iso(text: str, timezone: str) -> float | None:
    """Epoch seconds of an ISO 8601 time; zone-less ones are in `timezone`."""
    text = text.strip()
    if not 10 <= len(text) <= 40 or not text[:4].isdigit():
        return None
    if "z" in text:
        text = text.replace("z", "Z")
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if when.tzinfo is not None:
        return when.timestamp()
    if timezone == LOCAL:
        try:  # a naive datetime's timestamp is read in the C library's local time
            return when.timestamp()
        except (OverflowError, OSError, ValueError):
            return None
    if timezone != "UTC":
        try:
            tz = zone(timezone)
        except ValueError:
            return None
        if tz is not dt.UTC:
            return when.replace(tzinfo=tz).timestamp()
    # UTC, the default: the same sum without `replace`, which cost more than the
    # parse (bench/README.md, ingest).
    return (when - _EPOCH).total_seconds()


def device_time(
    value: Any,
    recv_ts: float,
    policy: ClockPolicy,
    timezone: str | None = None,
    *,
    any_age: bool = False,
) -> tuple[float | None, str | None]:
    """(epoch seconds or None, the reason it was not used or None).

    `any_age`: a time behind the receive time is used however old (a reading
    another instance stamped and a bridge delivered late: see the `telemetry`
    family); ahead, absurd and before-2000 times are refused as ever."""
    seconds: float | None
    kind = type(value)
    if kind is str:  # the usual case first (a Tasmota message's)
        text = value.strip()
        try:
            seconds = (
                epoch_seconds(float(text))
                if text[:1].isdigit() and "-" not in text and ":" not in text
                else parse_iso(text, timezone or policy.timezone)
            )
        except ValueError:
            seconds = None
        if seconds is None:
            return None, "bad_time"
    elif value is None:
        return None, None
    elif kind is not bool and isinstance(value, int | float):
        try:
            seconds = epoch_seconds(float(value))
        except OverflowError:
            return None, "bad_time"
    elif isinstance(value, str):  # a subclass of str
        return device_time(str.__str__(value), recv_ts, policy, timezone, any_age=any_age)
    else:  # a bool, a list, anything else
        return None, "bad_time"
    if not math.isfinite(seconds):
        return None, "bad_time"
    if seconds < EARLIEST:
        return None, "clock_unsynced"
    if seconds > recv_ts + policy.max_skew:
        return None, "clock_ahead"
    if seconds < recv_ts - policy.max_skew and not any_age:
        return None, "clock_behind"
    return seconds, None
