"""The `homeassistant` family: Home Assistant MQTT discovery, and what it teaches.

A device announces each entity with a retained JSON config at
`homeassistant/<component>/[<node_id>/]<object_id>/config`; for a `sensor`
it names the state topic, the unit and the device.  ESPHome, Tasmota,
Zigbee2MQTT, OpenMQTTGateway and many other firmwares publish these.

Configs are read whatever `format` the subscription names (`learns`/`learn`,
asked by the normalizer before any family): each teaches (see
`telemetry.normalize.metadata`) the unit of its state topic's value at the
value template's field (`DS18B20-2.Temperature`), so the family that reads
that topic (Tasmota, ESPHome, Zigbee2MQTT, `number`, `json`...) gives its
readings that unit, named as that family names them; a unit learned after a
series' first readings reaches the catalog at once.  This family also
remembers, in `ctx.state.space("ha_discovery")`, `state topic -> [(config
topic, device, sensor, unit, value path, on/off words)]`, and reads the
learned state topics that no firmware family claims (priority 850: after
them, before `json` and `number`), naming their readings from the config.

Config messages:
- Full and abbreviated keys (`stat_t`, `unit_of_meas`, `val_tpl`, `dev`, `ids`,
  `obj_id`, `uniq_id`, `pl_on`, `pl_off`, ...), and the `~` base topic: a
  topic value that starts (or ends) with `~` has it replaced by the `~`
  value, as Home Assistant does.
- `sensor` configs teach a unit; `binary_sensor` and `switch` configs teach an
  on/off entity (`payload_on`/`payload_off`, default `ON`/`OFF`; for a switch
  `state_on`/`state_off` first), read as readings of kind `state`.  Other
  components (light, cover, button, ...) are read and ignored.  An empty
  retained config removes what its topic taught.  A config yields no
  readings and, when it is complete, no error; a config without a state
  topic is counted (`discovery_incomplete`), one that is not a JSON object too.
- Device (for the topics this family reads): the route's (template or fixed)
  device when it has one, else `dev.name`, else the first of `dev.ids`, else
  the node id, else the state topic's first level.  Sensor: the value
  template's field path, dotted, or, for a plain value, the config topic's
  object id.  Unit: `unit_of_measurement` (an empty one, or `-` as
  Zigbee2MQTT 1.x gave `linkquality`, is null).

State messages: a plain number, or JSON picked by a value template of exactly
the common form `{{ value_json.a.b }}` / `{{ value_json['a']['b'] }}` (mixed
dot and bracket steps, optional `| float` or `| is_defined`), or `{{ value }}`.
Richer Jinja (`round`, arithmetic, `if ... else`, `int(0)`) is not evaluated:
such an entity yields the counted reason `unsupported_template` (and teaches
no unit).  Only the default discovery prefix `homeassistant/` is recognised.
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.metadata import forget, teach

_PREFIX = "homeassistant/"
_MAX_ENTITIES_PER_TOPIC = 64
_UNSUPPORTED = ("\x00unsupported",)  # a value path no field can have

_STEP = r"(?:\.[A-Za-z_][A-Za-z0-9_]*|\[\s*'[^'\]]*'\s*\]|\[\s*\"[^\"\]]*\"\s*\])"
_TEMPLATE = re.compile(
    r"\{\{\s*(?P<root>value_json|value)(?P<steps>" + _STEP + r"*)"
    r"\s*(?:\|\s*(?:float|is_defined)\s*)*\}\}"
)
_STEPS = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*'([^'\]]*)'\s*\]|\[\s*\"([^\"\]]*)\"\s*\]")


_COMPONENTS = frozenset({"sensor", "binary_sensor", "switch"})
# What configs put where there is no unit (Zigbee2MQTT 1.x gave linkquality "-").
_NO_UNIT = frozenset({"", "-", "none", "None"})


class Entity(NamedTuple):
    config_topic: str
    device: str
    sensor: str
    unit: str | None
    path: tuple[str, ...] | None  # None: the payload is the value
    words: dict[str, float] | None = None  # an on/off entity's payloads


def value_path(template: str) -> tuple[str, ...] | None:
    """The JSON field path of a simple value template; None for `{{ value }}`.

    `_UNSUPPORTED` for anything this family does not evaluate.
    """
    match = _TEMPLATE.fullmatch(template.strip())
    if match is None:
        return _UNSUPPORTED
    steps = tuple(a or b or c for a, b, c in _STEPS.findall(match.group("steps")))
    if match.group("root") == "value":
        return None if not steps else _UNSUPPORTED
    return steps if steps else _UNSUPPORTED  # bare value_json is an object, not a number


def _get(config: dict[str, Any], *keys: str) -> Any:
    for key in keys:
        if key in config:
            return config[key]
    return None


def _device(config: dict[str, Any], node_id: str | None, state_topic: str) -> str:
    dev = _get(config, "device", "dev")
    if isinstance(dev, dict):
        name = dev.get("name")
        if isinstance(name, str) and name.strip():
            return name.strip()
        ids = _get(dev, "identifiers", "ids")
        if isinstance(ids, list) and ids and isinstance(ids[0], str) and ids[0]:
            return ids[0]
        if isinstance(ids, str) and ids:
            return ids
    return node_id or state_topic.partition("/")[0]


def _expand(topic: Any, base: Any) -> str | None:
    if not isinstance(topic, str) or not topic:
        return None
    if isinstance(base, str):
        if topic.startswith("~"):
            return base + topic[1:]
        if topic.endswith("~"):
            return topic[:-1] + base
    return topic


def _path_key(path: tuple[str, ...] | None) -> str:
    return "" if path is None else ".".join(path)


def _forget(ctx: Context, config_topic: str) -> None:
    configs = ctx.state.space("ha_discovery_configs")
    learned = ctx.state.space("ha_discovery")
    state_topic = configs.pop(config_topic, None)
    if isinstance(state_topic, str) and state_topic in learned:
        gone = [e for e in learned[state_topic] if e.config_topic == config_topic]
        kept = tuple(e for e in learned[state_topic] if e.config_topic != config_topic)
        for entity in gone:
            if entity.path != _UNSUPPORTED:
                forget(ctx, state_topic, _path_key(entity.path))
        if kept:
            learned[state_topic] = kept
        else:
            del learned[state_topic]


def _words(config: dict[str, Any], component: str) -> dict[str, float]:
    on = off = None
    if component == "switch":
        on, off = _get(config, "state_on", "stat_on"), _get(config, "state_off", "stat_off")
    on = on if isinstance(on, str) else _get(config, "payload_on", "pl_on")
    off = off if isinstance(off, str) else _get(config, "payload_off", "pl_off")
    return {
        on if isinstance(on, str) else "ON": 1.0,
        off if isinstance(off, str) else "OFF": 0.0,
    }


def learn_config(ctx: Context, emit: Emit) -> None:
    """Read one discovery config (any route, any format)."""
    levels = ctx.topic.split("/")
    if len(levels) not in (4, 5):
        return  # a config topic of another shape
    component = levels[1]
    node_id = levels[2] if len(levels) == 5 else None
    object_id = levels[-2]
    _forget(ctx, ctx.topic)  # a new config replaces what this topic taught before
    if not ctx.payload.strip() or component not in _COMPONENTS:
        return  # a removal, or an entity that is not a sensor
    config = ctx.json()
    if not isinstance(config, dict):
        raise PayloadError("not_an_object", "a discovery config must be a JSON object")
    state_topic = _expand(_get(config, "state_topic", "stat_t"), config.get("~"))
    if state_topic is None:
        emit.error(
            "discovery_incomplete", f"{ctx.topic}: a {component} config without a state topic"
        )
        return
    template = _get(config, "value_template", "val_tpl")
    path = value_path(template) if isinstance(template, str) else None
    unit = _get(config, "unit_of_measurement", "unit_of_meas")
    if isinstance(unit, str) and unit.strip() in _NO_UNIT:
        unit = None
    sensor = ".".join(path) if path and path != _UNSUPPORTED else object_id
    entity = Entity(
        ctx.topic,
        _device(config, node_id, state_topic),
        sensor,
        unit if isinstance(unit, str) and unit.strip() and component == "sensor" else None,
        path,
        None if component == "sensor" else _words(config, component),
    )
    if component == "sensor" and path != _UNSUPPORTED:
        teach(ctx, emit, state_topic, _path_key(path), entity.unit)
    learned = ctx.state.space("ha_discovery")
    learned[state_topic] = (*learned.get(state_topic, ()), entity)[-_MAX_ENTITIES_PER_TOPIC:]
    ctx.state.space("ha_discovery_configs")[ctx.topic] = state_topic


def _field(document: Any, path: tuple[str, ...]) -> tuple[bool, Any]:
    for step in path:
        if not isinstance(document, dict) or step not in document:
            return False, None
        document = document[step]
    return True, document


class HomeAssistant:
    """Discovery configs, and the state topics they describe."""

    name = "homeassistant"
    transports = ("mqtt",)
    priority = 850  # after every firmware family, before `json` and `number`

    def sniff(self, ctx: Context) -> bool:
        return ctx.topic in ctx.state.space("ha_discovery")

    def learns(self, topic: str) -> bool:
        return topic.startswith(_PREFIX) and topic.endswith("/config")

    def learn(self, ctx: Context, emit: Emit) -> None:
        learn_config(ctx, emit)

    def parse(self, ctx: Context, emit: Emit) -> None:
        entities = ctx.state.space("ha_discovery").get(ctx.topic)
        if not entities:
            return  # forgotten since sniffed, or a route that names this format
        for entity in entities:
            device = ctx.device or entity.device
            if entity.words is not None:
                self._state(ctx, emit, device, entity)
            elif entity.path is None:
                emit.reading(device, entity.sensor, ctx.text().strip(), entity.unit)
            elif entity.path == _UNSUPPORTED:
                emit.error(
                    "unsupported_template",
                    f"{entity.config_topic}: the value template is not evaluated",
                )
            else:
                found, value = _field(ctx.json(), entity.path)
                if not found:
                    emit.error("missing_field", f"{'.'.join(entity.path)} is not in the payload")
                else:
                    emit.reading(device, entity.sensor, value, entity.unit)

    @staticmethod
    def _state(ctx: Context, emit: Emit, device: str, entity: Entity) -> None:
        """An on/off entity's state; a payload that is neither word is no reading."""
        if entity.path is None:
            found, value = True, ctx.text().strip()
        elif entity.path == _UNSUPPORTED:
            return
        else:
            found, value = _field(ctx.json(), entity.path)
        if found:
            emit.state(device, entity.sensor, value, words=entity.words)


FAMILY = HomeAssistant()
