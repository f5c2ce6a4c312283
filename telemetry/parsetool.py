"""`telemetry parse`: the normalizer as a tool, one JSON line out per line in.

Each input line is `{"transport": "mqtt", "topic": ..., "payload": ...}` or
`{"transport": "serial", "port": NAME, "payload": "one or more lines"}`, with
`payload_b64` for raw bytes, and optionally `received`: when the message was
received (epoch seconds, or ISO 8601 with a zone), for replaying a capture
whose device times would otherwise be judged against the clock of today;
without it, now.  Routes come from the config exactly as in the
server: a topic is read by the first subscription that receives it, from the
broker's own `RoutingTable` (the first `[[mqtt]]` whose subscriptions take the
topic: a line does not say which broker it came from); a serial line is read
as the port of that name says, or the `[[command]]` of that name (its output is
read as a port's lines).  State carries across lines, as it does in a running server.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import json
import math
import re
import time
from collections.abc import Iterable, Iterator
from typing import Any

from telemetry.config import Config, make_normalizer
from telemetry.model import Outcome, RawMessage, Route
from telemetry.routing import RoutingTable
from telemetry.sse import encode_json

_LINES = re.compile(rb"\r\n|\r|\n")


def _received(value: object) -> float:
    """The receive time an input line states (epoch seconds or ISO 8601 with a zone),
    or now, as a server would stamp it."""
    if value is None:
        return time.time()
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = float(value)
    elif isinstance(value, str):
        try:
            when = dt.datetime.fromisoformat(value.strip().replace("z", "Z"))
        except ValueError:
            raise ValueError(f"received {value[:40]!r} is not an ISO 8601 time") from None
        if when.tzinfo is None:
            raise ValueError(f"received {value[:40]!r} has no time zone; add Z or +01:00")
        seconds = when.timestamp()
    else:
        raise ValueError("received must be epoch seconds or an ISO 8601 time")
    if not math.isfinite(seconds) or not 0 <= seconds < 1e11:
        raise ValueError(f"received {value!r} is not a time in epoch seconds")
    return seconds


class MessageReader:
    """Input lines of the `parse` shape into raw messages, routed as the server would.

    `telemetry parse` reads with it, and so does HTTP ingest (`POST /api/ingest`),
    whose messages carry its own `source` name instead of the broker's or port's.
    """

    def __init__(self, config: Config, source: str | None = None) -> None:
        self.config = config
        self.source = source
        self.tables = [RoutingTable(broker.name, broker.subscribe) for broker in config.mqtt]

    def _named(self, route: Route) -> Route:
        if self.source is None or route.source == self.source:
            return route
        return dataclasses.replace(route, source=self.source)

    def _mqtt_route(self, topic: str) -> Route:
        for table in self.tables:
            if (route := table.route(topic)) is not None:
                return self._named(route)
        # No subscription takes it (or there is no config): read it with `auto` and
        # no template, to show what the payload holds (a server counts it unrouted).
        return Route(self.source or "parse", "mqtt")

    def _serial_route(self, port: str) -> Route:
        for serial in self.config.serial:
            if port in (serial.name, serial.port):
                return self._named(serial.route)
        for command in self.config.command:  # its output is read as a port's lines
            if port == command.name:
                return self._named(command.route)
        return Route(self.source or port, "serial", device=port)

    def messages(self, item: dict[str, Any], now: float | None = None) -> list[RawMessage]:
        """The raw messages one input line stands for, routed as the server would;
        received at `now` when given (else at the line's `received`, or now)."""
        if "payload_b64" in item:
            if not isinstance(item["payload_b64"], str):
                raise ValueError("payload_b64 must be a base64 string")
            try:
                payload = base64.b64decode(item["payload_b64"], validate=True)
            except (binascii.Error, ValueError):
                raise ValueError("payload_b64 is not base64") from None
        elif isinstance(item.get("payload"), str):
            payload = item["payload"].encode("utf-8", "surrogatepass")
        else:
            raise ValueError('expected "payload" (a string) or "payload_b64"')
        if now is None:
            now = _received(item.get("received"))
        transport = item.get("transport")
        if transport == "mqtt":
            topic = item.get("topic")
            if not isinstance(topic, str) or not topic:
                raise ValueError('expected "topic", a non-empty string')
            return [RawMessage(self._mqtt_route(topic), topic, payload, now)]
        if transport == "serial":
            port = item.get("port")
            if not isinstance(port, str) or not port:
                raise ValueError('expected "port", a non-empty string')
            route = self._serial_route(port)
            return [RawMessage(route, port, line, now) for line in _LINES.split(payload) if line]
        raise ValueError('expected "transport": "mqtt" or "serial"')

    def line(self, line: str | bytes, now: float | None = None) -> list[RawMessage]:
        """The messages of one JSON input line; ValueError saying what is wrong."""
        try:
            item = json.loads(line)
        except RecursionError:
            raise ValueError("JSON nested too deeply") from None
        if not isinstance(item, dict):
            raise ValueError("expected a JSON object")
        return self.messages(item, now)


def outcome_json(outcome: Outcome) -> dict[str, Any]:
    """One message's readings and errors as `telemetry parse` prints them."""
    return {
        "readings": [
            {
                "device": r.device,
                "sensor": r.sensor,
                "value": r.value,
                "unit": r.unit,
                "timestamp": r.ts if r.device_ts else None,
            }
            for r in outcome.readings
        ],
        "errors": [str(e) for e in outcome.errors],
    }


def json_line(out: dict[str, Any]) -> str:
    """`out` as one line of JSON, also when a string holds a lone surrogate."""
    text = encode_json(out)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate from a \ud800 escape
            text = json.dumps(json.loads(text), separators=(",", ":"))
    return text


class ParseTool:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.normalizer = make_normalizer(config.limits)
        self.reader = MessageReader(config)

    def run_line(self, line: str, number: int) -> dict[str, Any]:
        out: dict[str, Any] = {"readings": [], "errors": []}
        try:
            messages = self.reader.line(line)
        except ValueError as exc:  # json.JSONDecodeError is a ValueError
            out["errors"].append(f"input line {number}: {exc}")
            return out
        for msg in messages:
            part = outcome_json(self.normalizer.normalize(msg))
            out["readings"].extend(part["readings"])
            out["errors"].extend(part["errors"])
        return out

    def run(self, lines: Iterable[str]) -> Iterator[str]:
        for number, line in enumerate(lines, start=1):
            yield json_line(self.run_line(line, number))
