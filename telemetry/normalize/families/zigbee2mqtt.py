"""The `zigbee2mqtt` family: Zigbee2MQTT's device state messages.

Topic `<base>/<friendly_name>` (base `zigbee2mqtt` by default), payload one JSON
object of the device's exposed properties: `{"temperature": 21.5,
"humidity": 45, "battery": 97, "linkquality": 120, "voltage": 3000}`.

Conventions (decided here):
- Device: the template's `{device}` when the route has one; else everything
  after the topic's first level, the base (friendly names may hold `/`, e.g.
  `zigbee2mqtt/kitchen/sensor`; the `/` becomes `_` in the device name).
  Topics under `<base>/bridge/...` (Z2M's own state, logs, device lists) and a
  device's `/set`, `/get` and `/availability` subtopics are not readings and are
  skipped without an error.
- Readings: every number, dotted paths for nested objects (`color.x`); text
  states (`state`, `action`) and booleans (`occupancy`, `contact`) are
  skipped.  `linkquality` is a reading.  The `update` object (OTA state with
  firmware version numbers) is not a measurement and is skipped.
- Units: none.  Zigbee2MQTT payloads do not carry units; its exposes (in the
  bridge's device list) describe them, but a state message alone does not, so
  units stay null until a `[[series]]` rule states one.
- Device time: Z2M adds none by default; a top-level `last_seen` (its
  `advanced.last_seen` option: ISO 8601 or epoch ms) is used when present and is
  not a reading.
"""

from __future__ import annotations

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._jsonwalk import emit_tree, looks_like_object

BASE = "zigbee2mqtt"
_SKIP_LAST = frozenset({"set", "get", "availability"})
_SKIP = frozenset({"last_seen", "update"})


def _skipped(ctx: Context) -> bool:
    levels = ctx.topic.split("/")
    return (len(levels) > 1 and levels[1] == "bridge") or levels[-1] in _SKIP_LAST


class Zigbee2Mqtt:
    name = "zigbee2mqtt"
    transports = ("mqtt",)
    priority = 55
    json_only = True  # its sniff is False unless the payload starts with { or [
    topic_sniff = True  # its sniff reads the topic and the payload's first byte only

    def sniff(self, ctx: Context) -> bool:
        return ctx.topic.startswith(BASE + "/") and looks_like_object(ctx)

    def parse(self, ctx: Context, emit: Emit) -> None:
        if _skipped(ctx):
            return
        document = ctx.json()
        if not isinstance(document, dict):
            raise PayloadError("not_an_object", "a Zigbee2MQTT state is a JSON object")
        device = ctx.device or ctx.topic.partition("/")[2]
        if not device:
            raise PayloadError("no_device", f"no friendly name in topic {ctx.topic!r}")
        seen = document.get("last_seen")
        ts = emit.device_time(seen) if seen is not None else None
        emit_tree(emit, device, document, ts=ts, skip=_SKIP)


FAMILY = Zigbee2Mqtt()
