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
  payload formatter's own field names: `temperature`, `gps.lat`, `bytes.0`),
  with no unit, since a decoded payload states none; and the first gateway's
  radio figures as `radio.rssi` (dBm) and `radio.snr` (dB), from
  `rx_metadata[0]`, as the LoRaWAN stack documents them.
- Device time: `received_at` (the network server's receive time, ISO 8601 UTC):
  the device itself has no clock that an uplink carries.
- Other topics (`/join`, `/down/...`, `/service/data`) and uplinks without
  `uplink_message` hold no measurements and are skipped without an error; an
  uplink without a `decoded_payload` (no payload formatter) still gives its
  radio readings.
"""

from __future__ import annotations

from typing import Any

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._jsonwalk import emit_tree, looks_like_object

RADIO_UNITS = {"rssi": "dBm", "snr": "dB"}


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
        if isinstance(decoded, dict):
            emit_tree(emit, device, decoded, ts=ts)
        metadata = uplink.get("rx_metadata")
        if isinstance(metadata, list) and metadata and isinstance(metadata[0], dict):
            for key, unit in RADIO_UNITS.items():
                if key in metadata[0]:
                    emit.reading(device, f"radio.{key}", metadata[0][key], unit, ts)


FAMILY = Ttn()
