"""`/api/history` and `/api/export` against a real server with real stored points."""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

import pytest

from telemetry.config import Config, HistoryConfig
from telemetry.model import RawMessage, Route
from tests.harness.server import RunningServer, StartServer
from web.protocol import MAX_HEAD

ROUTE = Route("test", "mqtt", "number", template="{device}/{sensor...}")


def _get(url: str) -> tuple[int, bytes, dict[str, str]]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, error.read(), dict(error.headers)


def _json(url: str) -> tuple[int, Any]:
    status, body, _ = _get(url)
    return status, json.loads(body)


@pytest.fixture
def server(start_server: StartServer) -> RunningServer:
    """A server holding 3,000 points of a sawtooth with one spike, one second apart."""
    running = start_server(Config(history=HistoryConfig(raw_span=7200.0)))
    now = time.time()
    messages = []
    for i in range(3000):
        value = 5000.0 if i == 1234 else float(i % 100)
        messages.append(RawMessage(ROUTE, "rig/load", str(value).encode(), now - 3000 + i))
    messages.append(RawMessage(ROUTE, "=cmd|' -C calc'!A0/x", b"1", now))
    running.runtime.inbox.put_many(messages)
    deadline = time.monotonic() + 5
    while "rig/load" not in running.runtime.pipeline.store.series or (
        running.runtime.pipeline.store.series["rig/load"].count < 3000
    ):
        assert time.monotonic() < deadline, "the points were not stored"
        time.sleep(0.02)
    return running


def test_history_downsamples_to_the_points_asked_keeping_the_spike(server: RunningServer) -> None:
    now = time.time()
    status, body = _json(
        f"{server.url}api/history?series=rig/load&start={now - 4000}&end={now + 1}&points=200"
    )
    assert status == 200
    load = body["series"]["rig/load"]
    assert 0 < len(load["t"]) <= 200 and len(load["t"]) == len(load["v"])
    assert max(load["v"]) == 5000.0 and min(load["v"]) == 0.0
    assert load["t"] == sorted(load["t"])


def test_history_returns_every_point_when_they_fit(server: RunningServer) -> None:
    now = time.time()
    status, body = _json(
        f"{server.url}api/history?series=rig/load&start={now - 50.5}&end={now}&points=1000"
    )
    assert status == 200
    assert len(body["series"]["rig/load"]["v"]) == 50


@pytest.mark.parametrize(
    "query",
    [
        "series=rig/load&points=0",
        "series=rig/load&points=1000000000",
        "series=rig/load&points=abc",
        "series=rig/load&start=200&end=100",
        "series=rig/load&start=nan",
        "series=rig/load&end=inf",
        "series=rig/load&start=-5",
        "series=rig/load&start=0&end=99999999999",
        "",
        "&".join(["series=a"] * 1_000),
        "&".join(["series=a"] * 10_000),
    ],
)
def test_history_hostile_parameters_get_a_422_that_says_why(
    server: RunningServer, query: str
) -> None:
    started = time.monotonic()
    status, raw, _ = _get(f"{server.url}api/history?{query}")
    if status == 431:  # a request head over web.protocol.MAX_HEAD: refused before any route
        assert len(query) > MAX_HEAD
        return
    assert status == 422, raw[:200]
    body = json.loads(raw)
    assert body["parameter"] in ("series", "points", "start", "end")
    assert time.monotonic() - started < 5


def test_history_unknown_series_are_listed_not_an_error(server: RunningServer) -> None:
    status, body = _json(f"{server.url}api/history?series=nope/x&series=rig/load")
    assert status == 200
    assert body["unknown"] == ["nope/x"] and list(body["series"]) == ["rig/load"]


def test_export_csv_has_every_point_and_defuses_formulas(server: RunningServer) -> None:
    now = time.time()
    hostile = urllib.parse.quote("=cmd|' -C calc'!A0/x", safe="")
    status, body, headers = _get(
        f"{server.url}api/export?series=rig/load&series={hostile}"
        f"&start={now - 4000}&end={now + 1}&format=csv"
    )
    assert status == 200 and headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["series", "timestamp", "value"]
    load = [r for r in rows[1:] if r[0] == "rig/load"]
    assert len(load) == 3000 and float(load[1234][2]) == 5000.0
    assert [r[0] for r in rows[1:] if r[0] != "rig/load"] == ["'=cmd|' -C calc'!A0/x"]


def test_export_json_and_bad_format(server: RunningServer) -> None:
    now = time.time()
    status, body = _json(f"{server.url}api/export?series=rig/load&start={now - 4000}&format=json")
    assert status == 200 and len(body["rig/load"]) == 3000
    status, body = _json(f"{server.url}api/export?series=rig/load&format=xml")
    assert status == 422 and body["parameter"] == "format"


def test_history_older_than_the_raw_ring_comes_from_a_rollup_spike_kept(
    start_server: StartServer,
) -> None:
    running = start_server(Config(history=HistoryConfig(raw_span=60.0)))
    now = time.time()
    messages = [
        RawMessage(ROUTE, "rig/old", str(5000.0 if i == 100 else 1.0).encode(), now - 3000 + i)
        for i in range(3000)
    ]
    running.runtime.inbox.put_many(messages)
    deadline = time.monotonic() + 5
    while running.runtime.pipeline.store.series.get("rig/old") is None or (
        running.runtime.pipeline.store.series["rig/old"].count < 3000
    ):
        assert time.monotonic() < deadline, "the points were not stored"
        time.sleep(0.02)
    base = f"{running.url}api/history?series=rig/old&end={now + 1}"
    status, body = _json(f"{base}&start={now - 3100}&points=1000")
    assert status == 200
    old = body["series"]["rig/old"]
    assert old["from"] == "10s"  # 300 buckets of 10 s: 1,200 points, enough for 1,000
    assert max(old["v"]) == 5000.0 and old["t"][0] < now - 2900
    status, body = _json(f"{base}&start={now - 3100}&points=100")
    assert body["series"]["rig/old"]["from"] == "1m"
    status, body = _json(f"{base}&start={now - 30}&points=100")
    assert body["series"]["rig/old"]["from"] == "raw"
    assert len(body["series"]["rig/old"]["v"]) >= 29
