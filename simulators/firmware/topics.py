"""Families whose device publishes one topic per sensor, the bare value as the payload.

- `number`: `<root>/<dev>/<sensor>` `21.50 °C` (default root `sim`); no availability.
  Today's server parses this family; it is what the demo and the older tests publish.
- `shelly` (Gen1): `shellies/<dev>/sensor/temperature` `21.50` (H&T), `shellies/<dev>/relay/0/
  power` `12.30` (Plug, 1PM); `shellies/announce` JSON on connect; `shellies/<dev>/online`
  `true`/`false`, retained.
- `esphome`: `<node>/sensor/<object_id>/state` `21.5`; `<node>/status` `online`/`offline`,
  retained (birth message and will); units only in the retained Home Assistant discovery
  configs, `homeassistant/sensor/<node>/<object_id>/config`.  With a root, the topic prefix
  is `<root>/<node>`.
- `homie` (v4.0.0): `homie/<dev>/sensor/<property>` `21.50`, retained; on connect `$state`
  `init`, the device, node and property attributes (`$homie`, `$name`, `$extensions`,
  `$nodes`, `$type`, `$properties`, `$datatype`, `$unit`), retained, then `$state` `ready`.
  Will: `$state` `lost`; a clean disconnect says `disconnected` first.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

from simulators.firmware.base import (
    Family,
    Message,
    Sample,
    SensorInfo,
    compact_json,
    presence,
    status,
)


class Number(Family):
    name = "number"
    default_root = "sim"

    def publish(self, device: str, samples: Sequence[Sample], wall: float) -> list[Message]:
        return [Message(f"{self.root}/{device}/{s.name}", s.plain.encode("utf-8")) for s in samples]


def _mac(device: str) -> str:
    """A made-up MAC address, the same for a device name every run."""
    return hashlib.sha256(device.encode("utf-8")).hexdigest()[:12].upper()


class Shelly(Family):
    name = "shelly"
    default_root = "shellies"
    firmware = "20230913-112003/v1.14.0-gcb84623"

    def availability(self, device: str, online: bool) -> Message:
        return presence(f"{self.root}/{device}/online", online, ("true", "false"))

    def announce(self, device: str, sensors: Sequence[SensorInfo]) -> list[Message]:
        about = {
            "id": device,
            "model": "SHHT-1",
            "mac": _mac(device),
            "ip": "127.0.0.1",
            "new_fw": False,
            "fw_ver": self.firmware,
        }
        return [Message(f"{self.root}/announce", compact_json(about))]

    def publish(self, device: str, samples: Sequence[Sample], wall: float) -> list[Message]:
        return [Message(self._topic(device, s.name), s.text.encode("utf-8")) for s in samples]

    def _topic(self, device: str, sensor: str) -> str:
        if sensor == "power":  # a relay's meter: Plug S, 1PM
            return f"{self.root}/{device}/relay/0/power"
        return f"{self.root}/{device}/sensor/{sensor}"


# Home Assistant device classes that ESPHome puts in its discovery configs.
DEVICE_CLASSES = {"temperature", "humidity", "pressure", "power", "voltage", "current"}


def object_id(name: str) -> str:
    """ESPHome's object id: lower case, anything but a-z, 0-9 and _ becomes _."""
    return re.sub(r"[^a-z0-9_]", "_", name.lower())


class ESPHome(Family):
    name = "esphome"
    default_root = ""
    discovery = "homeassistant"
    version = "2024.4.0"

    def availability(self, device: str, online: bool) -> Message:
        return status(self._prefix(device), online)

    def announce(self, device: str, sensors: Sequence[SensorInfo]) -> list[Message]:
        prefix = self._prefix(device)
        configs = []
        for sensor in sensors:
            oid = object_id(sensor.name)
            # ESPHome's abbreviated keys (`unit_of_meas`, `stat_t`), as it sends them.
            config: dict[str, object] = {"name": sensor.name.capitalize()}
            if sensor.name in DEVICE_CLASSES:
                config["dev_cla"] = sensor.name
            if sensor.unit:
                config["unit_of_meas"] = sensor.unit
            config |= {
                "stat_cla": "measurement",
                "stat_t": f"{prefix}/sensor/{oid}/state",
                "avty_t": f"{prefix}/status",
                "uniq_id": f"{_mac(device)}{oid}",
                "dev": {"ids": _mac(device), "name": device, "sw": f"esphome v{self.version}"},
            }
            topic = f"{self.discovery}/sensor/{device}/{oid}/config"
            configs.append(Message(topic, compact_json(config), retain=True))
        return configs

    def publish(self, device: str, samples: Sequence[Sample], wall: float) -> list[Message]:
        prefix = self._prefix(device)
        return [
            Message(f"{prefix}/sensor/{object_id(s.name)}/state", s.text.encode("utf-8"))
            for s in samples
        ]

    def _prefix(self, device: str) -> str:
        return f"{self.root}/{device}" if self.root else device


class Homie(Family):
    name = "homie"
    default_root = "homie"
    node = "sensor"

    def availability(self, device: str, online: bool) -> Message:
        return presence(f"{self.root}/{device}/$state", online, ("ready", "lost"))

    def connect_messages(self, device: str, sensors: Sequence[SensorInfo]) -> list[Message]:
        # The convention: `init` first, then the attributes, then `ready`.
        return [
            self._attribute(device, "$state", "init"),
            *self.announce(device, sensors),
            self.availability(device, online=True),
        ]

    def announce(self, device: str, sensors: Sequence[SensorInfo]) -> list[Message]:
        node = self.node
        attributes = [
            ("$homie", "4.0.0"),
            ("$name", device),
            ("$extensions", ""),
            ("$nodes", node),
            (f"{node}/$name", "Sensor"),
            (f"{node}/$type", "environment"),
            (f"{node}/$properties", ",".join(s.name for s in sensors)),
        ]
        for sensor in sensors:
            attributes += [
                (f"{node}/{sensor.name}/$name", sensor.name.capitalize()),
                (f"{node}/{sensor.name}/$datatype", "float"),
            ]
            if sensor.unit:
                attributes.append((f"{node}/{sensor.name}/$unit", sensor.unit))
        return [self._attribute(device, path, value) for path, value in attributes]

    def goodbye(self, device: str) -> Message:
        return self._attribute(device, "$state", "disconnected")

    def publish(self, device: str, samples: Sequence[Sample], wall: float) -> list[Message]:
        return [self._attribute(device, f"{self.node}/{s.name}", s.text) for s in samples]

    def _attribute(self, device: str, path: str, value: str) -> Message:
        return Message(f"{self.root}/{device}/{path}", value.encode("utf-8"), retain=True)
