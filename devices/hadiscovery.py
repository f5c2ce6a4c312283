"""Home Assistant MQTT discovery: the retained configs that make every republished
series an entity, with its unit, device class and the instance's availability.

Pure: `series_config` and `instance_config` build (topic, payload) for the
republisher (`devices.republish`) to publish; an empty retained payload on the
same topic removes the entity.

Each series is a `sensor` (a `binary_sensor` for kind "state", ON/OFF from the
value) at `<discovery_prefix>/<component>/<node_id>/<object_id>/config`, its
device the series' device, shown "via" the instance, which is a device of its
own with one `binary_sensor` (connectivity) on `<prefix>/status`.  node_id and
object_id hold only [a-zA-Z0-9_-] (what HA accepts in a discovery topic); the
object_id and unique_id end in a short hash of the series id, so two ids that
differ only in characters replaced by `_` stay two entities.  HA's entity id is
asked for with `default_entity_id` (HA 2025.10 on; the `object_id` key it
replaced stopped working in 2026.4, and is not sent).

A device class is given only when the unit is one HA accepts for it (HA's
`DEVICE_CLASS_UNITS`); some are told by the sensor's name (`%` is humidity
only for a humidity sensor); otherwise none, and HA shows the plain unit.
"""

from __future__ import annotations

import hashlib
import json
import re

from telemetry.outputs import OutPoint

_SLUG = re.compile(r"[^a-zA-Z0-9_-]+")
_ENTITY = re.compile(r"[^a-z0-9_]+")

# Units HA accepts for a device class (a subset of its DEVICE_CLASS_UNITS: the
# spellings of `telemetry.units` that HA also uses).
PRESSURE_UNITS = frozenset({"Pa", "kPa", "hPa", "bar", "mbar", "mmHg", "inHg", "psi"})
_BY_UNIT = {
    "°C": "temperature",
    "°F": "temperature",
    "K": "temperature",
    "W": "power",
    "kW": "power",
    "Wh": "energy",
    "kWh": "energy",
    "MWh": "energy",
    "V": "voltage",
    "mV": "voltage",
    "A": "current",
    "mA": "current",
    "lx": "illuminance",
    "dBm": "signal_strength",
    "Hz": "frequency",
    "kHz": "frequency",
    "MHz": "frequency",
    "GHz": "frequency",
    "W/m²": "irradiance",
}
ENERGY_UNITS = frozenset({"Wh", "kWh", "MWh"})


def slug(text: str) -> str:
    """`text` with every run of characters HA refuses in a topic id made `_`."""
    return _SLUG.sub("_", text).strip("_") or "_"


def entity_slug(text: str) -> str:
    """`text` as the object part of an entity id: lower-case letters, digits, `_`."""
    return _ENTITY.sub("_", text.lower()).strip("_") or "_"


def short_hash(text: str) -> str:
    return hashlib.blake2s(text.encode("utf-8", "surrogateescape"), digest_size=4).hexdigest()


def _words(name: str) -> str:
    return name.lower().replace("-", "_").replace(".", "_").replace(" ", "_")


def device_class(unit: str | None, sensor: str) -> str | None:
    """HA's device class for a sensor of this unit and name, or None."""
    if unit is None:
        return None
    if unit in _BY_UNIT:
        return _BY_UNIT[unit]
    name = _words(sensor)
    if unit == "%":
        for hint, cls in (("humid", "humidity"), ("rh", "humidity"), ("batt", "battery")):
            if hint in name:
                return cls
        return "moisture" if "moist" in name or "soil" in name else None
    if unit in PRESSURE_UNITS:
        return "atmospheric_pressure" if "baro" in name or "atmo" in name else "pressure"
    if unit == "ppm":
        if "co2" in name or "carbon_dioxide" in name:
            return "carbon_dioxide"
        return "carbon_monoxide" if re.search(r"(^|[^a-z])co($|[^a-z0-9])", name) else None
    if unit == "µg/m³":
        compact = name.replace("_", "")
        for hint, cls in (("pm25", "pm25"), ("pm10", "pm10"), ("pm1", "pm1")):
            if hint in compact:
                return cls
        return None
    if unit == "dB" and ("rssi" in name or "signal" in name):
        return "signal_strength"
    return None


def state_class(unit: str | None, cls: str | None) -> str:
    return "total_increasing" if cls == "energy" and unit in ENERGY_UNITS else "measurement"


def node_id(instance: str) -> str:
    return slug(instance)


def _instance_device(instance: str) -> str:
    return f"telemetry_{node_id(instance)}"


def config_topic(discovery_prefix: str, instance: str, series: str, kind: str) -> str:
    component = "binary_sensor" if kind == "state" else "sensor"
    object_id = f"{slug(series)}_{short_hash(series)}"
    return f"{discovery_prefix}/{component}/{node_id(instance)}/{object_id}/config"


def series_config(
    point: OutPoint, *, state_topic: str, prefix: str, instance: str, sw_version: str
) -> bytes:
    """The discovery payload of `point`'s series (its unit and kind as of `point`)."""
    node = node_id(instance)
    series_slug = slug(point.series)
    component = "binary_sensor" if point.kind == "state" else "sensor"
    entity = entity_slug(f"{node}_{series_slug}")
    config: dict[str, object] = {
        "name": point.sensor,
        "unique_id": f"telemetry_{node}_{series_slug}_{short_hash(point.series)}",
        "default_entity_id": f"{component}.{entity}",
        "state_topic": state_topic,
        "availability_topic": f"{prefix}/status",
        "payload_available": "online",
        "payload_not_available": "offline",
        "device": {
            "identifiers": [f"telemetry_{node}_{slug(point.device)}_{short_hash(point.device)}"],
            "name": point.device,
            "via_device": _instance_device(instance),
        },
        "origin": {"name": "telemetry", "sw_version": sw_version},
    }
    if point.kind == "state":
        config["value_template"] = "{{ 'ON' if value_json.v else 'OFF' }}"
        config["payload_on"], config["payload_off"] = "ON", "OFF"
    else:
        config["value_template"] = "{{ value_json.v }}"
        cls = device_class(point.unit, point.sensor)
        if point.unit is not None:
            config["unit_of_measurement"] = point.unit
        if cls is not None:
            config["device_class"] = cls
        config["state_class"] = state_class(point.unit, cls)
    return json.dumps(config, ensure_ascii=False).encode()


def instance_config(
    discovery_prefix: str, *, prefix: str, instance: str, sw_version: str
) -> tuple[str, bytes]:
    """The instance's own device and its connectivity binary_sensor (the status topic)."""
    node = node_id(instance)
    config = {
        "name": "Connected",
        "unique_id": f"telemetry_{node}_status",
        "default_entity_id": f"binary_sensor.{entity_slug(f'telemetry_{node}_connected')}",
        "state_topic": f"{prefix}/status",
        "payload_on": "online",
        "payload_off": "offline",
        "device_class": "connectivity",
        "entity_category": "diagnostic",
        "device": {
            "identifiers": [_instance_device(instance)],
            "name": instance,
            "sw_version": sw_version,
        },
        "origin": {"name": "telemetry", "sw_version": sw_version},
    }
    topic = f"{discovery_prefix}/binary_sensor/{node}/status/config"
    return topic, json.dumps(config, ensure_ascii=False).encode()
