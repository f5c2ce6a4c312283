"""Normalization: raw message bytes in, readings (or counted reasons) out.

Pure code: no I/O, no asyncio, no threads.  One module per payload family;
`Normalizer` picks the family from the route's `format` (or recognises it for
`auto`), names the device and sensor from the topic template, the route or the
payload, and enforces the size limits before anything is parsed.

Families so far: `number` (a plain number, optionally with a unit attached).
Availability topics (Tasmota `LWT`, Zigbee2MQTT `availability`, Homie `$state`,
ESPHome `status`, Shelly `online`) are recognised whatever the format.
"""

from __future__ import annotations

from telemetry.errors import PayloadError
from telemetry.model import Availability, Outcome, RawMessage, Reading, Route
from telemetry.normalize import availability
from telemetry.normalize.number import parse_number
from telemetry.topics import TopicTemplate

MQTT_FORMATS = ("auto", "number")
SERIAL_FORMATS = ("auto", "number")

DEFAULT_SENSOR = "value"


class Normalizer:
    """Turns `RawMessage`s into `Reading`s; keeps what a run has learned so far."""

    def __init__(self, max_payload: int = 65536, max_id_length: int = 200) -> None:
        self.max_payload = max_payload
        self.max_id_length = max_id_length
        self._templates: dict[str, TopicTemplate] = {}

    def _names(self, route: Route, topic: str) -> tuple[str, str]:
        if route.template:
            template = self._templates.get(route.template)
            if template is None:
                template = self._templates[route.template] = TopicTemplate(route.template)
            parts = template.match(topic)
            if parts is None:
                raise PayloadError(
                    "topic_mismatch", f"topic {topic!r} does not fit template {route.template!r}"
                )
            device = parts.get("device") or route.device
            sensor = parts.get("sensor") or DEFAULT_SENSOR
        elif route.transport == "mqtt":
            first, _, rest = topic.partition("/")
            device = route.device or first
            sensor = rest or DEFAULT_SENSOR
        else:  # a serial line: the port's configured name is the device
            device, sensor = route.device or route.source, DEFAULT_SENSOR
        if not device:
            raise PayloadError("no_device", f"no device name in topic {topic!r}")
        device = device.replace("/", "_")
        try:
            (device + sensor).encode("utf-8")
        except UnicodeEncodeError:
            raise PayloadError("bad_name", f"topic {topic!r} holds a lone surrogate") from None
        if len(device) + 1 + len(sensor) > self.max_id_length:
            raise PayloadError(
                "id_too_long", f"series id from {topic!r} is over {self.max_id_length} characters"
            )
        return device, sensor

    def normalize(self, msg: RawMessage) -> Outcome:
        outcome = Outcome()
        try:
            if len(msg.payload) > self.max_payload:
                raise PayloadError(
                    "payload_too_large",
                    f"{len(msg.payload)} bytes on {msg.topic!r}; the limit is {self.max_payload}",
                )
            device, sensor = self._names(msg.route, msg.topic)
            if msg.route.transport == "mqtt":
                level = msg.topic.rpartition("/")[2]
                if level in availability.LEVELS:
                    state = availability.parse_availability(level, msg.payload)
                    if state is not None:
                        if isinstance(state, bool):
                            outcome.availability.append(Availability(device, state, msg.recv_ts))
                        return outcome
            value, unit = parse_number(msg.payload)
            outcome.readings.append(
                Reading(device, sensor, value, unit, msg.recv_ts, msg.recv_ts, device_ts=False)
            )
        except PayloadError as exc:
            outcome.errors.append(exc)
        return outcome
