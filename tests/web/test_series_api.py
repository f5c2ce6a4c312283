"""`/api/series` with the `[[series]]` display keys, `drop` counted, `/api/page`, and
`DELETE /api/series/{id}`."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from telemetry.config import AuthConfig, Config, HistoryConfig, PageConfig, SeriesRule
from telemetry.model import RawMessage, Route
from tests.harness.credentials import TOKEN, credentials_file
from tests.harness.http import fetch
from tests.harness.server import RunningServer, StartServer
from tests.harness.sse_client import SSEClient
from tests.harness.waiting import wait_until

ROUTE = Route("test", "mqtt", "number", template="{device}/{sensor...}")


def get(url: str, method: str = "GET", headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, body, _ = fetch(url, method, headers)
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


def _stored(server: RunningServer, *ids: str) -> None:
    wait_until(lambda: set(ids) <= set(catalog(server)), what=f"{ids} stored")


def test_delete_series_removes_it_its_history_and_its_stream_entry(
    start_server: StartServer,
) -> None:
    server = start_server(Config())
    put(server, ("kitchen/temp", "21"), ("hall/temp", "19"))
    _stored(server, "kitchen/temp", "hall/temp")
    with SSEClient(server.url + "events") as stream:
        assert stream.until("catalog").json()["full"] is True
        assert get(server.url + "api/series/kitchen%2Ftemp", "DELETE") == (204, None)
        change = stream.until("catalog").json()
        assert change == {"full": False, "series": [], "removed": ["kitchen/temp"]}
        put(server, ("hall/temp", "20"))
        assert set(stream.until("readings").json()["series"]) == {"hall/temp"}
    assert set(catalog(server)) == {"hall/temp"}
    status, body = get(server.url + "api/history?series=kitchen/temp")
    assert (status, body["series"], body["unknown"]) == (200, {}, ["kitchen/temp"])
    # Gone: a second delete, and an id never seen, are 404.
    assert get(server.url + "api/series/kitchen/temp", "DELETE")[0] == 404
    assert get(server.url + "api/series/nobody/here", "DELETE")[0] == 404
    with urllib.request.urlopen(server.url + "metrics", timeout=5) as response:
        assert "telemetry_series_deleted_total 1.0" in response.read().decode()


def test_delete_series_a_resumed_stream_does_not_get_its_points_again(
    start_server: StartServer,
) -> None:
    server = start_server(Config())
    with SSEClient(server.url + "events") as stream:
        stream.until("catalog")
        put(server, ("kitchen/temp", "21"), ("hall/temp", "19"))
        first = stream.until("readings")
        assert set(first.json()["series"]) == {"kitchen/temp", "hall/temp"}
        put(server, ("hall/temp", "20"))
        stream.until("readings")
    assert get(server.url + "api/series/kitchen/temp", "DELETE")[0] == 204
    cursor = first.id
    assert cursor is not None
    before = cursor.rsplit("-", 1)[0] + "-" + str(int(cursor.rsplit("-", 1)[1]) - 1)
    with SSEClient(server.url + "events", headers={"Last-Event-ID": before}) as resumed:
        replayed = [resumed.until("readings").json()["series"] for _ in range(2)]
    assert [set(r) for r in replayed] == [{"hall/temp"}, {"hall/temp"}]


def test_delete_series_with_auth_needs_a_user_and_refuses_other_sites(
    start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server(Config(auth=AuthConfig(file=str(credentials_file(tmp_path)))))
    put(server, ("kitchen/temp", "21"))
    wait_until(lambda: "kitchen/temp" in server.runtime.pipeline.store.series)
    url = server.url + "api/series/kitchen/temp"
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert get(url, "DELETE")[0] == 401
    evil = {**bearer, "Origin": "http://evil.example", "Sec-Fetch-Site": "cross-site"}
    assert get(url, "DELETE", evil)[0] == 403
    assert get(url, "DELETE", {**bearer, "Origin": "null"})[0] == 403
    assert "kitchen/temp" in server.runtime.pipeline.store.series
    own = {**bearer, "Origin": server.url.rstrip("/"), "Sec-Fetch-Site": "same-origin"}
    assert get(url, "DELETE", own) == (204, None)
    assert "kitchen/temp" not in server.runtime.pipeline.store.series


def test_delete_series_is_saved_past_a_restart(start_server: StartServer, tmp_path: Path) -> None:
    history = HistoryConfig(file=str(tmp_path / "history.db"), commit_interval=3600.0)
    config = Config(history=history)
    first = start_server(config)
    put(first, ("kitchen/temp", "21"), ("hall/temp", "19"))
    _stored(first, "kitchen/temp", "hall/temp")
    first.stop()  # the final save: both series in the log
    second = start_server(config)
    assert set(catalog(second)) == {"kitchen/temp", "hall/temp"}
    assert get(second.url + "api/series/kitchen/temp", "DELETE")[0] == 204
    second.stop()
    third = start_server(config)
    assert set(catalog(third)) == {"hall/temp"}
