"""The `homie` family: the Homie convention, v4 (and v3) and v5.

Property values are plain text on their own topics; what they mean comes from
retained attribute messages the device publishes first, which this family
remembers in `ctx.state.space("homie")` (bounded like every state space):

- v4/v3: `homie/<device>/<node>/<property>` carries the value;
  `.../<property>/$unit`, `$datatype`, `$format`, `$name` describe it.
- v5: `homie/5/<device>/<node>/<property>` carries the value; one JSON
  document at `homie/5/<device>/$description` describes every node and
  property (`nodes` is an object keyed by node id in v5.0; drafts used a list
  of objects with `id`; both are read).

Attribute messages are read whatever `format` the subscription names
(`learns`/`learn`, asked by the normalizer before any family), and a `$unit`
is also taught for the property's value topic (`telemetry.normalize.metadata`),
so a route that reads the values with another family gets the unit too.

Device: the topic's device id (or the template's `{device}`); sensor:
`<node>/<property>`.  `integer` and `float` properties are readings;
`boolean` properties (`true`/`false`) are readings of kind `state` (1/0);
`string`, `enum`, `color`, `datetime`, `duration` and `json` are skipped
silently.  A property whose datatype has not been seen (yet) is read
when its value is a number and skipped otherwise: Homie's default datatype is
`string`, so text there is no error.  A declared number that is not one
(`""`, `nan`, `-`) is counted.  The unit is the declared `$unit` (Homie's `#`,
"count", is kept as stated).  `$name` and `$format` are remembered but
change nothing: a reading has no display name and ids stay stable.

Attribute messages (any level starting with `$`, including v3's `$stats/...`)
and `/set` commands yield nothing and no error; `$state` is availability,
handled before any family.  A v5 description that is not JSON is counted.
"""

from __future__ import annotations

from typing import Any

from telemetry.normalize.base import Context, Emit, as_number
from telemetry.normalize.metadata import teach

_NUMERIC = frozenset({"integer", "float"})
_REMEMBERED = frozenset({"$unit", "$datatype", "$format", "$name"})
_MAX_PROPERTIES = 1000  # per description document; the payload size bounds it anyway


def _remember(space: Any, key: str, field: str, value: str) -> None:
    known = dict(space.get(key) or {})
    known[field] = value[:64]
    space[key] = known


def _describe(ctx: Context, emit: Emit, key_prefix: str, topic_prefix: str) -> None:
    """Learn every property of a v5 `$description` document."""
    if not ctx.payload.strip():
        return  # a device being removed
    document = ctx.json()
    nodes = document.get("nodes") if isinstance(document, dict) else None
    if isinstance(nodes, list):  # the draft's list of {"id": ...}
        nodes = {n.get("id"): n for n in nodes if isinstance(n, dict)}
    if not isinstance(nodes, dict):
        return
    space = ctx.state.space("homie")
    count = 0
    for node_id, node in nodes.items():
        properties = node.get("properties") if isinstance(node, dict) else None
        if isinstance(properties, list):
            properties = {p.get("id"): p for p in properties if isinstance(p, dict)}
        if not isinstance(node_id, str) or not isinstance(properties, dict):
            continue
        for prop_id, prop in properties.items():
            count += 1
            if count > _MAX_PROPERTIES:
                emit.error("too_many_properties", f"over {_MAX_PROPERTIES} in one description")
                return
            if not isinstance(prop_id, str) or not isinstance(prop, dict):
                continue
            learned = {
                f"${field}": str(prop[field])[:64]
                for field in ("unit", "datatype", "format", "name")
                if isinstance(prop.get(field), str)
            }
            space[f"{key_prefix}/{node_id}/{prop_id}"] = learned
            if "$unit" in learned:
                teach(ctx, emit, f"{topic_prefix}/{node_id}/{prop_id}", "", learned["$unit"])


def _split(topic: str) -> tuple[bool, list[str], str, list[str]]:
    """(v5?, the levels, the device id, the levels after the device) of a Homie topic."""
    levels = topic.split("/")
    # `homie/5/<device>/...` is v5; a 4-level value topic under `homie/5/`
    # is a v4 device whose id is "5" (v5 values have 5 levels).
    v5 = len(levels) >= 4 and levels[1] == "5" and (len(levels) != 4 or levels[3].startswith("$"))
    device_id = levels[2] if v5 else levels[1]
    return v5, levels, device_id, levels[3:] if v5 else levels[2:]


def learn_attribute(ctx: Context, emit: Emit) -> None:
    """Remember a property attribute, or a v5 description (any route, any format)."""
    v5, levels, device_id, rest = _split(ctx.topic)
    key_prefix = f"{'5' if v5 else '4'}:{device_id}"
    if v5 and len(levels) == 4 and levels[3] == "$description":
        _describe(ctx, emit, key_prefix, "/".join(levels[:3]))
        return
    if len(rest) == 3 and rest[2] in _REMEMBERED and not rest[0].startswith("$"):
        text = ctx.text().strip()
        _remember(ctx.state.space("homie"), f"{key_prefix}/{rest[0]}/{rest[1]}", rest[2], text)
        if rest[2] == "$unit":
            teach(ctx, emit, ctx.topic.rpartition("/")[0], "", text[:64] or None)


class Homie:
    """Homie v3/v4 attributes and values, and v5 description documents."""

    name = "homie"
    transports = ("mqtt",)
    priority = 20
    topic_sniff = True  # its sniff reads the topic and the payload's first byte only

    def sniff(self, ctx: Context) -> bool:
        return ctx.topic.startswith("homie/")

    def learns(self, topic: str) -> bool:
        return topic.startswith("homie/") and "/$" in topic

    def learn(self, ctx: Context, emit: Emit) -> None:
        learn_attribute(ctx, emit)

    def parse(self, ctx: Context, emit: Emit) -> None:
        v5, _, device_id, rest = _split(ctx.topic)
        key_prefix = f"{'5' if v5 else '4'}:{device_id}"
        if len(rest) != 2 or any(not part or part.startswith("$") for part in rest):
            return  # device/node attributes, $stats, /set commands, $target, broadcasts
        if device_id.startswith("$"):
            return  # homie/$broadcast/...
        known = ctx.state.space("homie").get(f"{key_prefix}/{rest[0]}/{rest[1]}") or {}
        datatype = known.get("$datatype")
        text = ctx.text().strip()
        if datatype == "boolean":
            emit.state(ctx.device or device_id, f"{rest[0]}/{rest[1]}", text)
            return
        if datatype is not None and datatype not in _NUMERIC:
            return  # boolean, string, enum, color, ...: not a measurement
        if datatype is None and as_number(text) is None:
            return  # undeclared: Homie's default datatype is string
        unit = known.get("$unit")
        emit.reading(ctx.device or device_id, f"{rest[0]}/{rest[1]}", text, unit)


FAMILY = Homie()
