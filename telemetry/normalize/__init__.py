"""Normalization: raw message bytes in, readings (or counted reasons) out.

Pure code: no I/O, no asyncio, no threads.  One module per payload family in
`families/`; `Normalizer` enforces the size limit before anything is parsed,
recognises availability topics whatever the format and the template (Tasmota
`LWT`, Zigbee2MQTT `availability`, Homie `$state`, ESPHome `status`, Shelly
`online`: they mark a device online or offline and are never a device of
their own), hands metadata topics (discovery configs, Zigbee2MQTT's device
list, Homie attributes) to the family that learns from them whatever the
format, counts serial boot messages and logs whatever the format as
`not_a_reading` (an ESP32's ROM banner: see `bootlog`), names the device and
sensor from the topic template or the route, then hands the message to the
family its route names, or for `auto` to the first family whose `sniff`
claims it.  No input makes it raise: every problem becomes a counted
rejection with a short reason.
"""

from __future__ import annotations

import logging
import traceback

from telemetry.errors import PayloadError
from telemetry.logs import RateLimitedLog
from telemetry.model import Outcome, RawMessage, Route
from telemetry.normalize import availability, bootlog, metadata, registry
from telemetry.normalize.base import Context, Emit, Family, Learner, Named, ParseLimits, State
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
        self._learned = self.state.space(metadata.LEARNED)
        self._unitless = self.state.space(metadata.UNITLESS)
        # Which family learns from a topic (None: it is no metadata topic), asked
        # once per topic rather than of every learner for every message.
        self._learners: Remembered[str, tuple[Learner, ...]] = Remembered()
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

    def _template(self, text: str) -> TopicTemplate:
        template = self._templates.get(text)
        if template is None:
            template = self._templates[text] = TopicTemplate(text)
        return template

    def _names(self, route: Route, topic: str) -> tuple[str | None, str | None]:
        if not route.template:
            return route.device, None
        # A topic's names, once matched, are remembered: a hit is one dict lookup
        # instead of a regex match (see bench/README.md, ingest).
        names = self._named.get((route.template, topic))
        if names is None:
            parts = self._template(route.template).match(topic)
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
            mqtt = msg.route.transport == "mqtt"
            if mqtt and self._mqtt_metadata(msg, emit):
                return emit.outcome
            device, sensor = self._names(msg.route, msg.topic)
            ctx = Context(msg, device, sensor, self.state, self.limits)
            if mqtt:
                emit.learned = self._learned.get(msg.topic)
                if msg.topic not in self._unitless:
                    emit.unitless = {}  # a topic's first message: see `metadata.teach`
            elif msg.route.transport == "serial" and (boot := bootlog.boot_message(msg.payload)):
                shown = msg.payload[:40].decode("utf-8", "replace")
                raise PayloadError("not_a_reading", f"{boot}: {shown!r}")
            self._family(ctx).parse(ctx, emit)
            if emit.unitless:
                metadata.remember_unitless(self.state, msg.topic, emit.unitless)
        except PayloadError as exc:
            emit.outcome.errors.append(exc)
        except Exception:  # a parser bug: never let one message take the reader down
            self._log.warning(
                "parser_bug", "a parser failed on %r: %s", msg.topic, traceback.format_exc(limit=4)
            )
            emit.error("parser_error", "the parser failed on this message (a bug; logged)")
        return emit.outcome

    def _mqtt_metadata(self, msg: RawMessage, emit: Emit) -> bool:
        """Read an availability or a metadata topic; True when `msg` was one."""
        topic = msg.topic
        level = topic.rpartition("/")[2]
        if level in availability.LEVELS:
            state = availability.parse_availability(level, msg.payload)
            if state is not None:
                if isinstance(state, bool):
                    emit.availability(self._availability_device(msg.route, topic, level), state)
                return True
        learners = self._learners.get(topic)
        if learners is None:
            found = tuple(f for f in registry.LEARNERS if f.learns(topic))[:1]
            learners = self._learners.remember(topic, found)
        if not learners:
            return False
        learners[0].learn(Context(msg, msg.route.device, None, self.state, self.limits), emit)
        return True

    def _availability_device(self, route: Route, topic: str, level: str) -> str:
        """The device an availability topic speaks for, whatever the template.

        The template's `{device}` when it fits the topic, or the topic without its
        last level (`zigbee2mqtt/{device}` and `zigbee2mqtt/kitchen/availability`);
        else the route's fixed device; else the firmware's own naming: the levels
        between its base and the last (`zigbee2mqtt/kitchen/floor/availability` ->
        `kitchen_floor`, `tele/plug/LWT` -> `plug`, `shellies/<id>/online`,
        `homie/<id>/$state`, `<node>/status`).
        """
        if route.template:
            template = self._template(route.template)
            for candidate in (topic, topic.rpartition("/")[0]):
                parts = template.match(candidate)
                if parts and parts.get("device"):
                    return parts["device"]
        if route.device:
            return route.device
        levels = topic.split("/")[:-1]
        if level in ("$state", "online"):
            return levels[-1] if levels else ""
        if level == "availability":
            return "_".join(levels[1:] or levels)
        if level == "LWT":
            if levels and levels[0] in ("tele", "stat"):
                levels = levels[1:]
            elif levels and levels[-1] in ("tele", "stat"):
                levels = levels[:-1]
        return "_".join(levels)
