"""The `telemetry` family: another instance's republished readings, read losslessly.

What `[[output.mqtt]]` sends (the wire contract, README "Federation and
scale-out"): topic `<prefix>/<device>/<sensor>` (the sensor may hold `/`
levels), payload a JSON object `{"v": <number>, "u": <unit or null>,
"ts": <epoch seconds>, "kind": "number" | "state"}`; unknown extra keys are
ignored.  `<prefix>/status` (`online`/`offline`, retained, the Last Will) is
the instance's availability: the normalizer reads it before any family, as
every `status` topic (`telemetry.normalize.availability`).

Names come from the topic through the subscription's template; without one,
`{ignore}/{device}/{sensor...}` (`config.model.REPUBLISHED_TEMPLATE`, the default prefix
`telemetry/<instance>`): the other instance's name is the device here and its
series id the sensor, so `telemetry/greenhouse/bme280/temperature` is the
series `greenhouse/bme280/temperature`, and the site's `status` is the device
`greenhouse`'s availability.  A device name cannot hold `/`: the site is the
device, not a part of it.

- `v`: a finite number (`not_a_number`, `not_finite`); missing: `no_value`.
- `u`: kept as stated, for states too (mapped to the vocabulary, as every
  unit); not a string or null: `bad_unit`.
- `ts`: the sender's time, kept however old it is (`Emit.device_time`'s
  `any_age`): a bridge that was down replays its queue late, and a reading's
  time is its own.  Ahead of the receive time by more than `max_clock_skew`,
  before 2000, or not a number: counted (`clock_ahead`, `clock_unsynced`,
  `bad_time`) and the receive time used.  Missing or null: the receive time.
- `kind`: `number` (also when missing) or `state` (then `v` is 0 or 1:
  `not_a_state`); anything else: `bad_kind`.

Never chosen by `format = "auto"` (`auto = False`): its payload is plain JSON
that the `json` family reads too, and only the subscription knows whose it is.
"""

from __future__ import annotations

from typing import Any

from telemetry.errors import PayloadError
from telemetry.normalize.base import Context, Emit

KINDS = frozenset({"number", "state"})


class Republished:
    """`{"v", "u", "ts", "kind"}` on `<prefix>/<device>/<sensor>` topics."""

    name = "telemetry"
    transports = ("mqtt",)
    priority = 990
    auto = False  # named by a subscription only; see the module docstring

    def sniff(self, ctx: Context) -> bool:
        return False

    def parse(self, ctx: Context, emit: Emit) -> None:
        device, sensor = ctx.names()
        if ctx.topic.endswith("/status") and ctx.head() != b"{":
            shown = ctx.payload[:40].decode("utf-8", "replace")
            raise PayloadError(
                "bad_availability", f"{shown!r} on {ctx.topic[:200]!r}; expected online or offline"
            )
        document = ctx.json()
        if not isinstance(document, dict):
            raise PayloadError("not_an_object", 'expected a JSON object {"v": ..., "ts": ...}')
        if "v" not in document:
            raise PayloadError("no_value", f'{sensor}: no "v" in the payload')
        kind = document.get("kind", "number")
        if not isinstance(kind, str) or kind not in KINDS:
            raise PayloadError(
                "bad_kind", f"{sensor}: kind {str(kind)[:20]!r}; expected number or state"
            )
        unit = document.get("u")
        if unit is not None and not isinstance(unit, str):
            raise PayloadError("bad_unit", f"{sensor}: u {str(unit)[:20]!r}; expected text or null")
        value: Any = document["v"]
        if kind == "state" and (isinstance(value, bool) or value not in (0, 1)):
            raise PayloadError("not_a_state", f"{sensor}: {str(value)[:20]!r}; expected 0 or 1")
        ts = document.get("ts")
        when = None
        if ts is not None:
            if isinstance(ts, bool) or not isinstance(ts, int | float):
                emit.error("bad_time", f"{sensor}: ts {str(ts)[:40]!r} is not epoch seconds")
            else:
                when = emit.device_time(ts, any_age=True)
        emit.reading(device, sensor, value, unit, when, kind=kind)


FAMILY = Republished()
