"""Metadata on the broker: what it teaches about the units of other topics.

Firmware and bridges describe their values in retained messages of their own,
beside the values:
- Home Assistant MQTT discovery configs, `homeassistant/<component>/.../config`
  (ESPHome, Tasmota, Zigbee2MQTT, OpenMQTTGateway and many others publish
  them): the state topic, the value template's field and `unit_of_measurement`;
- Zigbee2MQTT's `<base>/bridge/devices`: each device's `exposes`, with the
  property, its value type and unit;
- Homie's attribute topics (`.../<property>/$unit`, `$datatype`, v5's
  `$description`).

A family that reads such metadata has `learns(topic)` and `learn(ctx, emit)`;
the normalizer hands these topics to it whatever `format` the subscription
names, before any family parses, and they give no readings.  What they teach
is kept in the run's `State`:
`LEARNED`: state topic -> {path in its payload: unit} ("" for a payload that
is the value itself), which `Emit` consults for every reading of that topic
whose family states no unit; `UNITLESS`: state topic -> {path: series id} of
readings that went out without a unit.  A unit learned after such readings
(the device list arrived after the first values) is reported for their
series in `Outcome.units`, so the catalog changes at once and the page shows
the unit for the values already drawn.
"""

from __future__ import annotations

from telemetry.normalize.base import Context, Emit, State

LEARNED = "learned_units"
UNITLESS = "unitless"
MAX_PATHS = 256  # per topic: a payload with more fields than this is not described


def teach(ctx: Context, emit: Emit, topic: str, path: str, unit: str | None) -> None:
    """Remember `unit` (None: the metadata says there is none) for `path` on `topic`,
    and report it for the series that already had readings there without one."""
    space = ctx.state.space(LEARNED)
    known = space.get(topic)
    if known is not None and known.get(path, "\x00") == unit:
        return
    updated = dict(known or {})
    if path not in updated and len(updated) >= MAX_PATHS:
        return
    updated[path] = unit
    space[topic] = updated
    if unit is None:
        return
    waiting = ctx.state.space(UNITLESS).get(topic)
    series = waiting.get(path) if waiting else None
    canonical = Emit.unit(unit)
    if series is not None and canonical is not None:
        emit.outcome.units.append((series, canonical))


def forget(ctx: Context, topic: str, path: str) -> None:
    """Drop what was learned for `path` on `topic` (a removed discovery config)."""
    space = ctx.state.space(LEARNED)
    known = space.get(topic)
    if known and path in known:
        kept = {p: u for p, u in known.items() if p != path}
        if kept:
            space[topic] = kept
        else:
            del space[topic]


def remember_unitless(state: State, topic: str, found: dict[str, str]) -> None:
    """Keep which series of `topic` went out without a unit (see `teach`)."""
    space = state.space(UNITLESS)
    known = space.get(topic)
    if known is not None and found.items() <= known.items():
        return
    merged = {**(known or {}), **found}
    if len(merged) <= MAX_PATHS:
        space[topic] = merged
