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
on/off states are readings of kind `state` (1/0): `POWER`, `POWER1`...,
`Switch1`... (`ON`/`OFF`, Tasmota's default `StateText`, or `1`/`0` when
StateText says so), any boolean field, and a plain payload on
`stat/<dev>/POWER<n>`.  Other text (`Uptime`, `TotalStartTime`, versions, a
setting's `"Fade": "ON"`) is skipped without error.

Units, from Tasmota's source (`tasmota/include/i18n.h` JSON names,
`support_tasmota.ino` `MqttAppendSensorUnits`, the drivers named below), never
from a field name outside the firmware's own:
- `TempUnit` (`C`/`F`, SetOption8) applies to `Temperature`, `Temperature1..N`,
  `DewPoint`, `HeatIndex`, `Temp`; `PressureUnit` (`hPa`/`mmHg`/`inHg`,
  SetOption24) to `Pressure`, `SeaPressure`; `SpeedUnit` (SpeedUnit command)
  to `Speed` and its `Act`/`Avg`/`Min`/`Max`, `SpeedAvg`, `SpeedMax` (TX20/TX23
  and WindMeter, `xsns_35_tx20.ino`).  The firmware appends `TempUnit` and
  `PressureUnit` to every message holding such a field; when a message has
  none (older firmware, a BLE message), the firmware's defaults apply:
  Celsius, hPa, and m/s (`SpeedUnit` is only appended when a speed
  conversion is set, and without one the drivers report m/s).
- fixed in the drivers: see `FIXED_UNITS`, `ENERGY_UNITS` (`xdrv_03_energy.ino`),
  `ANALOG_UNITS` (`xsns_02_analog.ino`), `WIFI_UNITS`, `ZIGBEE_UNITS`
  (`xdrv_23_zigbee_5_converters.ino`).  `Wifi.RSSI` is a 0-100 quality in %,
  not dBm; `Factor`, `A0`, `Range1`, `pH1` have none.
A unit word without its field (a `TempUnit` with no temperature) does nothing;
the unit fields themselves are not readings.

`Time` is the device's local time (no offset unless SetOption52 adds one), read
in the route's time zone.

Sub-devices (decided): BLE sensors that Tasmota decodes (`ATC5e3a1c`,
`LYWSD03-a1b2c3`, `MJ_HT_V1-...`; `xsns_62_esp32_mi.ino`) stay sensor paths of
the Tasmota device that heard them (`ATC5e3a1c.Temperature`): the key is the
sensor's unique name on that reader; their `Battery` is %, `RSSI` dBm,
`Fertility` µS/cm, `Moisture` %.  Zigbee messages
(`{"ZbReceived": {"0x8F20": {...}}}`) are events a bridge relays for other
devices, so each key (short address, or the friendly name after `ZbName`) is
its own device, named by its `Name` when it has one (set by `ZbName`), else by
its key; `Device`, `Name` and `Endpoint` are identifiers, not readings;
`LinkQuality` is a reading; `Power` (the On/Off cluster), `Occupancy`,
`Contact`, `Water` are states.
"""

from __future__ import annotations

import re
from typing import Any

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._jsonwalk import (
    default_state,
    emit_tree,
    field_name,
    looks_like_object,
)
from telemetry.remember import Remembered

LAST_LEVELS = frozenset({"SENSOR", "STATE", "STATUS8", "STATUS10", "STATUS11", "RESULT"})
_POWER = re.compile(r"POWER\d{0,2}")
_ON_OFF = re.compile(r"(?:POWER|Switch)\d{0,2}")  # top-level on/off fields
PREFIXES = frozenset({"tele", "stat"})
WRAPPERS = ("StatusSNS", "StatusSTS")
_UNIT_FIELDS = frozenset({"TempUnit", "PressureUnit", "SpeedUnit", "Time"})
_ZIGBEE_IDS = frozenset({"Device", "Name", "Endpoint"})

TEMPERATURE_FIELDS = frozenset({"Temperature", "DewPoint", "HeatIndex", "Temp"})
PRESSURE_FIELDS = frozenset({"Pressure", "SeaPressure"})
SPEED_FIELDS = frozenset({"Speed", "SpeedAvg", "SpeedMax"})
DIRECTION_FIELDS = frozenset({"Deg", "Avg", "Min", "Max", "Range"})  # under `Dir` (TX20)
# The unit words' values when a message states none: the firmware's defaults.
DEFAULT_WORDS = ("C", "hPa", "m/s")
FIXED_UNITS = {
    "Humidity": "%",  # i18n.h D_JSON_HUMIDITY, every humidity driver
    "Illuminance": "lx",  # D_JSON_ILLUMINANCE (BH1750, TSL2561, MAX44009, ADC, BLE)
    "CarbonDioxide": "ppm",  # D_JSON_CO2 (MH-Z19, SenseAir, SCD30)
    "eCO2": "ppm",  # D_JSON_ECO2 (CCS811, SGP30)
    "TVOC": "ppb",  # D_JSON_TVOC (CCS811, SGP30)
    "Gas": "kΩ",  # xsns_09_bmp.ino: BME680 gas resistance "converted to kOhm"
    "Moisture": "%",  # D_JSON_MOISTURE (BLE Flora, Chirp)
    "Fertility": "µS/cm",  # xsns_62_esp32_mi.ino (Flora)
    "Battery": "%",  # xsns_62_esp32_mi.ino, BLE battery level
    "BatteryPercentage": "%",
    "RSSI": "dBm",  # a BLE sensor's signal (Wifi.RSSI is the quality in %, below)
    "Weight": "kg",  # xsns_34_hx711.ino
    "Distance": "cm",  # xsns_22_sr04.ino
    "Voltage": "V",  # INA219, INA226, ADS1115 in volt mode
    "Current": "A",
    "Power": "W",
    "PM1": "µg/m³",  # xsns_18_pms5003.ino, xsns_20_novasds.ino
    "PM2.5": "µg/m³",
    "PM10": "µg/m³",
    "CF1": "µg/m³",
    "CF2.5": "µg/m³",
    "CF10": "µg/m³",
    "UptimeSec": "s",  # STATE
    "Vcc": "V",  # STATE: ESP.getVcc() / 1000
    "Heap": "kB",  # STATE: free heap / 1024
    "Sleep": "ms",  # STATE: the loop's sleep
    "LoadAvg": "%",  # STATE: share of the loop time busy (support_tasmota.ino)
}
INDEXED = frozenset({"Illuminance", "Humidity"})  # `Illuminance1` as `Illuminance`
# A light's own fields in STATE and RESULT (tasmota/docs Commands.md, Light:
# `Dimmer` 0..100 %, `CT` 153..500 mired, `White` 0..100 %, `Channel` 0..100 %).
LIGHT_UNITS = {"Dimmer": "%", "CT": "mired", "White": "%", "Channel": "%"}
SHUTTER_UNITS = {"Position": "%", "Target": "%"}  # Shutter<n> (Blinds-and-Shutters.md)
# VL53L0X/VL53L1X report `Distance` in mm, where SR04 reports cm.
DISTANCE_MM = ("VL53L0X", "VL53L1X")
ENERGY_UNITS = {  # xdrv_03_energy.ino
    "Power": "W",
    "ActivePower": "W",
    "ApparentPower": "VA",
    "ReactivePower": "var",
    "MaxPower": "W",
    "ExportPower": "W",
    "ImportPower": "W",
    "Voltage": "V",
    "Current": "A",
    "CurrentNeutral": "A",
    "Frequency": "Hz",
    "PhaseAngle": "°",
    "Total": "kWh",
    "Today": "kWh",
    "Yesterday": "kWh",
    "ExportActive": "kWh",
    "ImportActive": "kWh",
    "TodaySumImport": "kWh",
    "TodaySumExport": "kWh",
    "TotalReactive": "kvarh",
    "ImportReactive": "kvarh",
    "ExportReactive": "kvarh",
    "Period": "Wh",
}
ANALOG_UNITS = {  # xsns_02_analog.ino, ADC types; `A0`, `Range1`, `pH1`, `Joy1`: none
    "Illuminance": "lx",
    "WINDADC": "V",
}
CT_UNITS = {"Energy": "kWh", "Power": "W", "Voltage": "V", "Current": "A"}  # CTEnergy<n>
WIFI_UNITS = {"Signal": "dBm", "RSSI": "%"}
ZIGBEE_UNITS = {  # xdrv_23_zigbee_5_converters.ino: the ZCL attributes as Tasmota names them
    "Temperature": "°C",
    "Humidity": "%",
    "Pressure": "hPa",
    "SeaPressure": "hPa",
    "Illuminance": "lx",
    "BatteryVoltage": "V",  # attribute 0x0020 divided by 10
    "BatteryPercentage": "%",  # attribute 0x0021 divided by 2
    "ActivePower": "W",
    "RMSVoltage": "V",
    "RMSCurrent": "A",
    "EnergyTotal": "kWh",
}
ZIGBEE_STATES = frozenset({"Power", "Occupancy", "Contact", "Water", "Fire", "Movement"})


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


def _base(name: str) -> str:
    """A field name without its index (`Temperature1` -> `Temperature`)."""
    return name.rstrip("0123456789") or name


def _unit_of(parts: tuple[str, ...]) -> tuple[int, str | None]:
    """Which unit word of the document applies to a path (an index into
    `_Units.words`, or -1) and the firmware's fixed unit.  A pure function of
    the path, asked for every value: remembered in `_UNIT_OF` (see `_Units`)."""
    name = field_name(parts)
    top = parts[0] if parts else ""
    parent = parts[-2] if len(parts) >= 2 else ""
    if top == "ENERGY":
        return -1, ENERGY_UNITS.get(name)
    if top == "Wifi" and len(parts) == 2:
        return -1, WIFI_UNITS.get(name)
    if parent.startswith("CTEnergy"):
        return -1, CT_UNITS.get(name)
    if len(parts) >= 2 and (name in SPEED_FIELDS or parent == "Speed"):
        return 2, None  # a sensor's speed (top-level `Speed` is a light's fade speed)
    if (parent == "Dir" and name in DIRECTION_FIELDS) or name == "Degree":
        return -1, "°"
    base = _base(name)
    if name in TEMPERATURE_FIELDS or base == "Temperature":
        return 0, None
    if name in PRESSURE_FIELDS:
        return 1, None
    if top == "ANALOG":
        return -1, ANALOG_UNITS.get(base)
    if name == "Distance" and top.startswith(DISTANCE_MM):
        return -1, "mm"
    if len(parts) == 2 and parent.startswith("Shutter"):
        return -1, SHUTTER_UNITS.get(name)
    if top == name or (len(parts) == 2 and parts[-1].isdigit()):  # a top-level field
        light = LIGHT_UNITS.get(base)
        if light is not None:
            return -1, light
    return -1, FIXED_UNITS.get(name, FIXED_UNITS.get(base) if base in INDEXED else None)


# `_unit_of` per path, for every document: a hit is one dict lookup instead of
# the rule (see bench/README.md, ingest).
_UNIT_OF: Remembered[tuple[str, ...], tuple[int, str | None]] = Remembered()


class _Units:
    """The unit of each path, from the unit words this document states."""

    __slots__ = ("words",)

    def __init__(self, document: dict[str, Any]) -> None:
        get = document.get
        temp, pressure, speed = DEFAULT_WORDS
        self.words = (
            _text(get("TempUnit")) or temp,
            _text(get("PressureUnit")) or pressure,
            _text(get("SpeedUnit")) or speed,
        )

    def __call__(self, parts: tuple[str, ...]) -> str | None:
        word, fixed = _UNIT_OF.get(parts) or _UNIT_OF.remember(parts, _unit_of(parts))
        return fixed if word < 0 else self.words[word]


def _power(ctx: Context) -> bool:
    """Whether the topic is `stat/<dev>/POWER<n>` (its payload a plain ON/OFF)."""
    head, _, last = ctx.topic.rpartition("/")
    return _POWER.fullmatch(last) is not None and "stat" in head.split("/")


def _zigbee_unit(parts: tuple[str, ...]) -> str | None:
    return ZIGBEE_UNITS.get(field_name(parts))


def _zigbee(emit: Emit, zigbee: dict[str, Any], ts: float | None) -> None:
    """Each relayed Zigbee device's attributes, its on/off attributes as states."""
    for key, fields in list(zigbee.items())[:64]:
        if not isinstance(fields, dict):
            continue
        name = fields.get("Name")
        device = name if isinstance(name, str) and name.strip() else str(key)
        for name in ZIGBEE_STATES.intersection(fields):
            emit.state(device, name, fields[name], ts, path=name)
        emit_tree(
            emit,
            device,
            fields,
            unit_of=_zigbee_unit,
            ts=ts,
            skip=_ZIGBEE_IDS | ZIGBEE_STATES,
        )


class Tasmota:
    name = "tasmota"
    transports = ("mqtt",)
    priority = 50
    topic_sniff = True  # its sniff reads the topic and the payload's first byte only

    def sniff(self, ctx: Context) -> bool:
        last = ctx.topic.rpartition("/")[2]
        if last in LAST_LEVELS:
            return looks_like_object(ctx)
        return not ctx.looks_like_json() and _power(ctx)

    def parse(self, ctx: Context, emit: Emit) -> None:
        if not ctx.looks_like_json() and _power(ctx):
            # ON/OFF, or 1/0 by StateText; TOGGLE, HOLD or other words: no state
            emit.state(_device(ctx), ctx.topic.rpartition("/")[2], ctx.text().strip())
            return
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
            _zigbee(emit, zigbee, ts)
            document = {k: v for k, v in document.items() if k != "ZbReceived"}
        on_off = [
            key
            for key in document
            if key.startswith(("POWER", "Switch")) and _ON_OFF.fullmatch(key)
        ]
        for key in on_off:
            emit.state(device, key, document[key], ts, path=key)
        skip = _UNIT_FIELDS.union(on_off) if on_off else _UNIT_FIELDS
        emit_tree(emit, device, document, unit_of=units, ts=ts, skip=skip, states=_booleans)


def _booleans(parts: tuple[str, ...], value: Any) -> float | None:
    return default_state(parts, value) if isinstance(value, bool) else None


FAMILY = Tasmota()
