"""Home Assistant's MQTT discovery schema, as its documentation states it (the MQTT
discovery page, the MQTT sensor and binary sensor pages, and the sensor entity's
device classes with their units), written out for the tests to check the configs
the republisher publishes.  Not derived from `devices.hadiscovery`: a mistake
there must not be copied here."""

from __future__ import annotations

import json
import re
from typing import Any

DISCOVERY_TOPIC = re.compile(
    r"(?P<prefix>.+)/(?P<component>[a-z_]+)/(?:(?P<node>[a-zA-Z0-9_-]+)/)?"
    r"(?P<object>[a-zA-Z0-9_-]+)/config"
)
ENTITY_ID = re.compile(r"(sensor|binary_sensor)\.[a-z0-9_]+")

# Sensor device classes and the units HA accepts with each.
SENSOR_UNITS: dict[str, set[str | None]] = {
    "temperature": {"°C", "°F", "K"},
    "humidity": {"%"},
    "moisture": {"%"},
    "battery": {"%"},
    "pressure": {"cbar", "bar", "hPa", "mmHg", "inHg", "kPa", "mbar", "Pa", "psi"},
    "atmospheric_pressure": {"cbar", "bar", "hPa", "mmHg", "inHg", "kPa", "mbar", "Pa", "psi"},
    "power": {"mW", "W", "kW", "MW", "GW", "TW", "BTU/h"},
    "energy": {"Wh", "kWh", "MWh", "GWh", "TWh", "MJ", "GJ", "cal", "kcal", "Mcal", "Gcal"},
    "voltage": {"µV", "mV", "V", "kV", "MV"},
    "current": {"mA", "A"},
    "illuminance": {"lx"},
    "carbon_dioxide": {"ppm"},
    "carbon_monoxide": {"ppm"},
    "signal_strength": {"dB", "dBm"},
    "pm1": {"µg/m³"},
    "pm25": {"µg/m³"},
    "pm10": {"µg/m³"},
    "frequency": {"Hz", "kHz", "MHz", "GHz"},
    "irradiance": {"W/m²", "BTU/(h⋅ft²)"},
}
STATE_CLASSES = {"measurement", "total", "total_increasing"}
# Device classes that refuse `measurement` (HA's DEVICE_CLASS_STATE_CLASSES).
ACCUMULATING = {"energy": {"total", "total_increasing"}}
BINARY_DEVICE_CLASSES = {"connectivity", "door", "motion", "opening", "power", "problem"}

COMMON_KEYS = {
    "name",
    "unique_id",
    "default_entity_id",  # `object_id` before HA 2025.10, gone in 2026.4
    "state_topic",
    "value_template",
    "availability_topic",
    "payload_available",
    "payload_not_available",
    "device",
    "origin",
    "device_class",
    "entity_category",
    "qos",
    "expire_after",
    "force_update",
    "icon",
    "enabled_by_default",
}
KEYS = {
    "sensor": COMMON_KEYS | {"unit_of_measurement", "state_class", "suggested_display_precision"},
    "binary_sensor": COMMON_KEYS | {"payload_on", "payload_off", "off_delay"},
}
DEVICE_KEYS = {"identifiers", "connections", "name", "via_device", "sw_version", "model"}


def valid_topic(topic: object) -> bool:
    return isinstance(topic, str) and bool(topic) and not set("+#\0") & set(topic)


def check(topic: str, data: bytes) -> dict[str, Any]:
    """The config, or AssertionError naming what HA would refuse or warn about."""
    where = DISCOVERY_TOPIC.fullmatch(topic)
    assert where, f"{topic!r} is not <prefix>/<component>/[<node_id>/]<object_id>/config"
    component = where["component"]
    assert component in KEYS, f"{topic!r}: component {component!r}"
    config = json.loads(data)
    assert isinstance(config, dict), f"{topic!r}: not a JSON object"
    unknown = set(config) - KEYS[component]
    assert not unknown, f"{topic!r}: keys HA does not know for a {component}: {unknown}"
    assert valid_topic(config.get("state_topic")), f"{topic!r}: state_topic is required"
    assert isinstance(config.get("unique_id"), str) and config["unique_id"], "unique_id"
    assert isinstance(config.get("name"), str) and config["name"], "name"
    if "availability_topic" in config:
        assert valid_topic(config["availability_topic"]), "availability_topic"
        assert isinstance(config.get("payload_available", "online"), str)
        assert isinstance(config.get("payload_not_available", "offline"), str)
    entity = config.get("default_entity_id")
    assert entity is None or ENTITY_ID.fullmatch(entity), f"default_entity_id {entity!r}"
    assert entity is None or entity.startswith(component + "."), "default_entity_id's domain"
    device = config.get("device")
    if device is not None:
        assert set(device) <= DEVICE_KEYS, f"device keys {set(device) - DEVICE_KEYS}"
        ids = device.get("identifiers")
        assert isinstance(ids, list) and ids and all(isinstance(i, str) for i in ids)
    cls = config.get("device_class")
    if component == "sensor":
        unit = config.get("unit_of_measurement")
        if cls is not None:
            assert cls in SENSOR_UNITS, f"{topic!r}: no sensor device class {cls!r}"
            assert unit in SENSOR_UNITS[cls], f"{topic!r}: {unit!r} is not a unit of {cls}"
        state_class = config.get("state_class")
        if state_class is not None:
            assert state_class in STATE_CLASSES
            assert state_class in ACCUMULATING.get(cls or "", STATE_CLASSES), (
                f"{topic!r}: state_class {state_class} with {cls}"
            )
    else:
        assert cls is None or cls in BINARY_DEVICE_CLASSES, f"binary_sensor class {cls!r}"
        assert "unit_of_measurement" not in config
    return config
