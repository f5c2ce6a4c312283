"""The `ttn` family: The Things Stack (v3) uplink messages over its MQTT server.

Topic `v3/<application>@<tenant>/devices/<device_id>/up`; payload the uplink
message: `{"end_device_ids": {"device_id": "eui-...", ...}, "received_at":
"2024-01-02T10:00:00.123456789Z", "uplink_message": {"f_port": 1,
"decoded_payload": {"temperature": 21.5}, "rx_metadata": [{"rssi": -42,
"snr": 10.5, ...}], ...}}`.

Conventions (decided here):
- Device: the template's `{device}`; else `end_device_ids.device_id`; else the
  topic level after `devices`.
- Readings: `uplink_message.decoded_payload` flattened to dotted paths (the
  payload formatter's own field names: `temperature`, `gps.lat`, `bytes.0`);
  a boolean there is a reading of kind `state`.  Without a decoded payload,
  `uplink_message.normalized_payload` (the Device Repository's normalized
  measurements, `air.temperature`...) is read instead.
- Units: a decoded payload states none, so they come from the decoders that
  name the fields (`DECODED_UNITS`, each from its codec in
  TheThingsNetwork/lorawan-devices; Cayenne LPP's types, TTN's built-in
  CayenneLPP formatter, with their `_<channel>` suffix), and for the
  normalized payload from its schema (`lib/payload.json`: temperature °C,
  relativeHumidity %, pressure hPa, co2 ppm, lightIntensity lx, wind speed
  m/s and direction °, soil moisture %).  Any other field has no unit.
- Not series: `Systimestamp` (a decoder's copy of the device clock), and the
  gateways' radio figures (`rx_metadata`'s `rssi`, `snr`): radio metadata,
  read only when the subscription asks for it (`radio = true`), as
  `radio.rssi` (dBm) and `radio.snr` (dB) of the first gateway.
- Device time: `received_at` (the network server's receive time, ISO 8601 UTC):
  the device itself has no clock that an uplink carries.
- Other topics (`/join`, `/down/...`, `/service/data`) and uplinks without
  `uplink_message` hold no measurements and are skipped without an error; an
  uplink without any decoded payload (no payload formatter) gives nothing but
  its radio readings, when those are asked for.
"""

from __future__ import annotations

import re
from typing import Any

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._jsonwalk import default_state, emit_tree, looks_like_object

RADIO_UNITS = {"rssi": "dBm", "snr": "dB"}
NOT_READINGS = frozenset({"Systimestamp"})

# Fields of common decoders, as their codecs in TheThingsNetwork/lorawan-devices
# name them (vendor/dragino/lht65.js, lht52.js, lsn50-v2.js,
# lsn50v2-d20-d22-d23.js, lse01.js; vendor/milesight-iot/em300-th.js;
# vendor/elsys/elsys.js).
DECODED_UNITS = {
    "BatV": "V",
    "TempC_SHT": "°C",
    "Hum_SHT": "%",
    "TempC_DS": "°C",
    "TempC1": "°C",
    "TempC2": "°C",
    "TempC3": "°C",
    "Temp_Red": "°C",
    "Temp_White": "°C",
    "Temp_Black": "°C",
    "ADC_CH0V": "V",
    "ADC_CH1V": "V",
    "ADC_CH4V": "V",
    "ADC_V": "V",
    "ILL_lx": "lx",
    "temp_SOIL": "°C",
    "water_SOIL": "%",
    "conduct_SOIL": "µS/cm",
    "temperature": "°C",
    "humidity": "%",
    "co2": "ppm",
    "vdd": "mV",
}
# Not in it: names whose unit differs from one decoder to the next (`light`, raw
# counts on The Things Node, lux on an Elsys; `battery`, % or mV or V; `pressure`).
# Cayenne LPP types as TTN's CayenneLPP formatter names them (`<type>_<channel>`).
LPP_UNITS = {
    "temperature": "°C",
    "relative_humidity": "%",
    "barometric_pressure": "hPa",
    "luminosity": "lx",
}
LPP_GPS = {"latitude": "°", "longitude": "°", "altitude": "m"}
# lib/payload.json of the Device Repository: the normalized payload's units.
NORMALIZED_UNITS: dict[tuple[str, ...], str] = {
    ("air", "temperature"): "°C",
    ("air", "relativeHumidity"): "%",
    ("air", "pressure"): "hPa",
    ("air", "co2"): "ppm",
    ("air", "lightIntensity"): "lx",
    ("wind", "speed"): "m/s",
    ("wind", "direction"): "°",
    ("soil", "temperature"): "°C",
    ("soil", "moisture"): "%",
    ("soil", "depth"): "cm",
    ("soil", "ec"): "dS/m",
    ("soil", "n"): "ppm",
    ("soil", "p"): "ppm",
    ("soil", "k"): "ppm",
    ("water", "temperature"): "°C",
}
_CHANNEL = re.compile(r"_\d+$")


def decoded_unit(parts: tuple[str, ...]) -> str | None:
    """The unit of a decoded payload's field, from the table of its decoder."""
    if len(parts) == 1:
        name = parts[0]
        unit = DECODED_UNITS.get(name)
        if unit is None and _CHANNEL.search(name):
            unit = LPP_UNITS.get(_CHANNEL.sub("", name))
        return unit
    if len(parts) == 2 and parts[0].startswith("gps_"):
        return LPP_GPS.get(parts[1])
    return None


def normalized_unit(parts: tuple[str, ...]) -> str | None:
    named = tuple(p for p in parts if not p.isdigit())
    return NORMALIZED_UNITS.get(named[-2:]) if len(named) >= 2 else None


def _device(ctx: Context, document: dict[str, Any]) -> str | None:
    if ctx.device:
        return ctx.device
    ids = document.get("end_device_ids")
    if isinstance(ids, dict) and isinstance(ids.get("device_id"), str) and ids["device_id"]:
        return str(ids["device_id"])
    levels = ctx.topic.split("/")
    if "devices" in levels[:-1]:
        return levels[levels.index("devices") + 1] or None
    return None


class Ttn:
    name = "ttn"
    transports = ("mqtt",)
    priority = 40
    json_only = True  # its sniff is False unless the payload starts with { or [
    topic_sniff = True  # its sniff reads the topic and the payload's first byte only

    def sniff(self, ctx: Context) -> bool:
        return ctx.topic.startswith("v3/") and ctx.topic.endswith("/up") and looks_like_object(ctx)

    def parse(self, ctx: Context, emit: Emit) -> None:
        document = ctx.json()
        if not isinstance(document, dict):
            raise PayloadError("not_an_object", "a Things Stack message is a JSON object")
        uplink = document.get("uplink_message")
        if not isinstance(uplink, dict):
            return  # joins, downlink events, service data: no measurements
        device = _device(ctx, document)
        if not device:
            raise PayloadError("no_device", f"no device id in {ctx.topic!r} or its payload")
        stamp = document.get("received_at")
        ts = emit.device_time(stamp) if isinstance(stamp, str) else None
        decoded = uplink.get("decoded_payload")
        normalized = uplink.get("normalized_payload")
        if isinstance(decoded, dict):
            emit_tree(
                emit,
                device,
                decoded,
                unit_of=decoded_unit,
                ts=ts,
                skip=NOT_READINGS,
                states=_booleans,
            )
        elif isinstance(normalized, list) and normalized:
            # one uplink, one set of measurements: the first, without its list index
            first = normalized[0] if len(normalized) == 1 else normalized
            emit_tree(emit, device, first, unit_of=normalized_unit, ts=ts, skip=_TIME)
        metadata = uplink.get("rx_metadata")
        if (
            ctx.msg.route.radio
            and isinstance(metadata, list)
            and metadata
            and isinstance(metadata[0], dict)
        ):
            for key, unit in RADIO_UNITS.items():
                if key in metadata[0]:
                    emit.reading(device, f"radio.{key}", metadata[0][key], unit, ts)


_TIME = frozenset({"time"})


def _booleans(parts: tuple[str, ...], value: Any) -> float | None:
    return default_state(parts, value) if isinstance(value, bool) else None


FAMILY = Ttn()
