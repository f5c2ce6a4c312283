"""The `omg` family: OpenMQTTGateway's messages (`<base>/<gateway>/<module>toMQTT`).

Topics, with the default base `home`:
- `home/<gw>/BTtoMQTT/<MAC>`: a BLE device decoded by Theengs Decoder,
  `{"id": "A4:C1:38:12:34:56", "model_id": "LYWSD03MMC_ATC", "tempc": 21.2,
  "hum": 45.1, "batt": 80, "volt": 2.98, "rssi": -70}`;
- `home/<gw>/BTtoMQTT` (older firmware, `pubBLEServiceUUID` off): the same
  object, the device named only by its `id`;
- `home/<gw>/433toMQTT` (RCSwitch): `{"value": 1315156, "protocol": 1,
  "length": 24, "delay": 317}`;
- `home/<gw>/SYStoMQTT`: the gateway's own status (`uptime`, `freemem`, `rssi`).

Device (decided): for BLE the sensor's MAC, from the topic level after
`BTtoMQTT`, else the payload's `id` (the MAC, or a UUID on iOS-style random
addresses); the template's `{device}` wins when the route has one.  For the
other modules the gateway (the level before `<module>toMQTT`, or the
template's `{device}`), with sensors under the module (`433toMQTT.value`,
`SYStoMQTT.uptime`).  Identifiers and settings are not readings: `id`,
`mac_type`, `adv_type`, `cidc`, `acts`, `cont`, `protocol`, `length`, `delay`,
`mqttport`, `lowpowermode`, `interval`, `scanInterval`, `servicedata` (the
advertisement's raw hex, a number only by accident: `"595753443032"`)...

Units from Theengs Decoder's documented property names (decoder docs,
"properties"): `tempc*` °C, `tempf*` °F, `hum` %, `batt` %, `volt` V,
`lux` lx, `pres` hPa, `co2` ppm, `pm25`/`pm10` µg/m³, `moi` %, `rssi` dBm;
SYStoMQTT `uptime` s.  Others carry no unit.
"""

from __future__ import annotations

from typing import Any

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._jsonwalk import emit_tree, field_name, looks_like_object

SKIP = frozenset(
    {
        "id",
        "mac_type",
        "adv_type",
        "cidc",
        "acts",
        "cont",
        "protocol",
        "length",
        "delay",
        "mqttport",
        "lowpowermode",
        "interval",
        "scanInterval",
        "modules",
        "servicedatauuid",
        "servicedata",
    }
)
NAMED = {
    "hum": "%",
    "batt": "%",
    "volt": "V",
    "lux": "lx",
    "pres": "hPa",
    "co2": "ppm",
    "pm25": "µg/m³",
    "pm10": "µg/m³",
    "moi": "%",
    "rssi": "dBm",
    "uptime": "s",
}


def unit_of(parts: tuple[str, ...]) -> str | None:
    name = field_name(parts)
    if name.startswith("tempc"):
        return "°C"
    if name.startswith("tempf"):
        return "°F"
    return NAMED.get(name)


def _module(levels: list[str]) -> int | None:
    """Index of the `<module>toMQTT` level."""
    for i, level in enumerate(levels):
        if level.endswith("toMQTT") and len(level) > 6:
            return i
    return None


class Omg:
    name = "omg"
    transports = ("mqtt",)
    priority = 70
    json_only = True  # its sniff is False unless the payload starts with { or [
    topic_sniff = True  # its sniff reads the topic and the payload's first byte only

    def sniff(self, ctx: Context) -> bool:
        return (
            "toMQTT" in ctx.topic
            and _module(ctx.topic.split("/")) is not None
            and (looks_like_object(ctx))
        )

    def parse(self, ctx: Context, emit: Emit) -> None:
        levels = ctx.topic.split("/")
        index = _module(levels)
        document: Any = ctx.json()
        if index is None or not isinstance(document, dict):
            raise PayloadError("not_omg", "expected a JSON object on a <module>toMQTT topic")
        module = levels[index]
        if module == "BTtoMQTT":
            after = levels[index + 1] if index + 1 < len(levels) else ""
            ident = document.get("id")
            device = ctx.device or after or (ident if isinstance(ident, str) else "")
            prefix = ""
        else:
            device = ctx.device or (levels[index - 1] if index > 0 else "")
            prefix = module + "."
        if not device:
            raise PayloadError("no_device", f"no device name in {ctx.topic!r} or its payload")
        emit_tree(emit, device, document, prefix=prefix, unit_of=unit_of, skip=SKIP)


FAMILY = Omg()
