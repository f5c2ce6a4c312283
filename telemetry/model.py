"""The values that flow through the server: raw messages in, readings out.

A `RawMessage` is what a reader saw (bytes, where, when); the normalizer turns
it into `Reading`s, the one shape every later stage knows.  A series is the
readings of one `device/sensor` pair; its id is shown to users and used in URLs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from telemetry.errors import PayloadError


def series_id(device: str, sensor: str) -> str:
    """The id users see: `device/sensor` (a sensor path may hold more slashes)."""
    return f"{device}/{sensor}"


@dataclass(slots=True)
class Reading:
    """One finite value of one sensor at one time.

    `ts` is the device's own time when the payload carried a usable one, else
    the receive time; `recv_ts` is always the receive time (epoch seconds).
    `device_ts` tells which of the two `ts` is.  `kind` is `number`, or `state`
    for an on/off, open/closed, true/false reading (1 or 0).

    A value, but not a frozen dataclass, unlike the others: freezing made each
    one dearer to build, and a message makes one per value
    (bench/README.md, ingest).  Nothing assigns to a reading's fields once it
    is made; treat it as frozen.
    """

    device: str
    sensor: str
    value: float
    unit: str | None
    ts: float
    recv_ts: float
    device_ts: bool = False
    # `device/sensor`; given only by the normalizer's emitter, which has checked
    # the names and the value and keeps each series' id (see `Emit.reading`).
    series: str = ""
    kind: str = "number"

    def __post_init__(self) -> None:
        if self.series:
            return
        problems = []
        if not self.device or "/" in self.device:
            problems.append(f"device {self.device!r} must be non-empty without '/'")
        if not self.sensor:
            problems.append("sensor must be non-empty")
        if type(self.value) is not float or not math.isfinite(self.value):
            problems.append(f"value {self.value!r} must be a finite float")
        if problems:
            raise ValueError("; ".join(problems))
        self.series = series_id(self.device, self.sensor)


@dataclass(frozen=True, slots=True)
class Route:
    """How messages from one subscription or port are to be read.

    `template` names the parts of an MQTT topic (`tele/{device}/SENSOR`);
    `device` is the fixed device name of a serial port or simulator; `prefix` is
    put before every device name read through the route; `time` is `device` (use
    the device's own time when the payload carries a usable one) or `receive`
    (always the receive time).
    """

    source: str
    transport: str
    format: str = "auto"
    template: str | None = None
    device: str | None = None
    timezone: str | None = None  # of zone-less device times; None: the server's default
    precision: str | None = None  # of bare epoch numbers where a format needs telling
    # Keep what gateways measure of the radio link of another device's packet
    # (rtl_433's rssi/snr/noise/freq, The Things Stack's rx_metadata): not series
    # unless asked for.
    radio: bool = False
    prefix: str = ""
    time: str = "device"


@dataclass(slots=True)
class RawMessage:
    """Bytes as a reader received them: an MQTT payload or one serial line.

    Not frozen, as `Reading` is not: cheaper to build, once per message in the
    reader's thread (bench/README.md, ingest).  Nothing assigns to its fields
    once made.
    """

    route: Route
    topic: str
    payload: bytes
    recv_ts: float


@dataclass(frozen=True, slots=True)
class Availability:
    """A device said it is online, or its Last Will said it went away."""

    device: str
    online: bool
    ts: float


@dataclass(slots=True)
class Outcome:
    """What normalizing one message gave: readings, and reasons for what it did not."""

    readings: list[Reading] = field(default_factory=list)
    errors: list[PayloadError] = field(default_factory=list)
    availability: list[Availability] = field(default_factory=list)
    # (series id, unit): a unit learned from metadata (a discovery config, a
    # Zigbee2MQTT device list) for a series that already had readings without one.
    units: list[tuple[str, str]] = field(default_factory=list)
