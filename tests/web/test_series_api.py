"""`/api/series` with the `[[series]]` display keys, `drop` counted, and `/api/page`."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from telemetry.config import Config, PageConfig, SeriesRule
from telemetry.model import RawMessage, Route
from tests.harness.server import RunningServer, StartServer
from tests.harness.waiting import wait_until

ROUTE = Route("test", "mqtt", "number", template="{device}/{sensor...}")


def get(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            body = response.read()
            status = response.status
    except urllib.error.HTTPError as error:
        with error:
            body = error.read()
            status = error.code
    return status, json.loads(body) if body else None


def put(server: RunningServer, *readings: tuple[str, str]) -> None:
    now = time.time()
    server.runtime.inbox.put_many(
        [RawMessage(ROUTE, topic, value.encode(), now) for topic, value in readings]
    )


def catalog(server: RunningServer) -> dict[str, dict[str, Any]]:
    status, body = get(server.url + "api/series")
    assert status == 200
    return {s["id"]: s for s in body["series"]}


def test_api_series_shows_name_hide_and_chart_and_counts_dropped_readings(
    start_server: StartServer,
) -> None:
    rules = (
        SeriesRule("kitchen/temp", name="Kitchen", chart="Climate"),
        SeriesRule("hall/*", hide=True, chart="Climate"),
        SeriesRule("junk/*", drop=True),
    )
    server = start_server(Config(series=rules))
    put(server, ("kitchen/temp", "21"), ("hall/temp", "19"), ("junk/x", "1"), ("junk/y", "2"))
    wait_until(lambda: len(catalog(server)) == 2 and server.runtime.pipeline.rejected)
    shown = catalog(server)
    assert set(shown) == {"kitchen/temp", "hall/temp"}
    assert (shown["kitchen/temp"]["name"], shown["kitchen/temp"]["hide"]) == ("Kitchen", False)
    assert (shown["hall/temp"]["name"], shown["hall/temp"]["hide"]) == (None, True)
    assert shown["kitchen/temp"]["chart"] == shown["hall/temp"]["chart"] == "Climate"
    _, body = get(server.url + "api/series")
    assert body["rejected"] == {"dropped": 2}
    assert body["rejected_by_source"] == {"test": {"dropped": 2}}
    with urllib.request.urlopen(server.url + "metrics", timeout=5) as response:
        text = response.read().decode()
    samples = [
        s
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name == "telemetry_rejected_total" and s.labels["reason"] == "dropped"
    ]
    assert [(s.labels["source"], s.value) for s in samples] == [("test", 2.0)]


def test_api_page_serves_the_page_section(start_server: StartServer) -> None:
    page = PageConfig("24h", ("kitchen/*", "*/power"), "device")
    server = start_server(Config(page=page))
    assert get(server.url + "api/page") == (
        200,
        {"range": "24h", "series": ["kitchen/*", "*/power"], "group": "device"},
    )
    default = start_server(Config())
    assert get(default.url + "api/page") == (
        200,
        {"range": "1h", "series": [], "group": "quantity"},
    )
