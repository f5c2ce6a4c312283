"""What every payload family shares: the message in context, and the emitter.

A family is an object with a `name`, the `transports` it reads, `sniff(ctx)`
(a cheap "is this mine?" for `format = "auto"`) and `parse(ctx, emit)`, which
hands each value it finds to `emit.reading(...)` and each problem to
`emit.error(...)`.  The emitter does what every family would otherwise repeat:
numbers from strings, NaN and infinities refused, units mapped to the
vocabulary, device times checked, ids bounded; `emit.state(...)` makes an
on/off word or a boolean a reading of kind `state` (1 or 0).  A unit learned
from metadata on the broker for this topic (`learned`, path -> unit) fills in
where the family states none.  A parser raises only
`PayloadError` (for a message it cannot read at all); anything else escaping a
parser is a bug, which the normalizer still turns into a counted rejection.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson

from telemetry.errors import PayloadError
from telemetry.model import Availability, Outcome, RawMessage, Reading, series_id
from telemetry.normalize.timestamps import ClockPolicy, device_time
from telemetry.remember import Remembered
from telemetry.units import canonical_unit

MAX_UNIT_LENGTH = 24

# On/off, open/closed, true/false words: the state they stand for.  What
# firmware puts in its messages (Tasmota's `ON`/`OFF`, Zigbee2MQTT's `state`,
# Shelly Gen1's `on`/`off` and `open`/`close`, Homie's `true`/`false`).
STATE_WORDS = {
    "on": 1.0,
    "off": 0.0,
    "true": 1.0,
    "false": 0.0,
    "open": 1.0,
    "opened": 1.0,
    "closed": 0.0,
    "close": 0.0,
}


def state_value(value: Any) -> float | None:
    """1.0 or 0.0 for a boolean or an on/off word (any case); None for anything else."""
    if value is True or value is False:
        return 1.0 if value else 0.0
    if isinstance(value, str) and len(value) <= 8:
        return STATE_WORDS.get(value.strip().lower())
    return None


@dataclass(frozen=True, slots=True)
class ParseLimits:
    max_json_depth: int = 32
    max_id_length: int = 200
    clock: ClockPolicy = field(default_factory=ClockPolicy)


class State:
    """What a run has learned from earlier messages (Homie `$unit`, CSV headers, ...).

    Each family keeps its own namespaces, each a `Remembered`, so a device
    publishing endless new topics cannot grow one without limit.
    """

    def __init__(self) -> None:
        self._spaces: dict[str, Remembered[str, Any]] = {}

    def space(self, name: str) -> Remembered[str, Any]:
        found = self._spaces.get(name)
        if found is None:
            found = self._spaces[name] = Remembered()
        return found


def _depth_exceeds(text: str, limit: int) -> bool:
    """Whether JSON `text` nests deeper than `limit`, found before parsing it."""
    if text.count("[") + text.count("{") <= limit:
        return False
    depth = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            if depth > limit:
                return True
        elif ch in "]}":
            depth -= 1
    return False


def loads(text: str) -> Any:
    """JSON `text` as Python values, the standard library's way.

    orjson reads first: it is much the faster (bench/README.md, ingest).  What
    orjson refuses and the standard library takes (NaN and Infinity, numbers
    beyond float range, lone surrogates) goes to the standard library, and so
    does its error message for what both refuse.  One difference remains: an
    integer beyond 64 bits comes as the nearest float, as every family would
    read it anyway.
    """
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


class Context:
    """One message being read: its bytes, names from the topic, and the run's memory."""

    __slots__ = (
        "_head",
        "_json",
        "_text",
        "device",
        "limits",
        "msg",
        "payload",
        "sensor",
        "state",
        "topic",
    )

    def __init__(
        self,
        msg: RawMessage,
        device: str | None,
        sensor: str | None,
        state: State,
        limits: ParseLimits,
    ) -> None:
        self.msg = msg
        # Plain attributes, not properties: `auto` asks every family's sniff for them.
        self.topic: str = msg.topic
        self.payload: bytes = msg.payload
        self.device = device  # from the template or the route; None when neither says
        self.sensor = sensor
        self.state = state
        self.limits = limits
        self._text: str | None = None
        self._json: Any = None
        self._head: bytes | None = None

    def text(self) -> str:
        """The payload as UTF-8 text without a BOM, or `PayloadError("not_utf8")`."""
        if self._text is None:
            try:
                text = self.msg.payload.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise PayloadError("not_utf8", f"byte {exc.start} is not UTF-8") from None
            self._text = text.removeprefix("\ufeff")
        return self._text

    def json(self) -> Any:
        """The payload as JSON, depth-checked before parsing; `PayloadError` if not."""
        if self._json is None:
            payload = self.payload
            limit = self.limits.max_json_depth
            # Most payloads are a plain object: orjson reads the bytes, without
            # decoding or stripping first.  What it refuses takes the way below,
            # which says why.
            if payload[:1] in (b"{", b"[") and payload.count(b"[") + payload.count(b"{") <= limit:
                try:
                    self._json = orjson.loads(payload)
                    return self._json
                except orjson.JSONDecodeError:
                    pass
            text = self.text().strip()
            if not text:
                raise PayloadError("empty", "the payload is empty")
            if _depth_exceeds(text, limit):
                raise PayloadError("json_too_deep", f"JSON nesting deeper than {limit}")
            try:
                self._json = loads(text)
            except (ValueError, RecursionError) as exc:
                raise PayloadError("bad_json", f"not JSON: {str(exc)[:60]}") from None
        return self._json

    def names(self, default_sensor: str = "value") -> tuple[str, str]:
        """Device and sensor when the payload does not name them.

        The template's, or the route's fixed device; without either, an MQTT
        topic's first level is the device and the rest the sensor; a serial
        line belongs to its port's device.
        """
        device, sensor = self.device, self.sensor
        route = self.msg.route
        if route.transport == "mqtt" and route.template is None:
            first, _, rest = self.msg.topic.partition("/")
            device = device or first
            sensor = sensor or rest or None
        if not device:
            raise PayloadError("no_device", f"no device name in topic {self.msg.topic!r}")
        return device, sensor or default_sensor

    def head(self) -> bytes:
        """The payload's first byte after a BOM and blanks (b"" for none), found once:
        `auto` and several sniffs ask."""
        if self._head is None:
            self._head = self.payload[:64].removeprefix(b"\xef\xbb\xbf").lstrip()[:1]
        return self._head

    def looks_like_json(self) -> bool:
        return self.head() in (b"{", b"[")


class Family(Protocol):
    """Also, optionally: `priority` (`auto`'s order), `json_only` (the sniff says no
    unless the payload starts with `{` or `[`), `topic_sniff` (the sniff reads
    nothing but the topic and the payload's first byte after a BOM and blanks, so
    `auto` may remember its answer per topic)."""

    name: str
    transports: tuple[str, ...]

    def sniff(self, ctx: Context) -> bool: ...

    def parse(self, ctx: Context, emit: Emit) -> None: ...


class Learner(Protocol):
    """A family that also reads metadata topics (see `telemetry.normalize.metadata`)."""

    def learns(self, topic: str) -> bool: ...

    def learn(self, ctx: Context, emit: Emit) -> None: ...


def as_number(value: Any) -> float | None:
    """A finite float from a JSON number or a numeric string; None for anything else.

    Booleans, nulls, lists, objects and text are not numbers; neither are NaN
    and infinities, whatever their spelling.
    """
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        try:
            number = float(value)
        except OverflowError:  # an integer beyond float range
            return None
    elif isinstance(value, str):
        text = value.strip()
        if not text or len(text) > 64 or not (text[0].isdigit() or text[0] in "+-."):
            return None
        try:
            number = float(text)
        except ValueError:
            return None
    else:
        return None
    return number if math.isfinite(number) else None


# What `Emit.reading` has found of a `(device, sensor, unit)` as a family gives
# them: the device as stored, the series id and the unit in the vocabulary.
Named = tuple[str, str, str | None]


class Emit:
    """Collects one message's readings, availability and rejections into an `Outcome`.

    `names` is where checked names are remembered from one message to the next
    (the `Normalizer` keeps one); without it, they are checked every time.  The
    route's `prefix` goes before every device name here, in one place, and its
    `time = "receive"` makes every device time unused.
    """

    __slots__ = (
        "_checked",
        "_names",
        "_prefix",
        "learned",
        "limits",
        "msg",
        "outcome",
        "sanitized",
        "unitless",
    )

    def __init__(
        self,
        msg: RawMessage,
        limits: ParseLimits,
        names: Remembered[tuple[str, str, str | None], Named] | None = None,
    ) -> None:
        self.msg = msg
        self.limits = limits
        self.outcome = Outcome()
        self._checked: float | None = None  # what `device_time` last gave
        self._names = Remembered() if names is None else names
        # Units learned from metadata for this message's topic, by path in the
        # payload ("" for the whole payload); set by the normalizer.
        self.learned: dict[str, str | None] | None = None
        # path -> series id of the readings that went out without a unit, so a
        # unit learned later can reach them; the normalizer sets it to a dict
        # for a topic's first messages only, and remembers what it gathers.
        self.unitless: dict[str, str] | None = None
        self._prefix = msg.route.prefix

    def error(self, reason: str, detail: str) -> None:
        self.outcome.errors.append(PayloadError(reason, detail))

    def availability(self, device: str, online: bool) -> bool:
        """Add that `device` is online or not if its name passes `_device`; True if added."""
        stored = self._device(self._prefix + device)
        if stored is None:
            return False
        self.outcome.availability.append(Availability(stored, online, self.msg.recv_ts))
        return True

    def reading(
        self,
        device: str,
        sensor: str,
        value: Any,
        unit: str | None = None,
        ts: Any = None,
        *,
        path: str = "",
        kind: str = "number",
    ) -> bool:
        """Add one reading if `value` is a finite number; else count why not. True if added.

        `ts` is the device's time as the payload states it, or epoch seconds
        already checked by `device_time`.  `path` is where the value sits in the
        payload (dotted; "" for the whole payload): metadata learned for the
        topic gives the unit of a path when `unit` is None.
        """
        # JSON's floats first, without a call: most values are.
        number = value if type(value) is float and math.isfinite(value) else as_number(value)
        if number is None:
            shown = repr(value)[:40]
            reason = (
                "not_finite"
                if isinstance(value, float | str) and _nonfinite(value)
                else ("not_a_number")
            )
            self.error(reason, f"{sensor}: {shown} is not a number")
            return False
        if unit is not None and type(unit) is not str:
            unit = None
        if unit is None and self.learned is not None:
            unit = self.learned.get(path)
        if self._prefix:
            device = self._prefix + device
        # A series' names and unit come again and again: checked once, remembered,
        # with the series id the pipeline looks its series up by (a string made
        # once, its hash kept): see bench/README.md, ingest.
        named = self._names.get((device, sensor, unit))
        if named is None:
            named = self._name(device, sensor, unit)
            if named is None:
                return False
        recv = self.msg.recv_ts
        # A message's readings mostly share the time `device_time` gave: not again.
        when = ts if ts is not None and ts is self._checked else self.device_time(ts)
        stored, series, known = named
        self.outcome.readings.append(
            Reading(
                stored, sensor, number, known, when or recv, recv, when is not None, series, kind
            )
        )
        if known is None and self.unitless is not None and kind == "number":
            self.unitless[path] = series
        return True

    def state(
        self,
        device: str,
        sensor: str,
        value: Any,
        ts: Any = None,
        *,
        path: str = "",
        words: dict[Any, float] | None = None,
    ) -> bool:
        """Add an on/off reading (kind `state`, 1 or 0) for a boolean, an on/off word,
        a word of `words` (a device's own, from metadata) or a 0/1 number; True if
        added.  Anything else is no state and is skipped without an error."""
        if words is not None and isinstance(value, str | bool) and value in words:
            number: float | None = words[value]
        else:
            number = state_value(value)
            if number is None and not isinstance(value, bool):
                number = as_number(value)  # 0 and 1, as numbers or text
                number = number if number in (0.0, 1.0) else None
        if number is None:
            return False
        return self.reading(device, sensor, number, None, ts, path=path, kind="state")

    def _name(self, device: str, sensor: str, unit: str | None) -> Named | None:
        """The device as stored, the series id and the unit; None (counted) when the
        names cannot make a series id."""
        stored = self._device(device, sensor or "")  # no sensor: no series id
        if stored is None:
            return None
        return self._names.remember(
            (device, sensor, unit), (stored, series_id(stored, sensor), self.unit(unit))
        )

    def _device(self, device: str, sensor: str | None = None) -> str | None:
        """The device as stored (`/` replaced, blanks stripped), or None (counted) when the
        names are empty, longer than `max_id_length` as `device/sensor` (the device alone
        when `sensor` is None) or hold a lone surrogate: every name's one check."""
        stored = device.replace("/", "_").strip()
        if not stored or sensor == "":
            self.error("no_name", f"no device or sensor name for {self.msg.topic[:200]!r}")
            return None
        name = stored if sensor is None else series_id(stored, sensor)
        if len(name) > self.limits.max_id_length:
            self.error(
                "id_too_long", f"{name[:40]!r}... over {self.limits.max_id_length} characters"
            )
            return None
        try:
            name.encode("utf-8")
        except UnicodeEncodeError:
            self.error("bad_name", f"{name[:60]!r} holds a lone surrogate")
            return None
        return stored

    def device_time(
        self, value: Any, timezone: str | None = None, *, any_age: bool = False
    ) -> float | None:
        """A device time in epoch seconds, or None (and the reason counted).

        Zone-less times are in `timezone`, else the route's, else the server's;
        `any_age`: one behind the receive time is used however old.
        Families whose readings share one time check it once with this and pass
        the result on, so a bad clock is counted once per message.
        """
        if value is None or self.msg.route.time == "receive":
            return None
        when, problem = device_time(
            value,
            self.msg.recv_ts,
            self.limits.clock,
            timezone or self.msg.route.timezone,
            any_age=any_age,
        )
        if problem:
            self.error(problem, f"device time {str(value)[:40]!r} not used")
        self._checked = when
        return when

    @staticmethod
    def unit(text: str | None) -> str | None:
        """The vocabulary's spelling of a stated unit, or the stated text when it has none."""
        if not text or not isinstance(text, str):
            return None
        known = canonical_unit(text)
        if known is not None:
            return known
        text = text.strip()
        return text[:MAX_UNIT_LENGTH] if text and text.isprintable() else None


def _nonfinite(value: float | str) -> bool:
    if isinstance(value, float):
        return not math.isfinite(value)
    try:
        return not math.isfinite(float(value.strip()))
    except ValueError:
        return False
