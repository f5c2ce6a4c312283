"""The `zigbee2mqtt` family: Zigbee2MQTT's device state messages and device list.

Topic `<base>/<friendly_name>` (base `zigbee2mqtt` by default), payload one JSON
object of the device's exposed properties: `{"temperature": 21.5,
"humidity": 45, "battery": 97, "linkquality": 120, "voltage": 3000}`.

Conventions (decided here):
- Device: the template's `{device}` when the route has one; else everything
  after the topic's first level, the base (friendly names may hold `/`, e.g.
  `zigbee2mqtt/kitchen/sensor`; the `/` becomes `_` in the device name).
  Topics under `<base>/bridge/...` (Z2M's own state, logs) and a device's
  `/set` and `/get` subtopics are not readings and are skipped without an
  error; `/availability` marks the device online or offline (the normalizer
  reads it, whatever the template) and is never a device of its own.
- With Zigbee2MQTT's `output: attribute` (or `attribute_and_json`), each
  attribute also has a topic of its own with a plain payload,
  `<base>/<friendly_name>/<attribute>` (`zigbee2mqtt/z1/power` -> `0`): the
  last level is the attribute (the sensor), the levels between it and the
  base the friendly name; read with the same units and states.  A JSON object
  on such a topic is a state message of a friendly name holding `/`.
- Readings: every number, dotted paths for nested objects (`color.x`).  On/off
  states are readings of kind `state` (1/0): booleans (`contact`, `occupancy`,
  `water_leak`, `tamper`, `battery_low`...) and `ON`/`OFF` (`OPEN`/`CLOSE`)
  in `state` and `state_<endpoint>`.  Other text (`action`, enums such as
  `power_on_behavior`) is skipped.  The `update` object (OTA state),
  `update_available` and the `device` object (the `include_device_information`
  option: addresses and identities) are not measurements and are skipped.
- Device time: Z2M adds none by default; a top-level `last_seen` (its
  `advanced.last_seen` option: ISO 8601 or epoch ms) is used when present and is
  not a reading.

Units, from what Zigbee2MQTT documents:
1. The retained device list `<base>/bridge/devices` (read whatever the
   subscription's format; `learns`/`learn`): each device's
   `definition.exposes`, as zigbee-herdsman-converters defines them
   (`src/lib/exposes.ts`): a `numeric` expose's `property` and `unit`
   (`linkquality` is `lqi` there too), a `binary` expose's `value_on`/`value_off`
   when they are words (a device's own: `LOCK`/`UNLOCK`, `OPEN`/`CLOSE`; a
   boolean is true = 1 with or without the list, so a series never flips
   meaning when the list arrives), features
   of `light`/`switch`/`climate`/`cover`/`lock`/`fan` exposes at the top
   level, a `composite` expose's features under its property (`color.x`).
   A unit it states wins over the table below, also for values that arrived
   before it (the catalog is updated); a numeric expose without a unit leaves
   the table's.
2. Without it, the standard properties, as exposes.ts gives them
   (`presets`: `temperature`, `humidity`, `pressure`, `battery`,
   `battery_voltage`, `power`, `energy`, `current`, `voltage`,
   `illuminance`, ...): `UNITS` below.  `voltage` is `e.battery_voltage()`,
   in mV, on a battery device, and `e.voltage()`, in V, on a meter: it is V
   when the same message carries `power` or `current` (or, for an attribute
   topic, when the device has shown either), else mV.
   `linkquality` (0-255) is in `lqi`, as exposes.ts gives it.  An `_l1`, `_left`... endpoint suffix
   or a `_phase_b`/`_phase_c` phase suffix does not change the unit.
"""

from __future__ import annotations

import re
from typing import Any

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit, as_number, state_value
from telemetry.normalize.families._jsonwalk import emit_tree, looks_like_object
from telemetry.normalize.metadata import LEARNED, teach

BASE = "zigbee2mqtt"
_SKIP_LAST = frozenset({"set", "get", "availability"})
_SKIP = frozenset({"last_seen", "update", "update_available", "elapsed", "device"})
MAX_DEVICES = 1000  # in one device list
MAX_EXPOSES = 256  # per device

# zigbee-herdsman-converters src/lib/exposes.ts, `presets` (numeric exposes'
# `withUnit`): https://github.com/Koenkk/zigbee-herdsman-converters/blob/master/src/lib/exposes.ts
UNITS: dict[str, str | None] = {
    "temperature": "°C",
    "local_temperature": "°C",
    "device_temperature": "°C",
    "cpu_temperature": "°C",
    "current_heating_setpoint": "°C",
    "occupied_heating_setpoint": "°C",
    "dew_point": "°C",
    "pi_heating_demand": "%",
    "angle_x": "°",
    "angle_y": "°",
    "angle_z": "°",
    "humidity": "%",
    "soil_moisture": "%",
    "pressure": "hPa",
    "battery": "%",
    "power": "W",
    "power_apparent": "VA",
    "power_reactive": "var",
    "power_factor": None,
    "energy": "kWh",
    "produced_energy": "kWh",
    "energy_produced": "kWh",
    "current": "A",
    "current_neutral": "A",
    "ac_frequency": "Hz",
    "illuminance": "lx",
    "illuminance_lux": "lx",
    "co2": "ppm",
    "co": "ppm",
    "eco2": "ppm",
    "voc": "µg/m³",
    "pm1": "µg/m³",
    "pm25": "µg/m³",
    "pm10": "µg/m³",
    "formaldehyd": "mg/m³",
    "hcho": "mg/m³",
    "noise": "dBA",
    "position": "%",
    "tilt": "%",
    "color_temp": "mired",
    "action_duration": "s",
    "linkquality": "lqi",  # 0-255; Zigbee2MQTT's own unit (exposes.ts: `withUnit("lqi")`)
}
_SUFFIX = re.compile(r"_(?:l\d+|ep\d+|\d+|left|right|center|top|bottom|phase_[abc])$")


def unit_of(parts: tuple[str, ...], electrical: bool) -> str | None:
    """The documented unit of a top-level property, without metadata."""
    if len(parts) != 1:
        return None
    name = parts[0]
    if name not in UNITS and name != "voltage":
        name = _SUFFIX.sub("", name)
    if name == "voltage":
        return "V" if electrical else "mV"
    return UNITS.get(name)


def _state_rule(binaries: dict[str, dict[Any, float]]) -> Any:
    def state_of(parts: tuple[str, ...], value: Any) -> float | None:
        path = ".".join(parts)
        words = binaries.get(path)
        if words is not None:
            return words.get(value)
        if value is True or value is False:
            return 1.0 if value else 0.0
        name = parts[-1] if parts else ""
        if name == "state" or name.startswith("state_"):
            return state_value(value)
        return None

    return state_of


def _skipped(ctx: Context) -> bool:
    levels = ctx.topic.split("/")
    return (len(levels) > 1 and levels[1] == "bridge") or levels[-1] in _SKIP_LAST


def _exposes(exposes: Any, prefix: str, found: dict[str, tuple[str, Any]], depth: int = 0) -> None:
    """Flatten exposes into `found`: path -> ("numeric", unit) or ("binary", words)."""
    if not isinstance(exposes, list) or depth > 4:
        return
    for expose in exposes[:MAX_EXPOSES]:
        if not isinstance(expose, dict):
            continue
        kind = expose.get("type")
        prop = expose.get("property")
        features = expose.get("features")
        if isinstance(features, list):
            # specific exposes (light, switch, ...) put their features at the top
            # level; a composite puts them under its own property
            nested = f"{prefix}{prop}." if kind == "composite" and isinstance(prop, str) else prefix
            _exposes(features, nested, found, depth + 1)
            continue
        if not isinstance(prop, str) or not prop or len(found) >= MAX_EXPOSES:
            continue
        if kind == "numeric":
            unit = expose.get("unit")
            found[prefix + prop] = ("numeric", unit if isinstance(unit, str) and unit else None)
        elif kind == "binary":
            # A device's own words; booleans stay true = 1 whatever `value_on` says
            # (`contact` has value_on false), as without a device list.
            on, off = expose.get("value_on"), expose.get("value_off")
            if isinstance(on, str) and isinstance(off, str):
                found[prefix + prop] = ("binary", {on: 1.0, off: 0.0})


class Zigbee2Mqtt:
    name = "zigbee2mqtt"
    transports = ("mqtt",)
    priority = 55
    topic_sniff = True  # its sniff reads the topic and the payload's first byte only

    def sniff(self, ctx: Context) -> bool:
        if not ctx.topic.startswith(BASE + "/"):
            return False
        return looks_like_object(ctx) or (not ctx.looks_like_json() and ctx.topic.count("/") >= 2)

    def learns(self, topic: str) -> bool:
        return topic.endswith("/bridge/devices")

    def learn(self, ctx: Context, emit: Emit) -> None:
        """Learn every device's exposes from the retained device list."""
        if not ctx.payload.strip():
            return
        devices = ctx.json()
        if not isinstance(devices, list):
            raise PayloadError("not_a_list", "Zigbee2MQTT's bridge/devices is a JSON array")
        base = ctx.topic[: -len("/bridge/devices")]
        binaries = ctx.state.space("z2m_binary")
        for device in devices[:MAX_DEVICES]:
            if not isinstance(device, dict):
                continue
            name = device.get("friendly_name")
            definition = device.get("definition")
            if not isinstance(name, str) or not name or not isinstance(definition, dict):
                continue
            found: dict[str, tuple[str, Any]] = {}
            _exposes(definition.get("exposes"), "", found)
            topic = f"{base}/{name}"
            words = {}
            for path, (kind, detail) in found.items():
                if kind == "numeric":
                    teach(ctx, emit, topic, path, detail)
                else:
                    words[path] = detail
            binaries[topic] = words

    def parse(self, ctx: Context, emit: Emit) -> None:
        if _skipped(ctx):
            return
        if not ctx.looks_like_json():
            self._attribute(ctx, emit)
            return
        document = ctx.json()
        if not isinstance(document, dict):
            raise PayloadError("not_an_object", "a Zigbee2MQTT state is a JSON object")
        device = ctx.device or ctx.topic.partition("/")[2]
        if not device:
            raise PayloadError("no_device", f"no friendly name in topic {ctx.topic!r}")
        seen = document.get("last_seen")
        ts = emit.device_time(seen) if seen is not None else None
        electrical = "power" in document or "current" in document
        if electrical:
            ctx.state.space("z2m_meters")[ctx.topic] = True
        learned = emit.learned or {}
        binaries = ctx.state.space("z2m_binary").get(ctx.topic) or {}

        def units(parts: tuple[str, ...]) -> str | None:
            # a unit learned for the path wins (Emit fills it in); metadata that
            # states none does not erase a documented one
            if learned and learned.get(".".join(parts)) is not None:
                return None
            return unit_of(parts, electrical)

        emit_tree(
            emit, device, document, unit_of=units, ts=ts, skip=_SKIP, states=_state_rule(binaries)
        )

    @staticmethod
    def _attribute(ctx: Context, emit: Emit) -> None:
        """One attribute on its own topic (`output: attribute`), a plain value."""
        head, _, name = ctx.topic.rpartition("/")
        device = ctx.device or head.partition("/")[2]
        if not device or not name:
            raise PayloadError("no_device", f"no friendly name in topic {ctx.topic!r}")
        text = ctx.text().strip()
        state_topic = head
        words = (ctx.state.space("z2m_binary").get(state_topic) or {}).get(name)
        if words is not None or name == "state" or name.startswith("state_"):
            emit.state(device, name, text, words=words)
            return
        if as_number(text) is None:
            return  # an enum or text attribute (`child_lock`, `indicator_mode`)
        learned = ctx.state.space(LEARNED).get(state_topic) or {}
        meters = ctx.state.space("z2m_meters")
        if name in ("power", "current"):
            meters[state_topic] = True
        electrical = bool(meters.get(state_topic))
        unit = learned.get(name) or unit_of((name,), electrical)
        emit.reading(device, name, text, unit)


FAMILY = Zigbee2Mqtt()
