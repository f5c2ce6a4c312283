"""The `json` family: any JSON document, on MQTT or as one serial line.

Conventions (decided here):
- Device: the topic template's `{device}` or the route's fixed device (a serial
  port's name); without a template, an MQTT topic's first level (`ctx.names()`).
- Sensor: the JSON path, dotted (`env.temp`), array items by index
  (`accel.0`, `accel.1`).  When the topic names a sensor too (the template's
  `{sensor...}`, or without a template the topic after its first level), that
  comes first, joined with `/`: `esp32/room` + `{"temp": 21}` -> device
  `esp32`, sensor `room/temp`; so two topics of one device never collide.
- A payload that is one number, or a JSON string holding one (`21.5`,
  `"21.5"`), is the topic's sensor (`value` when the topic names none).
- Numbers and numeric strings are readings.  Booleans and the on/off words
  (`ON`/`OFF`, `open`/`closed`, `true`/`false`, any case) are readings of kind
  `state` (1/0).  Nulls and other text are skipped without an error (names,
  versions).  Explicit NaN and
  infinities (`NaN`, `Infinity` literals, `"NaN"`, `"inf"` strings) are counted
  as `not_finite`.
- Device time: the top-level `time`, `timestamp`, `ts` or `Time` field (the
  first of these present), epoch s/ms/µs/ns or ISO 8601; zone-less times are in
  the route's time zone.  Time fields are never readings, wherever the time
  field itself is unusable (then `bad_time`/`clock_*` is counted once).
- No units: generic JSON states none in a way we could trust.
"""

from __future__ import annotations

from telemetry.normalize.base import Context, Emit
from telemetry.normalize.families._jsonwalk import default_state, emit_tree, looks_like_object

TIME_FIELDS = ("time", "timestamp", "ts", "Time")
_SKIP = frozenset(TIME_FIELDS)


class Json:
    name = "json"
    transports = ("mqtt", "serial")
    priority = 900  # after every JSON family that knows its firmware, before `number`
    json_only = True  # its sniff is False unless the payload starts with { or [
    topic_sniff = True  # its sniff reads the topic and the payload's first byte only

    def sniff(self, ctx: Context) -> bool:
        return looks_like_object(ctx, arrays=True)

    def parse(self, ctx: Context, emit: Emit) -> None:
        document = ctx.json()
        device, sensor = ctx.names(default_sensor="")
        if not isinstance(document, dict | list):
            # a bare number, a JSON string holding one, a boolean, or no reading
            if isinstance(document, bool):
                emit.state(device, sensor or "value", document)
            else:
                emit.reading(device, sensor or "value", document)
            return
        ts = None
        if isinstance(document, dict):
            stamp = next((document[k] for k in TIME_FIELDS if k in document), None)
            if isinstance(stamp, str | int | float):
                ts = emit.device_time(stamp)
        emit_tree(
            emit,
            device,
            document,
            prefix=f"{sensor}/" if sensor else "",
            ts=ts,
            skip=_SKIP,
            states=default_state,
        )


FAMILY = Json()
