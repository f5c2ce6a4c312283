"""The MQTT payloads real firmware publishes, one class per family, picked by name.

`family("tasmota")` gives the family that renders a device's samples as
Tasmota does; `FAMILIES` lists them all.  The families are pure: they build
messages and never touch a network (`simulators.mqtt` sends them).
"""

from __future__ import annotations

from simulators.firmware.base import Family, Message, Quantity, Sample, SensorInfo
from simulators.firmware.documents import Influx, SenML, Tasmota, Zigbee2Mqtt
from simulators.firmware.topics import ESPHome, Homie, Number, Shelly

FAMILIES: dict[str, type[Family]] = {
    cls.name: cls for cls in (Number, Tasmota, Zigbee2Mqtt, Shelly, ESPHome, Homie, SenML, Influx)
}


def family(name: str, root: str | None = None) -> Family:
    """The family called `name`, publishing under `root` (None: the firmware's default)."""
    try:
        return FAMILIES[name](root)
    except KeyError:
        known = ", ".join(FAMILIES)
        raise ValueError(f"unknown payload family {name!r}; expected one of {known}") from None


__all__ = ["FAMILIES", "Family", "Message", "Quantity", "Sample", "SensorInfo", "family"]
