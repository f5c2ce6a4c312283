"""The `shelly` family: Shelly Gen1 firmware's one-value-per-topic MQTT messages.

Topics are `shellies/<id>/<path>` with a plain-text payload each
(`shellies/shellyem-AA8900/emeter/0/power` -> `34.42`).  The device is `<id>`
(or the template's `{device}`); the sensor is `<path>` with its slashes kept
(`emeter/0/power`, `relay/0/energy`, `sensor/temperature`), which is also what
the template `shellies/{device}/{sensor...}` yields.

Units come from the Shelly Gen1 API documentation's MQTT sections (and
bieniu/ha-shellies-discovery, which encodes the same table), keyed on the
topic's shape, never on a payload:
- `power` W, `reactive_power` var, `voltage` V, `current` A, `pf` (a ratio,
  no unit), `total`/`total_returned` Wh, `lux` lx, `tilt` °, `battery` %,
  `humidity` % (H&T, ext_humidity), `concentration` ppm (Gas),
  `roller/<i>/pos` %, `brightness` %, device `temperature` °C and
  `temperature_f` °F, `ext_temperature/<i>` °C and `ext_temperature_f/<i>` °F.
- `energy` and `returned_energy` of `relay`, `roller`, `light`, `color`,
  `white` and `emeter` are Watt-minutes (a counter that resets at reboot).
  Decided: they are converted to Wh (value / 60), because `Wmin` is in no
  vocabulary a chart or a user shares and Wh sits beside `total` (already Wh).
- `sensor/temperature` (H&T, Flood, Door/Window 2, Smoke) is in °C or °F as
  configured on the device; Celsius is the firmware's default (and
  ha-shellies-discovery's, `use_fahrenheit: false`), so it is °C unless the
  device's `info` message (its `/status`, published on `shellies/<id>/info`)
  says `"tmp": {"units": "F"}`, which is remembered per device.
- `adc/<i>` V, `totalworktime` s, `overpower_value` W, `emeter_n/ixsum` A.

On/off states are readings of kind `state` (1/0), as the same API documents
them: `relay/<i>`, `light/<i>`, `color/<i>`, `white/<i>` (`on`/`off`),
`input/<i>`, `longpush/<i>`, `ext_switch/<i>` (`0`/`1`), `sensor/state`
(`open`/`close`), `sensor/motion`, `sensor/flood`, `sensor/smoke`,
`sensor/vibration`, `sensor/charger` (`true`/`false`), `overtemperature`,
`overpower`, `overload`, `loaderror`, `relay/<i>/overpower` (`0`/`1`).

Other text payloads (`roller/0` `open`/`close`/`stop`, `sensor/gas` `none`,
JSON such as `input_event/0` or `color/0/status`) are skipped silently,
except on a topic whose table entry says it is a number: there a non-number
is counted.  `shellies/announce`, `shellies/command`, `<id>/announce`,
anything ending in `/command` or `/set` are not readings; `<id>/info` is read
only for its temperature unit; `<id>/online` is availability, handled before
any family sees it.
"""

from __future__ import annotations

from typing import Any

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit, as_number

_SKIP_DEVICE_LEVEL = frozenset({"announce", "command"})  # shellies/announce, shellies/command
_SKIP_PATHS = frozenset({"announce", "command", "online"})
_SKIP_LAST = frozenset({"command", "set"})
_WATT_MINUTE_PARENTS = frozenset({"relay", "roller", "light", "color", "white", "emeter"})

# The last level of a path -> its documented unit, for any parent.
_BY_LEAF: dict[str, str | None] = {
    "power": "W",
    "reactive_power": "var",
    "voltage": "V",
    "current": "A",
    "pf": None,
    "total": "Wh",
    "total_returned": "Wh",
    "lux": "lx",
    "tilt": "°",
    "battery": "%",
    "humidity": "%",
    "concentration": "ppm",
    "pos": "%",
    "brightness": "%",
    "totalworktime": "s",
    "overpower_value": "W",
    "ixsum": "A",
}
# Topics whose payload is an on/off state: (parent, leaf) with "#" for an index.
STATES = frozenset(
    {
        ("relay", "#"),
        ("light", "#"),
        ("color", "#"),
        ("white", "#"),
        ("input", "#"),
        ("longpush", "#"),
        ("ext_switch", "#"),
        ("sensor", "state"),
        ("sensor", "motion"),
        ("sensor", "flood"),
        ("sensor", "smoke"),
        ("sensor", "vibration"),
        ("sensor", "charger"),
        ("", "overtemperature"),
        ("", "overpower"),
        ("", "overload"),
        ("", "loaderror"),
        ("#", "overpower"),
    }
)
TEMP_UNITS = {"C": "°C", "F": "°F"}


def _is_state(levels: list[str]) -> bool:
    leaf = "#" if levels[-1].isdigit() else levels[-1]
    parent = levels[-2] if len(levels) >= 2 else ""
    return (("#" if parent.isdigit() else parent), leaf) in STATES


def _learn_info(ctx: Context, device: str) -> None:
    """Remember the temperature unit a device's `/status` (on `info`) states."""
    try:
        status: Any = ctx.json()
    except PayloadError:
        return
    tmp = status.get("tmp") if isinstance(status, dict) else None
    units = tmp.get("units") if isinstance(tmp, dict) else None
    if isinstance(units, str) and units in TEMP_UNITS:
        ctx.state.space("shelly_temp_units")[device] = TEMP_UNITS[units]


def _unit(levels: list[str]) -> tuple[bool, str | None, float]:
    """(is this a documented measurement, its unit, the factor to the unit)."""
    leaf = levels[-1]
    parent = levels[-2] if len(levels) >= 2 else ""
    if (
        leaf in ("energy", "returned_energy")
        and parent.isdigit()
        and len(levels) >= 3
        and levels[-3] in _WATT_MINUTE_PARENTS
    ):
        return True, "Wh", 1 / 60
    if len(levels) == 1 and leaf == "temperature":
        return True, "°C", 1.0  # the device's own (internal) temperature
    if len(levels) == 1 and leaf == "temperature_f":
        return True, "°F", 1.0
    if len(levels) == 2 and leaf.isdigit():  # ext_temperature/0, ext_humidity/1
        ext = {
            "ext_temperature": "°C",
            "ext_temperature_f": "°F",
            "ext_humidity": "%",
            "adc": "V",
        }
        if parent in ext:
            return True, ext[parent], 1.0
    if levels == ["sensor", "temperature"]:
        return True, "°C", 1.0  # unless the device's `info` said °F (see `parse`)
    if leaf in _BY_LEAF:
        return True, _BY_LEAF[leaf], 1.0
    return False, None, 1.0


class Shelly:
    """Shelly Gen1: `shellies/<id>/<path>` topics carrying one value each."""

    name = "shelly"
    transports = ("mqtt",)
    priority = 75
    topic_sniff = True  # its sniff reads the topic and the payload's first byte only

    def sniff(self, ctx: Context) -> bool:
        return ctx.topic.startswith("shellies/")

    def parse(self, ctx: Context, emit: Emit) -> None:
        levels = ctx.topic.split("/")
        if len(levels) < 3 or levels[0] != "shellies" or levels[1] in _SKIP_DEVICE_LEVEL:
            return  # shellies/announce and shellies/command: not readings
        path = levels[2:]
        if "/".join(path) in _SKIP_PATHS or path[-1] in _SKIP_LAST or not path[-1]:
            return
        device = ctx.device or levels[1]
        if path == ["info"]:
            _learn_info(ctx, device)
            return
        sensor = ctx.sensor or "/".join(path)
        text = ctx.text().strip()
        if _is_state(path):
            emit.state(device, sensor, text)
            return
        documented, unit, factor = _unit(path)
        if path == ["sensor", "temperature"]:
            unit = ctx.state.space("shelly_temp_units").get(device, unit)
        number = as_number(text)
        if number is None:
            if documented:  # a topic the firmware documents as a number
                emit.reading(device, sensor, text, unit)
            return  # on/off/open/true/JSON status: a state, not a measurement
        emit.reading(device, sensor, number * factor, unit)


FAMILY = Shelly()
