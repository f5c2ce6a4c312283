"""The `tasmota` family: Tasmota's telemetry JSON.

Topics (Tasmota's FullTopic, default `%prefix%/%topic%/`): `tele/<dev>/SENSOR`,
`tele/<dev>/STATE`, `stat/<dev>/STATUS10` (the `StatusSNS` wrapper),
`stat/<dev>/STATUS11` (`StatusSTS`, the STATE wrapper), `stat/<dev>/RESULT`,
`stat/<dev>/STATUS8` (`StatusSNS` of old firmware).  The device is the
template's `{device}` when the route has one; else the topic's levels other
than the prefix (`tele`/`stat`) and the last: `tele/plug/SENSOR` and the swapped
FullTopic `plug/tele/SENSOR` both give `plug`; more levels are joined with `_`.

Readings: every number in the document, as a dotted path (`BME280.Temperature`,
`ENERGY.Power`, `Wifi.RSSI`, arrays of a multi-phase meter as `ENERGY.Voltage.0`);
text (`POWER`, `Uptime`, `TotalStartTime`, versions) is skipped without error.

Units, only where the firmware states them, from Tasmota's source
(`tasmota/include/i18n.h` JSON names, `xdrv_03_energy.ino`, `support_tasmota.ino`):
- `TempUnit` (`C`/`F`, SetOption8) applies to fields named `Temperature`,
  `Temperature1..N`, `DewPoint`, `HeatIndex`, `Temp`;
- `PressureUnit` (`hPa`/`mmHg`/`inHg`, SetOption24) to `Pressure`, `SeaPressure`;
- `SpeedUnit` (SpeedUnit command) to `Speed`;
- fixed in the firmware: `Humidity` %, `Illuminance` lx, `CarbonDioxide`/`eCO2` ppm,
  and the `ENERGY` block: `Power` W, `ApparentPower` VA, `ReactivePower` var,
  `Voltage` V, `Current` A, `Frequency` Hz, `Total`/`Today`/`Yesterday` kWh,
  `Period` Wh, `Factor` none; the STATE block: `UptimeSec` s, `Wifi.Signal` dBm,
  `Wifi.RSSI` % (Tasmota's RSSI is a 0-100 quality, not dBm).
A unit word without its field (a `TempUnit` with no temperature) does nothing;
the unit fields themselves are not readings.

`Time` is the device's local time (no offset unless SetOption52 adds one), read
in the route's time zone.

Sub-devices (decided): BLE sensors that Tasmota decodes (`ATC5e3a1c`,
`LYWSD03-a1b2c3`, `MJ_HT_V1-...`) stay sensor paths of the Tasmota device that
heard them (`ATC5e3a1c.Temperature`): the key is the sensor's unique name on that
reader.  Zigbee messages (`{"ZbReceived": {"0x8F20": {...}}}`) are events a
bridge relays for other devices, so each key (short address, or the friendly
name after `ZbName`) is its own device; `Device`, `Name` and `Endpoint` are
identifiers, not readings; `LinkQuality` is a reading.
"""

from __future__ import annotations

from typing import Any

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._jsonwalk import (
    emit_tree,
    field_name,
    looks_like_object,
)
from telemetry.remember import Remembered

LAST_LEVELS = frozenset({"SENSOR", "STATE", "STATUS8", "STATUS10", "STATUS11", "RESULT"})
PREFIXES = frozenset({"tele", "stat"})
WRAPPERS = ("StatusSNS", "StatusSTS")
_UNIT_FIELDS = frozenset({"TempUnit", "PressureUnit", "SpeedUnit", "Time"})
_ZIGBEE_IDS = frozenset({"Device", "Name", "Endpoint"})

TEMPERATURE_FIELDS = frozenset({"Temperature", "DewPoint", "HeatIndex", "Temp"})
PRESSURE_FIELDS = frozenset({"Pressure", "SeaPressure"})
SPEED_FIELDS = frozenset({"Speed"})
FIXED_UNITS = {
    "Humidity": "%",
    "Illuminance": "lx",
    "CarbonDioxide": "ppm",
    "eCO2": "ppm",
    "UptimeSec": "s",
}
ENERGY_UNITS = {
    "Power": "W",
    "ApparentPower": "VA",
    "ReactivePower": "var",
    "Voltage": "V",
    "Current": "A",
    "Frequency": "Hz",
    "Total": "kWh",
    "Today": "kWh",
    "Yesterday": "kWh",
    "Period": "Wh",
}
WIFI_UNITS = {"Signal": "dBm", "RSSI": "%"}


def _device(ctx: Context) -> str:
    if ctx.device:
        return ctx.device
    levels = ctx.topic.split("/")[:-1]
    if levels and levels[0] in PREFIXES:
        levels = levels[1:]
    elif levels and levels[-1] in PREFIXES:
        levels = levels[:-1]
    name = "_".join(level for level in levels if level)
    if not name:
        raise PayloadError("no_device", f"no device name in topic {ctx.topic!r}")
    return name


def _text(value: Any, limit: int = 16) -> str | None:
    return value if isinstance(value, str) and len(value) <= limit else None


def _unit_of(parts: tuple[str, ...]) -> tuple[int, str | None]:
    """Which unit word of the document applies to a path (an index into
    `_Units.words`, or -1) and the firmware's fixed unit.  A pure function of
    the path, asked for every value: remembered in `_UNIT_OF` (see `_Units`)."""
    name = field_name(parts)
    if parts and parts[0] == "ENERGY":
        return -1, ENERGY_UNITS.get(name)
    if len(parts) == 2 and parts[0] == "Wifi":
        return -1, WIFI_UNITS.get(name)
    if name in TEMPERATURE_FIELDS or (name.startswith("Temperature") and name[11:].isdigit()):
        return 0, None
    if name in PRESSURE_FIELDS:
        return 1, None
    if name in SPEED_FIELDS:
        return 2, None
    return -1, FIXED_UNITS.get(name)


# `_unit_of` per path, for every document: a hit is one dict lookup instead of
# the rule (see bench/README.md, ingest).
_UNIT_OF: Remembered[tuple[str, ...], tuple[int, str | None]] = Remembered()


class _Units:
    """The unit of each path, from the unit words this document states."""

    __slots__ = ("words",)

    def __init__(self, document: dict[str, Any]) -> None:
        get = document.get
        self.words = (_text(get("TempUnit")), _text(get("PressureUnit")), _text(get("SpeedUnit")))

    def __call__(self, parts: tuple[str, ...]) -> str | None:
        word, fixed = _UNIT_OF.get(parts) or _UNIT_OF.remember(parts, _unit_of(parts))
        return fixed if word < 0 else self.words[word]


class Tasmota:
    name = "tasmota"
    transports = ("mqtt",)
    priority = 50
    json_only = True  # its sniff is False unless the payload starts with { or [
    topic_sniff = True  # its sniff reads the topic and the payload's first byte only

    def sniff(self, ctx: Context) -> bool:
        return ctx.topic.rpartition("/")[2] in LAST_LEVELS and looks_like_object(ctx)

    def parse(self, ctx: Context, emit: Emit) -> None:
        document = ctx.json()
        if not isinstance(document, dict):
            raise PayloadError("not_an_object", "a Tasmota message is a JSON object")
        if len(document) == 1:  # a STATUS reply: its one key wraps the block
            for wrapper in WRAPPERS:
                inner = document.get(wrapper)
                if isinstance(inner, dict):
                    document = inner
                    break
        device = _device(ctx)
        ts = emit.device_time(_text(document.get("Time"), 40) or None)
        units = _Units(document)
        zigbee = document.get("ZbReceived")
        if isinstance(zigbee, dict):
            for key, fields in list(zigbee.items())[:64]:
                if isinstance(fields, dict):
                    emit_tree(emit, str(key), fields, unit_of=units, ts=ts, skip=_ZIGBEE_IDS)
            document = {k: v for k, v in document.items() if k != "ZbReceived"}
        emit_tree(emit, device, document, unit_of=units, ts=ts, skip=_UNIT_FIELDS)


FAMILY = Tasmota()
