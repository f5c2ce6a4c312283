"""The `esphome` family: ESPHome's MQTT state topics, one value each.

ESPHome publishes `<topic_prefix>/<component>/<object_id>/state`, where the
prefix is the node name unless `mqtt: topic_prefix:` says otherwise
(`livingroom/sensor/living_room_temperature/state` -> `23.45`).  The device
is the prefix (the template's `{device}` when the route has one; a prefix of
several levels is joined with `_`), the sensor is the object id.

- `sensor` states are numbers formatted with the sensor's `accuracy_decimals`;
  a failed read is published as `nan`, which is counted as `not_finite`.
- `text_sensor` states are read only when they are numbers, else skipped.
- `binary_sensor` states (`ON`/`OFF`) are not measurements: skipped.

The unit is not on the state topic, so it is null here.  ESPHome also sends
Home Assistant discovery configs (`homeassistant/sensor/<node>/<id>/config`,
with `unit_of_meas`); when a route with `format = "auto"` receives those too
(subscribe to `homeassistant/#` beside `+/sensor/+/state`), the
`homeassistant` family learns the unit and claims the state topic before this
family is asked, so those readings do carry a unit.
"""

from __future__ import annotations

from telemetry.normalize.base import Context, Emit, as_number

_COMPONENTS = frozenset({"sensor", "text_sensor", "binary_sensor"})


def _split(topic: str) -> tuple[str, str, str] | None:
    """(prefix, component, object id) of an ESPHome state topic, or None."""
    head, _, last = topic.rpartition("/")
    if last != "state":
        return None
    head, _, object_id = head.rpartition("/")
    prefix, _, component = head.rpartition("/")
    if component not in _COMPONENTS or not prefix or not object_id:
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
        if component == "binary_sensor":
            return  # ON/OFF: a state, not a measurement
        text = ctx.text().strip()
        if component == "text_sensor" and as_number(text) is None:
            return  # text, as the component says
        emit.reading(ctx.device or prefix, object_id, text)


FAMILY = ESPHome()
