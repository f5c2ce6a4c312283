"""`GET /metrics` against a real uvicorn: every family, live counters, no device strings."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import urllib.request

from prometheus_client.metrics_core import Metric
from prometheus_client.parser import text_string_to_metric_families

from simulators import signals
from simulators.inprocess import SimSensor, SimulatedSource
from telemetry.config import Config
from telemetry.model import RawMessage, Route
from tests.harness.server import RunningServer, StartServer
from tests.harness.sse_client import SSEClient
from tests.harness.waiting import wait_until

FAMILIES = {
    "telemetry_messages_received": "counter",
    "telemetry_readings_stored": "counter",
    "telemetry_inbox_dropped": "counter",
    "telemetry_rejected": "counter",
    "telemetry_reader_state": "gauge",
    "telemetry_reader_reconnects": "counter",
    "telemetry_reader_received": "counter",
    "telemetry_series": "gauge",
    "telemetry_series_stale": "gauge",
    "telemetry_series_refused": "counter",
    "telemetry_series_deleted": "counter",
    "telemetry_sse_clients": "gauge",
    "telemetry_sse_frames": "counter",
    "telemetry_sse_resumed": "counter",
    "telemetry_sse_resets": "counter",
    "telemetry_sse_coalesced": "counter",
    "telemetry_sse_cut": "counter",
    "telemetry_sse_refused": "counter",
    "telemetry_http_errors": "counter",
    "telemetry_event_loop_lag_seconds": "gauge",
    "telemetry_event_loop_lag_max_seconds": "gauge",
    "telemetry_event_loop_tasks": "gauge",
    "telemetry_history_bytes": "gauge",
    "telemetry_history_points": "gauge",
}
ROUTE = Route("evil", "mqtt", "number", template="{device}/{sensor...}")


def _scrape_text(server: RunningServer) -> str:
    with urllib.request.urlopen(server.url + "metrics", timeout=5) as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=")
        body: bytes = response.read()
    return body.decode("utf-8")


def _scrape(server: RunningServer) -> dict[str, Metric]:
    return {family.name: family for family in text_string_to_metric_families(_scrape_text(server))}


def _value(families: dict[str, Metric], name: str, **labels: str) -> float:
    family = families[name]
    suffix = "_total" if family.type == "counter" else ""
    values = [
        s.value
        for s in family.samples
        if s.name == name + suffix and all(s.labels.get(k) == v for k, v in labels.items())
    ]
    assert values, f"no sample of {name} with {labels}"
    return sum(values)


def _put(server: RunningServer, topic: str, payload: bytes) -> None:
    server.runtime.inbox.put(RawMessage(ROUTE, topic, payload, time.time()))


def _sim() -> SimulatedSource:
    return SimulatedSource(
        "sim", [SimSensor("room", "temperature", "°C", 0.1, signals.sine(21.0, 1.0, 10.0))]
    )


def test_metrics_has_every_family_with_its_type(start_server: StartServer) -> None:
    server = start_server(Config(), [_sim()])
    _put(server, "boiler/temperature", b"nan")  # one rejection, so that family has a sample
    wait_until(lambda: server.runtime.pipeline.rejected["not_a_number"], what="the rejection")
    families = _scrape(server)
    assert {name: families[name].type for name in FAMILIES if name in families} == FAMILIES
    state = {
        s.labels["state"]: s.value
        for s in families["telemetry_reader_state"].samples
        if s.labels["source"] == "sim"
    }
    assert state == {"connecting": 0, "connected": 1, "disconnected": 0, "stopped": 0}
    assert _value(families, "telemetry_rejected", source="evil", reason="not_a_number") == 1
    assert _value(families, "telemetry_sse_refused", reason="too_many_clients") == 0


def test_metrics_counters_move_with_traffic(start_server: StartServer) -> None:
    server = start_server()
    _put(server, "boiler/temperature", b"20.5")
    wait_until(lambda: server.runtime.pipeline.accepted >= 1, what="the first reading")
    before = _scrape(server)
    with SSEClient(server.url + "events") as client:
        client.until("catalog")
        for i in range(5):
            _put(server, "boiler/temperature", f"{21 + i}".encode())
        client.until("readings")
        wait_until(lambda: server.runtime.pipeline.accepted >= 6, what="the readings stored")
        during = _scrape(server)
        assert _value(during, "telemetry_sse_clients") == 1
    after = _scrape(server)

    received = "telemetry_messages_received"
    assert _value(during, received) - _value(before, received) == 5
    stored = "telemetry_readings_stored"
    assert _value(during, stored) - _value(before, stored) == 5
    assert _value(during, "telemetry_sse_frames") > _value(before, "telemetry_sse_frames")
    assert _value(during, "telemetry_history_points") == 6
    assert _value(during, "telemetry_history_bytes") > 0
    assert _value(during, "telemetry_series") == 1
    assert _value(before, "telemetry_sse_clients") == 0
    wait_until(lambda: not server.runtime.hub.clients, what="the stream released")
    assert _value(_scrape(server), "telemetry_sse_clients") == 0
    assert _value(after, stored) == _value(during, stored)


def test_metrics_never_carry_a_device_string(start_server: StartServer) -> None:
    server = start_server()
    hostile = ['x"} 1\nfake_metric 2', 'y"} 1 fake_metric{a="b"} 2', "z\\ fake_metric"]
    for device in hostile:
        _put(server, f"{device}/t", b"7.5")
        _put(server, f"{device}/u", b"not a number")
    wait_until(lambda: len(server.runtime.pipeline.store.series) == 3, what="the series")

    text = _scrape_text(server)
    assert "fake_metric" not in text
    assert all(f"{device}/t" not in text for device in hostile)
    families = _scrape(server)  # and it still parses
    assert "fake_metric" not in families
    assert _value(families, "telemetry_series") == 3
    labels = {
        value for family in families.values() for s in family.samples for value in s.labels.values()
    }
    assert not any("fake" in value or "\n" in value for value in labels)


def test_metrics_loop_lag_is_small_on_an_idle_server(start_server: StartServer) -> None:
    server = start_server()
    wait_until(
        lambda: server.runtime.looplag.measured >= 2,
        timeout=6,
        what="two measurements (one every two seconds)",
    )
    families = _scrape(server)
    assert 0 <= _value(families, "telemetry_event_loop_lag_seconds") < 0.5
    assert 0 <= _value(families, "telemetry_event_loop_lag_max_seconds") < 0.5


def test_metrics_event_loop_tasks_follow_open_streams_and_come_back(
    start_server: StartServer,
) -> None:
    server = start_server()
    wait_until(lambda: server.runtime.looplag.measured >= 1, what="the runtime's tasks running")
    idle = _value(_scrape(server), "telemetry_event_loop_tasks")
    assert idle >= 2  # the hub's tick and this scrape's own request, at least

    clients = [SSEClient(server.url + "events") for _ in range(3)]
    try:
        for client in clients:
            client.until("catalog")
        # Each stream holds its request's task and its disconnect watcher.
        assert _value(_scrape(server), "telemetry_event_loop_tasks") >= idle + 3
    finally:
        for client in clients:
            client.close()
    wait_until(lambda: not server.runtime.hub.clients, what="the streams released")
    wait_until(
        lambda: _value(_scrape(server), "telemetry_event_loop_tasks") == idle,
        what="the task count back where it was",
    )


def test_metrics_of_two_servers_in_one_process_are_their_own(start_server: StartServer) -> None:
    first, second = start_server(), start_server()
    _put(first, "boiler/temperature", b"20.5")
    wait_until(lambda: first.runtime.pipeline.accepted == 1, what="the reading")
    assert _value(_scrape(first), "telemetry_readings_stored") == 1
    assert _value(_scrape(second), "telemetry_readings_stored") == 0


def test_a_device_clock_behind_is_counted_in_metrics_and_the_catalog(
    start_server: StartServer,
) -> None:
    server = start_server()
    route = Route("esp", "mqtt", "json", template="{device}/{sensor...}")
    received = time.time()
    behind = received - 5 * 3600  # a clock five hours behind: a zone read wrongly
    payload = json.dumps({"time": behind, "temperature": 21.5}).encode()
    server.runtime.inbox.put(RawMessage(route, "esp32/climate", payload, received))
    wait_until(lambda: server.runtime.pipeline.accepted >= 1, what="the reading")

    assert _value(_scrape(server), "telemetry_rejected", source="esp", reason="clock_behind") == 1
    with urllib.request.urlopen(server.url + "api/series", timeout=5) as response:
        catalog = json.load(response)
    assert catalog["rejected_by_source"]["esp"] == {"clock_behind": 1}
    (entry,) = catalog["series"]
    # Stored at the receive time, so it is on the chart now, not five hours back.
    assert (entry["id"], entry["last_value"], entry["last_ts"]) == (
        "esp32/climate/temperature",
        21.5,
        received,
    )


def test_prometheus_client_is_imported_only_when_metrics_are_first_scraped() -> None:
    """A server nobody scrapes does not hold the library (a few MB of a Pi's memory)."""
    code = (
        "import sys, telemetry.cli, telemetry.server; from web.app import create_app; "
        "from telemetry.config import Config; from telemetry.runtime import Runtime; "
        "create_app(Runtime(Config())); print('prometheus_client' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "False"
