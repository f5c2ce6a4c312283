"""`telemetry.frames`: every event the server sends, through a parser that follows the spec.

`parse` is the WHATWG "event stream interpretation" algorithm (lines end at
CR, LF or CRLF; `field: value` with one optional space; `data` lines joined by
LF; an event dispatched at a blank line; comments ignored), as a browser's
EventSource runs it: what it gives is what the page sees.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

import pytest

from telemetry import frames
from telemetry.history import CatalogEntry
from telemetry.model import Availability
from telemetry.pipeline import TickPoint
from telemetry.sources import SourceStatus

_LINES = re.compile(r"\r\n|\r|\n")


@dataclass
class Parsed:
    name: str
    data: object
    id: str | None
    retry: int | None = None
    comments: list[str] = field(default_factory=list)


def parse(wire: bytes) -> tuple[list[Parsed], int | None, list[str]]:
    """The events a browser would dispatch, the last `retry`, and the comments."""
    text = wire.decode("utf-8")
    events: list[Parsed] = []
    name, last_id, retry = "", None, None
    data: list[str] = []
    comments: list[str] = []
    for line in _LINES.split(text):
        if line == "":
            if data:
                events.append(Parsed(name or "message", json.loads("\n".join(data)), last_id))
            name, data = "", []
            continue
        if line.startswith(":"):
            comments.append(line[1:].removeprefix(" "))
            continue
        key, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if key == "event":
            name = value
        elif key == "data":
            data.append(value)
        elif key == "id" and "\0" not in value:
            last_id = value
        elif key == "retry" and value.isdigit():
            retry = int(value)
    return events, retry, comments


def one(wire: bytes) -> Parsed:
    events, _, _ = parse(wire)
    assert len(events) == 1, events
    return events[0]


HOSTILE = "kitchen\n\nevent: reset\r\ndata: {}\r\r\u2028°C"


def entry(device: str = "kitchen", stale: bool = False) -> CatalogEntry:
    e = CatalogEntry(f"{device}/temp", device, "temp", "°C", "home", 90.0, 100.0, 21.5, 3)
    if stale:
        e.mark_stale()
    return e


def status(name: str = "home") -> SourceStatus:
    return SourceStatus(name, "mqtt", "connected", 50.0, received=7)


def test_hello_says_who_and_how_fast() -> None:
    got = one(frames.hello("boot1", 0.1, 1000, 64))
    assert got.name == "hello" and got.id is None
    assert got.data == {
        "server": "telemetry",
        "version": got.data["version"],  # type: ignore[index]
        "boot": "boot1",
        "tick": 100,
        "limits": {"max_series": 1000, "backlog": 64},
    }


def test_full_catalog_carries_series_with_age_sources_and_devices() -> None:
    got = one(
        frames.catalog(
            [entry(), entry(HOSTILE, stale=True)],
            [status()],
            [Availability("kitchen", False, 95.0)],
            now=110.0,
        )
    )
    assert got.name == "catalog"
    data = got.data
    assert isinstance(data, dict) and data["full"] is True
    assert [s["device"] for s in data["series"]] == ["kitchen", HOSTILE]
    assert data["series"][0] == {
        "id": "kitchen/temp",
        "name": None,
        "device": "kitchen",
        "sensor": "temp",
        "unit": "°C",
        "kind": "number",
        "source": "home",
        "sources": ["home"],
        "last_value": 21.5,
        "last_ts": 100.0,
        "count": 3,
        "stale": False,
        "hide": False,
        "chart": None,
        "age": 10.0,
    }
    assert data["series"][1]["stale"] is True
    assert data["sources"] == [frames.source(status())]
    assert data["sources"][0]["state"] == "connected" and data["sources"][0]["received"] == 7
    assert data["devices"] == [{"device": "kitchen", "online": False, "since": 95.0}]


def test_catalog_changes_are_not_full_and_have_no_age() -> None:
    got = one(frames.catalog_changes([entry(stale=True)]))
    assert got.name == "catalog"
    assert got.data == {"full": False, "series": [frames.series(entry(stale=True))]}
    assert isinstance(got.data, dict) and "age" not in got.data["series"][0]


def test_readings_carry_their_cursor_and_one_point_per_series() -> None:
    several = TickPoint(100.0, 2.0)
    several.add(100.5, 3.0)
    points = {"a/t": frames.point(TickPoint(99.0, 1.0)), HOSTILE: frames.point(several)}
    got = one(frames.readings(101.0, points, "boot1-7"))
    assert (got.name, got.id) == ("readings", "boot1-7")
    assert got.data == {"t": 101.0, "series": {"a/t": [99.0, 1.0], HOSTILE: [100.5, 3.0, 2.0, 3.0]}}


def test_status_names_what_changed_and_is_nothing_when_nothing_did() -> None:
    assert frames.status() == b""
    got = one(frames.status([status("cellar")], [Availability(HOSTILE, True, 5.0)]))
    assert got.name == "status"
    assert got.data == {
        "sources": [frames.source(status("cellar"))],
        "devices": [{"device": HOSTILE, "online": True, "since": 5.0}],
    }
    assert one(frames.status(devices=[Availability("d", False, 1.0)])).data == {
        "devices": [{"device": "d", "online": False, "since": 1.0}]
    }


def test_shutdown_is_the_last_status() -> None:
    assert one(frames.shutdown()).data == {"server": "shutdown"}


@pytest.mark.parametrize("reason", ["malformed", "restarted", "unknown", "expired"])
def test_reset_says_why(reason: str) -> None:
    got = one(frames.reset(reason))
    assert (got.name, got.data) == ("reset", {"reason": reason})


def test_retry_and_ping_dispatch_no_event() -> None:
    events, retry, comments = parse(frames.retry(3417) + frames.ping())
    assert (events, retry, comments) == ([], 3417, ["ping"])


def test_a_stream_opening_parses_into_its_events_in_order() -> None:
    wire = b"".join(
        [
            frames.retry(3000),
            frames.hello("b", 0.1, 10, 4),
            frames.catalog([entry(HOSTILE)], [], [], 100.0),
            frames.readings(100.0, {f"{HOSTILE}/temp": [100.0, 1.0]}, "b-1"),
            frames.reset("expired"),
        ]
    )
    events, retry, _ = parse(wire)
    assert retry == 3000
    assert [e.name for e in events] == ["hello", "catalog", "readings", "reset"]
    assert [e.id for e in events] == [None, None, "b-1", "b-1"]  # the last id carries on
