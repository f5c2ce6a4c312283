"""The `rtl_433` family: rtl_433's JSON events (`-F json`, `-F mqtt` events topic).

One flat JSON object per decoded radio message, fields as in rtl_433's
docs/DATA_FORMAT.md: `{"time": "2024-01-02 10:00:00", "model": "Acurite-Tower",
"id": 1234, "channel": "A", "battery_ok": 1, "temperature_C": 21.3,
"humidity": 45, "mic": "CHECKSUM"}`.

rtl_433's own MQTT output (`-F mqtt`, `src/output_mqtt.c`) also publishes each
field on a topic of its own, `rtl_433/<host>/devices[/type][/model][/subtype]
[/channel][/id]/<field>` (a plain value; the `devices=` option may reorder or
shorten the levels): the last level is the field, the levels after
`devices` (or after the first level, when a custom pattern has no `devices`)
name the device, joined with `_` as for an event; the same fields are not
series, the same suffixes give the units.

Conventions (decided here):
- Device: the template's `{device}` when it names one; else the radio device
  itself, `model`, `channel` and `id` joined with `_` in rtl_433's own devices
  topic order (`Acurite-Tower_A_1234`; either of channel and id may be absent).
  A message without `model` is rejected (`no_model`): it names no device.
- Identity and radio metadata are not series: `time`, `model`, `id`,
  `channel`, `subtype`, `type`, `mic` (DATA_FORMAT.md's "Message Data"),
  `protocol`, `rc` (a rolling code), `device` (the id's name in decoders
  before the 2019 field-name cleanup), the identities and events of remotes
  and alarm panels (`message_type`, `sequence_num`, `rid`, `button`, `code`,
  `codes`, `cmd`, `tristate`, `unit`, `group`, `house_code`: a 433 MHz code is
  no quantity), and the radio figures `-M level` adds (`rssi`, `snr`,
  `noise`, `mod`, `freq`, `freq1`, `freq2`; `src/r_api.c` calls these the
  "meta report" fields) unless the subscription keeps radio metadata
  (`radio = true`).
- `state` (`open`/`closed`, Honeywell and Vivint contacts) is a reading of
  kind `state` (1/0); other text is skipped.
- `battery_ok` IS a reading (no unit): DATA_FORMAT.md defines it as a battery
  level between 0 (empty) and 1 (full).
- Units from the field-name suffix, rtl_433's documented `<Type>_<Unit>`
  convention (longest suffix first): `_C` °C, `_F` °F, `_K` K, `_m_s` m/s,
  `_km_h` km/h, `_mi_h` mi/h, `_mm_h` mm/h, `_in_h` in/h, `_mm` mm, `_cm` cm,
  `_in` in, `_m` m, `_km` km, `_hPa` hPa, `_kPa` kPa, `_psi` psi, `_bar` bar,
  `_deg` °, `_lux` lx, `_klx` klx, `_V` V, `_mV` mV, `_A` A, `_mA` mA, `_W` W,
  `_kW` kW, `_Wh` Wh, `_kWh` kWh, `_Hz` Hz, `_ppm` ppm, `_ug_m3` µg/m³, `_dB` dB,
  `_s` s, `_min` min; the unsuffixed `humidity` and `moisture` are documented as
  %.  Kept radio figures: `rssi`, `snr`, `noise` dB, `freq`, `freq1`, `freq2`
  MHz.  Anything else has no unit.
- `time` is the device time (rtl_433's local time unless `-M time:utc`; in the
  route's time zone; `-M time:unix` epoch seconds work too).  A replay offset
  (`"@0.524288s"`, rtl_433 reading a file with `-r`) is not a time of day and
  is ignored without an error.
"""

from __future__ import annotations

from typing import Any

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit, state_value
from telemetry.normalize.families._jsonwalk import (
    emit_tree,
    field_name,
    looks_like_object,
)

NOT_READINGS = frozenset(
    {
        "time",
        "model",
        "id",
        "channel",
        "subtype",
        "type",
        "mic",
        "protocol",
        "rc",
        "device",
        "message_type",
        "sequence_num",
        "rid",
        "button",
        "code",
        "codes",
        "cmd",
        "tristate",
        "unit",
        "group",
        "house_code",
    }
)
RADIO = frozenset({"rssi", "snr", "noise", "mod", "freq", "freq1", "freq2"})
SUFFIXES = (
    ("_ug_m3", "µg/m³"),
    ("_km_h", "km/h"),
    ("_mi_h", "mi/h"),
    ("_mm_h", "mm/h"),
    ("_in_h", "in/h"),
    ("_m_s", "m/s"),
    ("_kWh", "kWh"),
    ("_hPa", "hPa"),
    ("_kPa", "kPa"),
    ("_psi", "psi"),
    ("_bar", "bar"),
    ("_deg", "°"),
    ("_lux", "lx"),
    ("_klx", "klx"),
    ("_ppm", "ppm"),
    ("_min", "min"),
    ("_Wh", "Wh"),
    ("_kW", "kW"),
    ("_mV", "mV"),
    ("_mA", "mA"),
    ("_Hz", "Hz"),
    ("_dB", "dB"),
    ("_mm", "mm"),
    ("_cm", "cm"),
    ("_km", "km"),
    ("_in", "in"),
    ("_C", "°C"),
    ("_F", "°F"),
    ("_K", "K"),
    ("_m", "m"),
    ("_V", "V"),
    ("_A", "A"),
    ("_W", "W"),
    ("_s", "s"),
)
NAMED = {
    "humidity": "%",
    "moisture": "%",
    "rssi": "dB",
    "snr": "dB",
    "noise": "dB",
    "freq": "MHz",
    "freq1": "MHz",
    "freq2": "MHz",
}


def unit_of(parts: tuple[str, ...]) -> str | None:
    name = field_name(parts)
    if name in NAMED:
        return NAMED[name]
    return next((unit for suffix, unit in SUFFIXES if name.endswith(suffix)), None)


def _part(value: Any) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | str):
        text = str(value).strip()
        return text[:64] or None
    return None


class Rtl433:
    name = "rtl_433"
    transports = ("mqtt",)
    priority = 65

    def sniff(self, ctx: Context) -> bool:
        if not ctx.looks_like_json():
            return ctx.topic.startswith("rtl_433/") and ctx.topic.count("/") >= 2
        if b'"model"' not in ctx.payload or not looks_like_object(ctx):
            return False
        if "BTtoMQTT" in ctx.topic.split("/"):
            return False  # OpenMQTTGateway's BLE devices carry `model` and `id` too
        try:
            document = ctx.json()
        except PayloadError:
            return False
        return (
            isinstance(document, dict)
            and "model" in document
            and ("id" in document or "time" in document)
        )

    def parse(self, ctx: Context, emit: Emit) -> None:
        if not ctx.looks_like_json():
            self._field(ctx, emit)
            return
        document = ctx.json()
        if not isinstance(document, dict):
            raise PayloadError("not_an_object", "an rtl_433 event is a JSON object")
        device = ctx.device
        if not device:
            model = _part(document.get("model"))
            if model is None:
                raise PayloadError("no_model", "an rtl_433 event without a model")
            parts = (model, _part(document.get("channel")), _part(document.get("id")))
            device = "_".join(p for p in parts if p)
        stamp = document.get("time")
        ts = None
        if isinstance(stamp, int | float) or (isinstance(stamp, str) and stamp[:1] != "@"):
            ts = emit.device_time(stamp)
        skip = NOT_READINGS if ctx.msg.route.radio else NOT_READINGS | RADIO
        emit_tree(emit, device, document, unit_of=unit_of, ts=ts, skip=skip, states=_states)

    @staticmethod
    def _field(ctx: Context, emit: Emit) -> None:
        """One field on its own `devices` topic, a plain value."""
        named = _field_topic(ctx)
        if named is None:
            raise PayloadError("no_device", f"no device in rtl_433 topic {ctx.topic!r}")
        device, field = named
        if field in NOT_READINGS or (field in RADIO and not ctx.msg.route.radio):
            return
        text = ctx.text().strip()
        if field == "state":
            emit.state(device, field, text)
        elif not text or text[0].isdigit() or text[0] in "+-.":
            emit.reading(device, field, text, unit_of((field,)))
        # other text (`battery` "OK", `model`): not a series


def _field_topic(ctx: Context) -> tuple[str, str] | None:
    """(device, field) of a `devices` topic, or None when it names neither."""
    levels = ctx.topic.split("/")
    field = levels[-1]
    names = levels[levels.index("devices") + 1 : -1] if "devices" in levels[:-1] else levels[1:-1]
    device = ctx.device or "_".join(level for level in names if level)
    return (device, field) if device and field else None


def _states(parts: tuple[str, ...], value: Any) -> float | None:
    return state_value(value) if parts == ("state",) and isinstance(value, str) else None


FAMILY = Rtl433()
