"""The `esphome` family: ESPHome's MQTT state topics, one value each.

ESPHome publishes `<topic_prefix>/<component>/<object_id>/state`, where the
prefix is the node name unless `mqtt: topic_prefix:` says otherwise
(`livingroom/sensor/living_room_temperature/state` -> `23.45`).  The device
is the prefix (the template's `{device}` when the route has one; a prefix of
several levels is joined with `_`), the sensor is the object id.

- `sensor` states are numbers formatted with the sensor's `accuracy_decimals`;
  a failed read is published as `nan`, which is counted as `not_finite`.
- `text_sensor` states are read only when they are numbers, else skipped.
- `binary_sensor` and `switch` states (`ON`/`OFF`) are readings of kind
  `state` (1/0).

The unit is not on the state topic.  ESPHome sends it in its Home Assistant
discovery configs (`homeassistant/sensor/<node>/<id>/config`, with
`unit_of_meas`, retained): subscribe to `homeassistant/#` beside
`+/sensor/+/state` and the unit is learned (whatever the format; see
`telemetry.normalize.metadata`) for this family's readings of the state
topic, also for values that arrived before it.  Topics under
`homeassistant/` are never ESPHome state topics (that is the discovery prefix).
"""

from __future__ import annotations

from telemetry.normalize.base import Context, Emit, as_number

_COMPONENTS = frozenset({"sensor", "text_sensor", "binary_sensor", "switch"})
_STATES = frozenset({"binary_sensor", "switch"})


def _split(topic: str) -> tuple[str, str, str] | None:
    """(prefix, component, object id) of an ESPHome state topic, or None."""
    head, _, last = topic.rpartition("/")
    if last != "state":
        return None
    head, _, object_id = head.rpartition("/")
    prefix, _, component = head.rpartition("/")
    if component not in _COMPONENTS or not prefix or not object_id:
        return None
    if prefix == "homeassistant" or prefix.startswith("homeassistant/"):
        return None
    return prefix, component, object_id


class ESPHome:
    """`<node>/sensor/<object_id>/state` topics with one number each."""

    name = "esphome"
    transports = ("mqtt",)
    priority = 80
    topic_sniff = True  # its sniff reads the topic and the payload's first byte only

    def sniff(self, ctx: Context) -> bool:
        return ctx.topic.endswith("/state") and _split(ctx.topic) is not None

    def parse(self, ctx: Context, emit: Emit) -> None:
        parts = _split(ctx.topic)
        if parts is None:
            return
        prefix, component, object_id = parts
        text = ctx.text().strip()
        if component in _STATES:
            emit.state(ctx.device or prefix, object_id, text)
            return
        if component == "text_sensor" and as_number(text) is None:
            return  # text, as the component says
        emit.reading(ctx.device or prefix, object_id, text)


FAMILY = ESPHome()
