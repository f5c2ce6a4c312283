"""The `zigbee2mqtt` family: standard units, the bridge's device list, on/off states."""

from __future__ import annotations

import json

from telemetry.model import Outcome, RawMessage, Route
from telemetry.normalize import Normalizer

AUTO = Route("test", "mqtt")
DEVICES = [
    {"friendly_name": "Coordinator", "type": "Coordinator"},
    {
        "friendly_name": "hall/plug",
        "definition": {
            "model": "ZNCZ04LM",
            "exposes": [
                {
                    "type": "switch",
                    "features": [
                        {
                            "type": "binary",
                            "name": "state",
                            "property": "state",
                            "value_on": "ON",
                            "value_off": "OFF",
                        }
                    ],
                },
                {"type": "numeric", "name": "power", "property": "power", "unit": "W"},
                {"type": "numeric", "name": "voltage", "property": "voltage", "unit": "V"},
                {"type": "numeric", "name": "flow", "property": "flow", "unit": "m³/h"},
                {
                    "type": "numeric",
                    "name": "linkquality",
                    "property": "linkquality",
                    "unit": "lqi",
                },
                {
                    "type": "binary",
                    "name": "child_lock",
                    "property": "child_lock",
                    "value_on": "LOCK",
                    "value_off": "UNLOCK",
                },
                {
                    "type": "light",
                    "features": [
                        {
                            "type": "composite",
                            "name": "color_xy",
                            "property": "color",
                            "features": [
                                {"type": "numeric", "name": "x", "property": "x"},
                                {"type": "numeric", "name": "y", "property": "y"},
                            ],
                        }
                    ],
                },
            ],
        },
    },
]


def feed(n: Normalizer, topic: str, payload: object, route: Route = AUTO) -> Outcome:
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return n.normalize(RawMessage(route, topic, data, 1000.0))


def table(out: Outcome) -> dict[str, tuple[float, str | None, str]]:
    return {f"{r.device}/{r.sensor}": (r.value, r.unit, r.kind) for r in out.readings}


def test_zigbee2mqtt_device_list_teaches_units_and_on_off_words() -> None:
    n = Normalizer()
    out = feed(n, "zigbee2mqtt/bridge/devices", DEVICES)
    assert out.readings == [] and out.errors == []
    state = {
        "state": "ON",
        "power": 5.5,
        "voltage": 230,  # the device list says V (without it: V beside power)
        "linkquality": 90,
        "child_lock": "LOCK",
        "color": {"x": 0.3, "y": 0.4},
    }
    assert table(feed(n, "zigbee2mqtt/hall/plug", state)) == {
        "hall_plug/state": (1.0, None, "state"),
        "hall_plug/power": (5.5, "W", "number"),
        "hall_plug/voltage": (230.0, "V", "number"),
        "hall_plug/linkquality": (90.0, "lqi", "number"),
        "hall_plug/child_lock": (1.0, None, "state"),
        "hall_plug/color.x": (0.3, None, "number"),
        "hall_plug/color.y": (0.4, None, "number"),
    }


def test_zigbee2mqtt_device_list_is_read_whatever_the_format() -> None:
    n = Normalizer()
    route = Route("test", "mqtt", "json", template="zigbee2mqtt/{device}")
    assert feed(n, "zigbee2mqtt/bridge/devices", DEVICES, route).errors == []
    out = feed(n, "zigbee2mqtt/hall/plug", {"linkquality": 90}, Route("test", "mqtt", "json"))
    assert [r.unit for r in out.readings] == ["lqi"]


def test_zigbee2mqtt_a_device_list_arriving_late_reaches_the_series_read_before() -> None:
    n = Normalizer()
    [early] = feed(n, "zigbee2mqtt/hall/plug", {"flow": 1.5}).readings
    assert early.unit is None  # not among Zigbee2MQTT's standard properties
    out = feed(n, "zigbee2mqtt/bridge/devices", DEVICES)
    assert out.units == [("hall_plug/flow", "m³/h")]


def test_zigbee2mqtt_standard_units_without_a_device_list() -> None:
    payload = {
        "temperature": 21.5,
        "humidity": 45,
        "pressure": 1002,
        "battery": 97,
        "voltage": 2995,
        "illuminance_lux": 30,
        "energy": 1.5,
        "current": 0.1,
        "linkquality": 120,
        "power_l1": 3.0,
        "contact": False,
        "state_left": "OFF",
        "power_on_behavior": "off",
        "update": {"state": "idle", "installed_version": 1},
        "last_seen": "2024-05-01T12:00:00+02:00",
    }
    out = table(feed(Normalizer(), "zigbee2mqtt/x", payload))
    assert out == {
        "x/temperature": (21.5, "°C", "number"),
        "x/humidity": (45.0, "%", "number"),
        "x/pressure": (1002.0, "hPa", "number"),
        "x/battery": (97.0, "%", "number"),
        "x/voltage": (2995.0, "V", "number"),  # beside `current`: a meter
        "x/illuminance_lux": (30.0, "lx", "number"),
        "x/energy": (1.5, "kWh", "number"),
        "x/current": (0.1, "A", "number"),
        "x/linkquality": (120.0, "lqi", "number"),
        "x/power_l1": (3.0, "W", "number"),
        "x/contact": (0.0, None, "state"),
        "x/state_left": (0.0, None, "state"),
    }


def test_zigbee2mqtt_a_bad_device_list_is_counted() -> None:
    out = feed(Normalizer(), "zigbee2mqtt/bridge/devices", {"not": "a list"})
    assert [e.reason for e in out.errors] == ["not_a_list"]
    assert feed(Normalizer(), "zigbee2mqtt/bridge/devices", b"").errors == []
