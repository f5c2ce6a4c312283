"""Families whose device publishes one document per reading, all sensors in it.

- `tasmota`: `tele/<dev>/SENSOR`, `{"Time":"2024-05-01T12:00:00","AM2301":{"Temperature":21.5,
  "Humidity":40.2,"DewPoint":7.6},"TempUnit":"C"}` (local time, no offset, as Tasmota sends
  it); `tele/<dev>/LWT` `Online`/`Offline`, retained.
- `zigbee2mqtt`: `zigbee2mqtt/<dev>`, `{"battery":97,"humidity":40.2,"last_seen":"...+02:00",
  "linkquality":116,"temperature":21.5,"voltage":2995}` (no units; `last_seen` as with the
  `ISO_8601_local` option); `zigbee2mqtt/<dev>/availability` `{"state":"online"}`/
  `{"state":"offline"}`, retained; the bridge's retained device list
  `zigbee2mqtt/bridge/devices`, each device's `definition.exposes` as zigbee-herdsman-converters
  defines them (`temperature` °C, `humidity` %, `battery` %, battery `voltage` mV,
  `linkquality` lqi), republished with every device announced so far.  A real bridge
  publishes a device's availability itself and has its own will on `zigbee2mqtt/bridge/state`;
  each simulated device is its own bridge, so its will is its availability.
- `senml`: `senml/<dev>`, an RFC 8428 pack `[{"bn":"urn:dev:sim:<dev>:","bt":1714557600,
  "n":"temperature","u":"Cel","v":21.5,"t":0.25}, ...]` (SenML units: `Cel`, `%RH`, `Pa`).
- `influx`: `influx/<dev>`, line protocol `environment,device=<dev> temperature=21.50,
  humidity=40.2 1714557600250000000` (nanoseconds, as Telegraf and the client libraries send).
SenML and line protocol define no availability: both use `<root>/<dev>/status`
`online`/`offline`, retained, as ESPHome does.
"""

from __future__ import annotations

import hashlib
import math
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from simulators.firmware.base import (
    Family,
    Message,
    Sample,
    SensorInfo,
    compact_json,
    presence,
    status,
)


def dew_point(celsius: float, humidity: float) -> float:
    """The Magnus formula, as Tasmota computes its `DewPoint`."""
    a, b = 17.62, 243.12
    gamma = math.log(max(humidity, 0.1) / 100.0) + a * celsius / (b + celsius)
    return b * gamma / (a - gamma)


class Tasmota(Family):
    name = "tasmota"
    default_root = "tele"

    def availability(self, device: str, online: bool) -> Message:
        return presence(f"{self.root}/{device}/LWT", online, ("Online", "Offline"))

    def publish(self, device: str, samples: Sequence[Sample], wall: float) -> list[Message]:
        if not samples:
            return []
        by_name = {s.name: s for s in samples}
        document: dict[str, Any] = {
            "Time": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(wall))
        }
        climate: dict[str, float] = {
            s.name.capitalize(): s.number for s in samples if s.name != "power"
        }
        if "temperature" in by_name and "humidity" in by_name:
            t, h = by_name["temperature"].value, by_name["humidity"].value
            climate["DewPoint"] = round(dew_point(t, h), 1)
        if climate:
            # The sensor's name is the key: a BME280 reports pressure, an AM2301 does not.
            document["BME280" if "pressure" in by_name else "AM2301"] = climate
        if "power" in by_name:
            document["ENERGY"] = {"Power": by_name["power"].number}
        if "pressure" in by_name:
            document["PressureUnit"] = "hPa"
        if "temperature" in by_name:
            document["TempUnit"] = "C"
        return [Message(f"{self.root}/{device}/SENSOR", compact_json(document))]


def _numeric(name: str, unit: str | None) -> dict[str, Any]:
    """A numeric expose, as zigbee-herdsman-converters' `Numeric` serialises it."""
    expose: dict[str, Any] = {"type": "numeric", "name": name, "property": name, "access": 1}
    if unit:
        expose["unit"] = unit
    return expose


# What every simulated device exposes besides its quantities (exposes.ts presets
# `battery`, `battery_voltage`; Zigbee2MQTT's own `linkquality`).
_EXTRA_EXPOSES = (("battery", "%"), ("voltage", "mV"), ("linkquality", "lqi"))


class Zigbee2Mqtt(Family):
    name = "zigbee2mqtt"
    default_root = "zigbee2mqtt"

    def __init__(self, root: str | None = None) -> None:
        super().__init__(root)
        self._devices: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()  # devices connect on their own paho threads

    def announce(self, device: str, sensors: Sequence[SensorInfo]) -> list[Message]:
        exposes = [_numeric(s.name, s.unit) for s in sensors]
        exposes += [_numeric(name, unit) for name, unit in _EXTRA_EXPOSES]
        with self._lock:
            self._devices[device] = exposes
            listing = [
                {
                    "friendly_name": name,
                    "ieee_address": "0x" + hashlib.sha256(name.encode()).hexdigest()[:16],
                    "type": "EndDevice",
                    "supported": True,
                    "definition": {"model": "WSDCGQ11LM", "vendor": "Aqara", "exposes": found},
                }
                for name, found in self._devices.items()
            ]
        return [Message(f"{self.root}/bridge/devices", compact_json(listing), retain=True)]

    def availability(self, device: str, online: bool) -> Message:
        return presence(
            f"{self.root}/{device}/availability",
            online,
            ('{"state":"online"}', '{"state":"offline"}'),
        )

    def publish(self, device: str, samples: Sequence[Sample], wall: float) -> list[Message]:
        if not samples:
            return []
        seen = datetime.fromtimestamp(wall).astimezone().isoformat(timespec="seconds")
        document: dict[str, Any] = {s.name: s.number for s in samples}
        document.update(battery=97, linkquality=116, voltage=2995, last_seen=seen)
        return [Message(f"{self.root}/{device}", compact_json(dict(sorted(document.items()))))]


# RFC 8428 section 12.1 units; hPa is not one of them, so pressure goes out in Pa.
SENML_UNITS: dict[str, tuple[str, float]] = {
    "°C": ("Cel", 1.0),
    "%": ("%RH", 1.0),
    "hPa": ("Pa", 100.0),
    "Pa": ("Pa", 1.0),
    "W": ("W", 1.0),
    "V": ("V", 1.0),
    "A": ("A", 1.0),
    "m/s": ("m/s", 1.0),
}


class SenML(Family):
    name = "senml"
    default_root = "senml"

    def availability(self, device: str, online: bool) -> Message:
        return status(f"{self.root}/{device}", online)

    def publish(self, device: str, samples: Sequence[Sample], wall: float) -> list[Message]:
        if not samples:
            return []
        # A coarse base time with per-record offsets, as a device with a seconds clock and a
        # millisecond timer sends them: each record's time is bt + t.
        base = math.floor(wall)
        offset = round(wall - base, 3)
        pack: list[dict[str, Any]] = []
        for sample in samples:
            record: dict[str, Any] = {"n": sample.name}
            unit, factor = SENML_UNITS.get(sample.unit or "", (sample.unit, 1.0))
            if unit:
                record["u"] = unit
            record["v"] = round(sample.value * factor, sample.decimals)
            if offset:
                record["t"] = offset
            pack.append(record)
        pack[0] = {"bn": f"urn:dev:sim:{device}:", "bt": base, **pack[0]}
        return [Message(f"{self.root}/{device}", compact_json(pack))]


def _escape(text: str, special: str) -> str:
    for char in "\\" + special:
        text = text.replace(char, "\\" + char)
    return text


class Influx(Family):
    name = "influx"
    default_root = "influx"
    measurement = "environment"

    def availability(self, device: str, online: bool) -> Message:
        return status(f"{self.root}/{device}", online)

    def publish(self, device: str, samples: Sequence[Sample], wall: float) -> list[Message]:
        if not samples:
            return []
        key = ", ="  # tag keys, tag values and field keys escape these; measurements only ", "
        fields = ",".join(f"{_escape(s.name, key)}={s.text}" for s in samples)
        nanoseconds = round(wall * 1000) * 1_000_000
        line = (
            f"{_escape(self.measurement, ', ')},device={_escape(device, key)} "
            f"{fields} {nanoseconds}"
        )
        return [Message(f"{self.root}/{device}", line.encode("utf-8"))]
