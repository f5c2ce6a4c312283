"""The `shelly2` family: Shelly Gen2/Gen3/Gen4 (RPC firmware) over MQTT.

Topics (`<prefix>` is the device's MQTT topic prefix, by default its id such as
`shellyplus1pm-a8032ab12345`; it may hold `/`):
- `<prefix>/events/rpc`: JSON-RPC notifications.  `NotifyStatus` and
  `NotifyFullStatus` carry `params` = `{"ts": <epoch s>, "<component>": {...}}`;
  other methods (`NotifyEvent`: button pushes, ...) hold no measurements and
  are skipped without an error.
- `<prefix>/status/<component>` (`status/switch:0`, `status/temperature:0`,
  `status/sys`): one component's status object, with no time of its own.

Device: the template's `{device}`, else the prefix (the topic before
`/events/rpc` or `/status/`).  Sensor: `<component>.<dotted path>`
(`switch:0.apower`, `switch:0.aenergy.total`, `temperature:0.tC`).  `id`
(the component's index) and fields ending in `_ts` (times of counters) are not
readings.  A switch's `output` and an input's `state` (`true`/`false`) are
readings of kind `state` (1/0); other text and booleans (`source`,
`restart_required`, `connected`) are skipped.
Device time: `params.ts` of a notification.

Units from the field names of Shelly's Gen2+ API documentation
(shelly-api-docs.shelly.cloud/gen2, components Switch, Cover, PM1, EM, EMData,
Temperature, Humidity, Voltmeter, Illuminance, DevicePower, WiFi, Sys):
| field                                   | unit |
|-----------------------------------------|------|
| `apower`, `*_act_power`                 | W    |
| `aprtpower`, `*_aprt_power`             | VA   |
| `voltage`, `*_voltage`, `battery.V`     | V    |
| `current`, `*_current`                  | A    |
| `freq`, `*_freq`                        | Hz   |
| `aenergy.total`, `ret_aenergy.total`, `*_act_energy`, `*_act_ret_energy` | Wh |
| `aenergy.by_minute`, `ret_aenergy.by_minute` | mWh |
| `tC` °C, `tF` °F, `rh` %, `lux` lx, `battery.percent` %, `rssi` dBm, `uptime` s |
`pf` (power factor) has none.
"""

from __future__ import annotations

from typing import Any

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._jsonwalk import emit_tree, looks_like_object

NOTIFY = frozenset({"NotifyStatus", "NotifyFullStatus"})
MAX_COMPONENTS = 128

NAMED_UNITS = {
    "apower": "W",
    "aprtpower": "VA",
    "voltage": "V",
    "current": "A",
    "freq": "Hz",
    "tC": "°C",
    "tF": "°F",
    "rh": "%",
    "lux": "lx",
    "rssi": "dBm",
    "uptime": "s",
}
SUFFIX_UNITS = (
    ("_act_power", "W"),
    ("_aprt_power", "VA"),
    ("_voltage", "V"),
    ("_current", "A"),
    ("_freq", "Hz"),
    ("_act_energy", "Wh"),
    ("_act_ret_energy", "Wh"),
)
ENERGY_PARENTS = frozenset({"aenergy", "ret_aenergy"})


def unit_of(parts: tuple[str, ...]) -> str | None:
    """The documented unit of a field; `parts` starts with the component's key."""
    named = [p for p in parts if not p.isdigit()]  # `by_minute.0` is a `by_minute`
    name = named[-1] if named else ""
    parent = named[-2] if len(named) >= 2 else ""
    if parent in ENERGY_PARENTS:
        return {"total": "Wh", "by_minute": "mWh"}.get(name)
    if parent == "battery":
        return {"V": "V", "percent": "%"}.get(name)
    unit = NAMED_UNITS.get(name)
    if unit is not None:
        return unit
    return next((u for suffix, u in SUFFIX_UNITS if name.endswith(suffix)), None)


def state_of(parts: tuple[str, ...], value: Any) -> float | None:
    """`switch:<i>.output` and `input:<i>.state`: on/off states (Switch and Input
    components of the Gen2 API)."""
    if len(parts) != 2 or not isinstance(value, bool):
        return None
    component, name = parts
    if name == "output" or (name == "state" and component.startswith("input:")):
        return 1.0 if value else 0.0
    return None


def _strip(status: dict[str, Any]) -> dict[str, Any]:
    """A component's status without its index and counter times (not readings)."""
    out: dict[str, Any] = {}
    for key, value in status.items():
        if key == "id" or key.endswith("_ts"):
            continue
        out[key] = _strip(value) if isinstance(value, dict) else value
    return out


def _split(topic: str) -> tuple[str, str] | None:
    """(prefix, component) for `.../status/<component>`, (prefix, "") for events."""
    if topic.endswith("/events/rpc"):
        return topic[: -len("/events/rpc")], ""
    prefix, sep, component = topic.rpartition("/status/")
    if sep and component and "/" not in component:
        return prefix, component
    return None


class Shelly2:
    name = "shelly2"
    transports = ("mqtt",)
    priority = 60
    json_only = True  # its sniff is False unless the payload starts with { or [
    topic_sniff = True  # its sniff reads the topic and the payload's first byte only

    def sniff(self, ctx: Context) -> bool:
        return _split(ctx.topic) is not None and looks_like_object(ctx)

    def parse(self, ctx: Context, emit: Emit) -> None:
        split = _split(ctx.topic)
        if split is None:
            raise PayloadError("unknown_topic", f"{ctx.topic!r} is not a Shelly Gen2 topic")
        prefix, component = split
        device = ctx.device or prefix
        if not device:
            raise PayloadError("no_device", f"no device name in topic {ctx.topic!r}")
        document = ctx.json()
        if not isinstance(document, dict):
            raise PayloadError("not_an_object", "a Shelly status is a JSON object")
        if component:
            emit_tree(emit, device, {component: _strip(document)}, unit_of=unit_of, states=state_of)
            return
        if document.get("method") not in NOTIFY:
            return  # events and replies: no measurements
        params = document.get("params")
        if not isinstance(params, dict):
            raise PayloadError("bad_rpc", "a NotifyStatus without params")
        stamp = params.get("ts")
        ts = emit.device_time(stamp) if isinstance(stamp, int | float) else None
        components = {
            key: _strip(value)
            for key, value in list(params.items())[:MAX_COMPONENTS]
            if isinstance(value, dict)
        }
        emit_tree(emit, device, components, unit_of=unit_of, ts=ts, states=state_of)


FAMILY = Shelly2()
