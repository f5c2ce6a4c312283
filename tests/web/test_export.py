"""`/api/export` as rows: every series without `series`, and NDJSON, on a real server."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from typing import Any

import pytest

from telemetry.config import Config, HistoryConfig
from telemetry.model import RawMessage, Route
from tests.harness.http import fetch as _get
from tests.harness.server import RunningServer, StartServer
from tests.harness.waiting import wait_until

ROUTE = Route("test", "mqtt", "number", template="{device}/{sensor...}")
HOSTILE = "=cmd|' -C calc'!A0"


def _epoch(text: str) -> float:
    assert text.endswith("Z")
    return dt.datetime.fromisoformat(text[:-1]).replace(tzinfo=dt.UTC).timestamp()


@pytest.fixture
def home(start_server: StartServer) -> tuple[RunningServer, float]:
    """Three series of 50 points each, one second apart, one with a hostile device."""
    running = start_server(Config(history=HistoryConfig(raw_span=3600.0, raw_points=100)))
    now = round(time.time()) - 100.0
    messages = []
    for i in range(50):
        t = now + i + 0.25
        messages += [
            RawMessage(
                ROUTE,
                "kitchen/temperature",
                f"{20 + i / 10} °C".encode(),
                t,
            ),
            RawMessage(ROUTE, "meter/power", str(100 + i).encode(), t),
            RawMessage(ROUTE, f"{HOSTILE}/x", b"1e-07", t),
        ]
    running.runtime.inbox.put_many(messages)
    store = running.runtime.pipeline.store
    wait_until(
        lambda: len(store.series) == 3 and all(s.entry.count == 50 for s in store.series.values())
    )
    return running, now


def _rows(server: RunningServer, query: str) -> list[dict[str, Any]]:
    status, body, head = _get(f"{server.url}api/export?{query}")
    assert status == 200, body
    if "format=ndjson" in query:
        assert head["content-type"] == "application/x-ndjson"
        return [json.loads(line) for line in body.decode().splitlines()]
    if "format=json" in query:
        got: list[dict[str, Any]] = json.loads(body)
        return got
    assert head["content-type"] == "text/csv; charset=utf-8"
    reader = csv.DictReader(io.StringIO(body.decode()))
    assert reader.fieldnames == ["series", "device", "sensor", "unit", "time", "value"]
    return [{**row, "unit": row["unit"] or None, "value": float(row["value"])} for row in reader]


@pytest.mark.parametrize("kind", ["csv", "json", "ndjson"])
def test_export_without_series_gives_every_series_in_range_with_names_and_iso_times(
    home: tuple[RunningServer, float], kind: str
) -> None:
    server, now = home
    rows = _rows(server, f"start={now + 10}&end={now + 19.5}&format={kind}")
    hostile = HOSTILE if kind != "csv" else "'" + HOSTILE  # a formula defused in CSV
    assert [(r["series"], r["device"], r["sensor"], r["unit"]) for r in rows[::10]] == [
        (f"{hostile}/x", hostile, "x", None),
        ("kitchen/temperature", "kitchen", "temperature", "°C"),
        ("meter/power", "meter", "power", None),
    ]
    assert len(rows) == 30
    kitchen = [r for r in rows if r["sensor"] == "temperature"]
    assert [_epoch(r["time"]) for r in kitchen] == [now + i + 0.25 for i in range(10, 20)]
    assert kitchen[0]["time"].endswith(".250000Z")
    assert [r["value"] for r in kitchen] == [20 + i / 10 for i in range(10, 20)]
    assert rows[0]["value"] == 1e-07


def test_export_ndjson_with_series_gives_their_rows_in_the_order_asked(
    home: tuple[RunningServer, float],
) -> None:
    server, now = home
    rows = _rows(
        server,
        f"series=meter/power&series=nobody/x&series=kitchen/temperature&start={now}&format=ndjson",
    )
    assert [r["series"] for r in rows[::50]] == ["meter/power", "kitchen/temperature"]
    assert len(rows) == 100


def test_export_with_series_keeps_its_csv_and_json_shapes(
    home: tuple[RunningServer, float],
) -> None:
    server, now = home
    status, body, _ = _get(f"{server.url}api/export?series=meter/power&start={now}&format=json")
    assert status == 200 and list(json.loads(body)) == ["meter/power"]
    status, body, _ = _get(f"{server.url}api/export?series=meter/power&start={now}")
    assert body.decode().splitlines()[:2] == [
        "series,timestamp,value",
        f"meter/power,{now + 0.25},100.0",
    ]


def test_export_without_series_over_the_cap_is_refused_before_anything_is_sent(
    start_server: StartServer,
) -> None:
    # The cap: 16 whole raw rings of 10 points = 160 points; 17 series of 10 are more.
    server = start_server(Config(history=HistoryConfig(raw_span=3600.0, raw_points=10)))
    now = round(time.time()) - 20.0
    server.runtime.inbox.put_many(
        [RawMessage(ROUTE, f"d{n}/s", b"1", now + i) for n in range(17) for i in range(10)]
    )
    store = server.runtime.pipeline.store
    wait_until(lambda: sum(s.entry.count for s in store.series.values()) == 170)
    status, body, _ = _get(f"{server.url}api/export?start={now - 1}&format=ndjson")
    assert status == 422
    problem = json.loads(body)
    assert problem["parameter"] == "start" and "160 points" in problem["error"]
    # A narrower range fits.
    status, body, _ = _get(f"{server.url}api/export?start={now + 5}&format=ndjson")
    assert status == 200 and len(body.splitlines()) == 17 * 5
    status, body, _ = _get(f"{server.url}api/export?format=xml")
    assert (
        status == 422
        and json.loads(body)["error"] == "format: 'xml' is not one of csv, json, ndjson"
    )
