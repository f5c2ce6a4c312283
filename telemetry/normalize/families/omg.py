"""The `omg` family: OpenMQTTGateway's messages (`<base>/<gateway>/<module>toMQTT`).

Topics, with the default base `home` (OpenMQTTGateway `docs/use/*.md`):
- `home/<gw>/BTtoMQTT/<MAC>`: a BLE device decoded by Theengs Decoder,
  `{"id": "A4:C1:38:12:34:56", "model_id": "LYWSD03MMC_ATC", "tempc": 21.2,
  "hum": 45.1, "batt": 80, "volt": 2.98, "rssi": -70}`;
- `home/<gw>/BTtoMQTT` (older firmware, `pubBLEServiceUUID` off): the same
  object, the device named only by its `id`;
- `home/<gw>/433toMQTT`, `RFtoMQTT`, `IRtoMQTT`... (RCSwitch, IR): a received
  code, `{"value": 1315156, "protocol": 1, "length": 24, "delay": 317}`;
- `home/<gw>/CLIMAtoMQTT/<sensor>[/<address>]`: the gateway's own sensors
  (`docs/use/sensors.md`: HTU21, AHTx0, DS18x20 with an in-band `unit`);
- `home/<gw>/SYStoMQTT`: the gateway's own status (`uptime`, `freemem`, `rssi`).

Device (decided): for BLE the sensor's MAC, from the topic level after
`BTtoMQTT`, else the payload's `id` (the MAC, or a UUID on iOS-style random
addresses); the template's `{device}` wins when the route has one.  For the
other modules the gateway (the level before `<module>toMQTT`, or the
template's `{device}`), with sensors under the module and the topic's levels
after it (`SYStoMQTT.uptime`, `CLIMAtoMQTT/ds1820/0x28616411907650bc.temp`), so
two probes of one gateway stay two series.

Not series: identifiers and settings (`id`, `mac`, `uuid`, `major`, `minor`
(an iBeacon's identity), `mfid`, `txpower` (a beacon's calibration constant),
`mac_type`, `adv_type`, `cidc`, `acts`, `cont`, `track`, `protocol`,
`length`, `delay`, `mqttport`, `interval`, `servicedata` (the
advertisement's raw hex, a number only by accident: `"595753443032"`)...);
a received RF or IR code (`value`, `bits`, `hex`, `raw` of `433toMQTT`,
`RFtoMQTT`, `IRtoMQTT`...: a 433 MHz code is an identity, not a quantity);
the LoRa module's radio figures (`rssi`, `snr`, `pferror`), unless the
subscription keeps radio metadata (`radio = true`).

Units from Theengs Decoder's property units (`src/devices/*_json.h`,
`"properties": {"tempc": {"unit": "°C"}, ...}`): `tempc*` °C, `tempf*` °F,
`hum` %, `batt` %, `volt` V, `lux` lx, `pres` hPa, `co2` ppm, `pm25`/`pm10`
µg/m³, `for` mg/m³, `moi` %, `fer` µS/cm, `impedance` Ω, `lvl_cm` cm,
`energy` kWh, `rssi` dBm; SYStoMQTT `uptime` s.  In-band unit fields win for
the field they describe: `{"temp": 27.8, "unit": "C"}` (DS18x20),
`{"weight": 61.75, "unit": "kg"}` (Mi Scale).  Others carry no unit.
Theengs `status` properties that are booleans (`motion`, `open`, `moving`,
`lowbatt`, `alarm`...) are readings of kind `state` (1/0).
"""

from __future__ import annotations

from typing import Any

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._jsonwalk import (
    UnitOf,
    default_state,
    emit_tree,
    field_name,
    looks_like_object,
)

SKIP = frozenset(
    {
        "id",
        "mac",
        "uuid",
        "major",
        "minor",
        "mfid",
        "txpower",
        "tx",
        "mac_type",
        "adv_type",
        "cidc",
        "acts",
        "cont",
        "track",
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
        "unit",
    }
)
# Modules whose messages carry a received code: the code is no series.
CODE_MODULES = frozenset(
    {"433toMQTT", "RFtoMQTT", "RF2toMQTT", "SRFBtoMQTT", "IRtoMQTT", "PilighttoMQTT"}
)
CODE_FIELDS = frozenset(
    {
        "value",
        "bits",
        "hex",
        "raw",
        "address",
        "command",
        "frequency",
        "val_Thigh",  # Sonoff RF Bridge pulse timings (docs/use/rf.md)
        "val_Tlow",
        "unit",  # KAKU (RF2toMQTT): unit, group, period, address, switch type
        "groupBit",
        "period",
        "switchType",
    }
)
RADIO = frozenset({"rssi", "snr", "pferror"})
RADIO_MODULES = frozenset({"LORAtoMQTT"})
NAMED = {
    "hum": "%",
    "batt": "%",
    "volt": "V",
    "lux": "lx",
    "pres": "hPa",
    "co2": "ppm",
    "pm25": "µg/m³",
    "pm10": "µg/m³",
    "for": "mg/m³",
    "moi": "%",
    "fer": "µS/cm",
    "impedance": "Ω",
    "lvl_cm": "cm",
    "energy": "kWh",
    "rssi": "dBm",
    "uptime": "s",
}
IN_BAND = frozenset({"temp", "weight"})  # fields an in-band `unit` describes


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
            prefix = "/".join(levels[index:]) + "."
        if not device:
            raise PayloadError("no_device", f"no device name in {ctx.topic!r} or its payload")
        skip = SKIP
        if module in CODE_MODULES:
            skip = skip | CODE_FIELDS | RADIO
        elif module in RADIO_MODULES and not ctx.msg.route.radio:
            skip = skip | RADIO
        stated = document.get("unit")
        units = _in_band(stated) if isinstance(stated, str) and stated.strip() else unit_of
        emit_tree(emit, device, document, prefix=prefix, unit_of=units, skip=skip, states=_states)


def _in_band(stated: str) -> UnitOf:
    def units(parts: tuple[str, ...]) -> str | None:
        return stated if field_name(parts) in IN_BAND else unit_of(parts)

    return units


def _states(parts: tuple[str, ...], value: Any) -> float | None:
    """Theengs' boolean `status` properties; text (`"open": "yes"`) is not read."""
    return default_state(parts, value) if isinstance(value, bool) else None


FAMILY = Omg()
