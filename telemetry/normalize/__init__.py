"""Normalization: raw message bytes in, readings (or counted reasons) out.

Pure code: no I/O, no asyncio, no threads.  One module per payload family in
`families/`; `Normalizer` enforces the size limit before anything is parsed,
names the device and sensor from the topic template or the route, recognises
availability topics whatever the format (Tasmota `LWT`, Zigbee2MQTT
`availability`, Homie `$state`, ESPHome `status`, Shelly `online`) and serial
boot messages and logs whatever the format (an ESP32's ROM banner: counted as
`not_a_reading`, see `bootlog`), then hands the message to the family its
route names, or for `auto` to the first family whose `sniff` claims it.  No
input makes it raise: every problem becomes a counted rejection with a short
reason.
"""

from __future__ import annotations

import logging
import traceback

from telemetry.errors import PayloadError
from telemetry.logs import RateLimitedLog
from telemetry.model import Outcome, RawMessage, Route
from telemetry.normalize import availability, bootlog, registry
from telemetry.normalize.base import Context, Emit, Family, Named, ParseLimits, State
from telemetry.normalize.families.number import parse_number
from telemetry.normalize.timestamps import ClockPolicy
from telemetry.remember import Remembered
from telemetry.topics import TopicTemplate

__all__ = ["MQTT_FORMATS", "SERIAL_FORMATS", "Normalizer", "parse_number"]

logger = logging.getLogger(__name__)

MQTT_FORMATS = registry.formats("mqtt")
SERIAL_FORMATS = registry.formats("serial")


class Normalizer:
    """Turns `RawMessage`s into `Reading`s; keeps what a run has learned so far."""

    def __init__(
        self,
        max_payload: int = 65536,
        max_id_length: int = 200,
        max_json_depth: int = 32,
        clock: ClockPolicy | None = None,
    ) -> None:
        self.max_payload = max_payload
        self.limits = ParseLimits(max_json_depth, max_id_length, clock or ClockPolicy())
        self.state = State()
        self._templates: dict[str, TopicTemplate] = {}
        self._named: Remembered[tuple[str, str], tuple[str | None, str | None]] = Remembered()
        self._series_names: Remembered[tuple[str, str, str | None], Named] = Remembered()
        # `auto`'s plan per (transport, topic, first byte): see `_family`.
        self._plans: Remembered[
            tuple[str, str, bytes], tuple[tuple[Family, ...], Family | None]
        ] = Remembered()
        self._log = RateLimitedLog(logger, interval=60.0)

    @property
    def max_id_length(self) -> int:
        return self.limits.max_id_length

    def _names(self, route: Route, topic: str) -> tuple[str | None, str | None]:
        if not route.template:
            return route.device, None
        # A topic's names, once matched, are remembered: a hit is one dict lookup
        # instead of a regex match (see bench/README.md, ingest).
        names = self._named.get((route.template, topic))
        if names is None:
            template = self._templates.get(route.template)
            if template is None:
                template = self._templates[route.template] = TopicTemplate(route.template)
            parts = template.match(topic)
            if parts is None:
                raise PayloadError(
                    "topic_mismatch", f"topic {topic!r} does not fit template {route.template!r}"
                )
            names = parts.get("device"), parts.get("sensor")
            self._named[route.template, topic] = names
        device, sensor = names
        return device or route.device, sensor

    def _family(self, ctx: Context) -> Family:
        route = ctx.msg.route
        if route.format != "auto":
            family = registry.BY_NAME.get(route.format)
            if family is None:
                raise PayloadError("unknown_format", f"no payload family {route.format!r}")
            return family
        # A topic and first byte seen before: only the sniffs that read more than
        # those are asked again, and the first `topic_sniff` family that said yes
        # takes the message: most sniffs are not asked again (see bench/README.md, ingest).
        key = (route.transport, ctx.topic, ctx.head())
        plan = self._plans.get(key)
        if plan is None:
            plan = self._plans.remember(key, self._plan(ctx))
        asked, taker = plan
        for family in asked:
            if family.sniff(ctx):
                return family
        if taker is None:
            raise PayloadError("unrecognised", "no payload family recognises this message")
        return taker

    @staticmethod
    def _plan(ctx: Context) -> tuple[tuple[Family, ...], Family | None]:
        """`auto`'s families for this topic and first byte: those whose sniffs must be
        asked each time, in order, then the family that takes what they leave."""
        asked: list[Family] = []
        for family in registry.auto(ctx.msg.route.transport, ctx.looks_like_json()):
            if not getattr(family, "topic_sniff", False):
                asked.append(family)
            elif family.sniff(ctx):
                return tuple(asked), family
        return tuple(asked), None

    def normalize(self, msg: RawMessage) -> Outcome:
        emit = Emit(msg, self.limits, self._series_names)
        try:
            if len(msg.payload) > self.max_payload:
                raise PayloadError(
                    "payload_too_large",
                    f"{len(msg.payload)} bytes on {msg.topic!r}; the limit is {self.max_payload}",
                )
            device, sensor = self._names(msg.route, msg.topic)
            ctx = Context(msg, device, sensor, self.state, self.limits)
            transport = msg.route.transport
            if transport == "mqtt" and self._availability(ctx, emit):
                return emit.outcome
            if transport == "serial" and (boot := bootlog.boot_message(msg.payload)):
                shown = msg.payload[:40].decode("utf-8", "replace")
                raise PayloadError("not_a_reading", f"{boot}: {shown!r}")
            self._family(ctx).parse(ctx, emit)
        except PayloadError as exc:
            emit.outcome.errors.append(exc)
        except Exception:  # a parser bug: never let one message take the reader down
            self._log.warning(
                "parser_bug", "a parser failed on %r: %s", msg.topic, traceback.format_exc(limit=4)
            )
            emit.error("parser_error", "the parser failed on this message (a bug; logged)")
        return emit.outcome

    @staticmethod
    def _availability(ctx: Context, emit: Emit) -> bool:
        level = ctx.topic.rpartition("/")[2]
        if level not in availability.LEVELS:
            return False
        state = availability.parse_availability(level, ctx.payload)
        if state is None:
            return False
        if isinstance(state, bool):
            if ctx.device is None and level == "$state" and ctx.topic.startswith("homie/"):
                # homie/<device>/$state and v5's homie/5/<device>/$state
                device = ctx.topic.split("/")[-2]
            else:
                device, _ = ctx.names()
            emit.availability(device, state)
        return True
