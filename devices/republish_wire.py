"""The republished reading on the wire: its topic, its JSON payload, and (for QoS 0)
the whole MQTT PUBLISH packet, built in this one place.  Pure: no socket, no paho.

Topic `<prefix>/<device>/<sensor>` (`+` and `#` in names made `_`); payload
`{"v":21.5,"ts":1765090000.123,"u":"°C","kind":"number"}` (UTF-8 JSON, `u` null
without a unit, `ts` epoch seconds to the millisecond; the value and the time
side by side, so each reading's two numbers are formatted in one go).

A series' `Form` holds everything of its messages that does not change from one
reading to the next (the topic, and the payload after the value and the time),
made once per series, unit and kind; each reading then adds two numbers.  The
QoS 0 packets of many readings are joined into one write (`packets`): at a few
hundred readings a second, paho's own `publish` (a message object, a wake-up of
its network thread and a write per message) cost the server more than all the
rest of its work on those readings.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import NamedTuple

from telemetry.outputs import OutPoint

_WILD = str.maketrans({"+": "_", "#": "_"})
PUBLISH, RETAIN = 0x30, 0x01


def series_topic(prefix: str, device: str, sensor: str) -> str:
    return f"{prefix}/{device.translate(_WILD)}/{sensor.translate(_WILD)}"


def remaining_length(n: int) -> bytes:
    """MQTT's variable byte integer: seven bits a byte, least significant first."""
    out = bytearray()
    while True:
        n, byte = n >> 7, n & 0x7F
        out.append(byte | 0x80 if n else byte)
        if not n:
            return bytes(out)


class Form(NamedTuple):
    """What a series' messages share, for one unit and kind."""

    topic: str
    first: int  # the PUBLISH packet's first byte: QoS 0, retained or not
    lead: bytes  # the topic's length and bytes (MQTT 5: no properties), then `{"v":`
    tail: bytes  # `,"u":...,"kind":"..."}`
    fixed: int  # len(lead) + len(tail)


def form(topic: str, unit: str | None, kind: str, *, retain: bool, v5: bool) -> Form:
    name = topic.encode("utf-8", "surrogateescape")
    lead = len(name).to_bytes(2, "big") + name + (b"\x00" if v5 else b"") + b'{"v":'
    shown = "null" if unit is None else json.dumps(unit, ensure_ascii=False)
    tail = f',"u":{shown},"kind":{json.dumps(kind)}}}'.encode("utf-8", "surrogateescape")
    first = PUBLISH | (RETAIN if retain else 0)
    return Form(topic, first, lead, tail, len(lead) + len(tail))


def _numbers(point: OutPoint) -> bytes | None:
    """`V,"ts":T`: the value and the time (to the millisecond), or None for a value
    JSON cannot hold (NaN, infinity)."""
    value = point.value
    if value.__class__ is not float:
        value = float(value)  # a numpy float's repr is not JSON's
    if value - value != 0.0:
        return None
    return f'{value!r},"ts":{point.ts:.3f}'.encode()


def payload(f: Form, point: OutPoint) -> bytes | None:
    """The reading's payload; None for a value JSON cannot hold (NaN, infinity)."""
    numbers = _numbers(point)
    return None if numbers is None else b'{"v":' + numbers + f.tail


_HEADS: dict[int, bytes] = {}  # (first byte << 16 | remaining length) -> the fixed header


def _head(first: int, n: int) -> bytes:
    key = first << 16 | n
    head = _HEADS.get(key)
    if head is None:
        head = bytes((first,)) + remaining_length(n)
        if len(_HEADS) < 4096:
            _HEADS[key] = head
    return head


def packets(items: Iterable[tuple[Form, OutPoint | None]]) -> tuple[bytes, int, int]:
    """QoS 0 PUBLISH packets, one after the other: (bytes, how many, how many refused
    for a value JSON cannot hold).  A None point is an empty retained message:
    the topic's retained value cleared.  (`_numbers` and `_head` written out: this
    runs for every reading republished.)"""
    parts: list[bytes] = []
    add = parts.extend
    heads = _HEADS
    count = refused = 0
    for f, point in items:
        if point is None:
            topic_part = f.lead[: -len(b'{"v":')]
            add((_head(PUBLISH | RETAIN, len(topic_part)), topic_part))
            count += 1
            continue
        value = point.value
        if value.__class__ is not float:
            value = float(value)
        if value - value != 0.0:
            refused += 1
            continue
        numbers = f'{value!r},"ts":{point.ts:.3f}'.encode()
        n = f.fixed + len(numbers)
        head = heads.get(f.first << 16 | n) or _head(f.first, n)
        add((head, f.lead, numbers, f.tail))
        count += 1
    return b"".join(parts), count, refused
