"""`GET /healthz` against a real uvicorn: 503 naming what is wrong, 200 once it is not."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

import pytest

from simulators.broker import Broker
from telemetry.config import (
    Config,
    FilterSpec,
    MqttConfig,
    RecordConfig,
    SeriesRule,
    Subscription,
)
from telemetry.model import RawMessage, Route
from tests.harness.broker import MosquittoFactory
from tests.harness.server import RunningServer, StartServer
from tests.harness.waiting import wait_until

ROUTE = Route("bench", "mqtt", "number", template="{device}/{sensor...}")
KEEPALIVE = 5.0


def _health(server: RunningServer) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(server.url + "healthz", timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


def _health_when(server: RunningServer, status: int, timeout: float = 5.0, what: str = "") -> Any:
    """The body of the first `/healthz` answer with `status`, polled up to `timeout`."""

    def answer() -> Any:
        code, body = _health(server)
        return body if code == status else None

    return wait_until(answer, timeout, what=what or f"/healthz {status}")


def _put(server: RunningServer, topic: str) -> None:
    server.runtime.inbox.put(RawMessage(ROUTE, topic, b"21.5", time.time()))


def test_healthz_is_ok_with_no_reader_and_no_series(start_server: StartServer) -> None:
    status, body = _health(start_server())
    assert status == 200
    assert body == {
        "status": "ok",
        "problems": [],
        "sinks": [],
        "outputs": [],
        "stale_series": {"count": 0, "series": []},
    }


def test_healthz_names_a_stale_series_until_it_reports_again(start_server: StartServer) -> None:
    rule = SeriesRule(match="boiler/*", filters=(FilterSpec("stale", "2s"),))
    server = start_server(Config(series=(rule,)))
    _put(server, "boiler/temperature")
    wait_until(lambda: server.runtime.pipeline.store.series, what="the series")
    assert _health(server)[0] == 200

    body = _health_when(server, 503, timeout=6, what="the series stale")
    assert body["status"] == "degraded"
    assert body["problems"] == []
    (stale,) = body["stale_series"]["series"]
    assert body["stale_series"]["count"] == 1
    assert stale["id"] == "boiler/temperature"
    assert 2.0 <= stale["age"] < 10.0

    _put(server, "boiler/temperature")
    body = _health_when(server, 200)
    assert body["stale_series"] == {"count": 0, "series": []}


def test_healthz_lists_at_most_twenty_stale_series_with_their_count(
    start_server: StartServer,
) -> None:
    rule = SeriesRule(match="*", filters=(FilterSpec("stale", "1s"),))
    server = start_server(Config(series=(rule,)))
    for i in range(25):
        _put(server, f"sensor{i:02d}/temperature")
    body = wait_until(
        lambda: (h := _health_when(server, 503))["stale_series"]["count"] == 25 and h,
        timeout=6,
        what="all 25 stale",
    )
    assert len(body["stale_series"]["series"]) == 20


def _mqtt(broker: Broker) -> MqttConfig:
    subscription = Subscription(topic="h1/#", template="h1/{device}/{sensor...}", format="number")
    return MqttConfig(
        name="home",
        host=broker.host,
        port=broker.port,
        keepalive=KEEPALIVE,
        subscribe=(subscription,),
    )


@pytest.mark.broker
def test_healthz_names_the_mqtt_reader_while_its_broker_is_down(
    start_server: StartServer, mosquitto_factory: MosquittoFactory
) -> None:
    broker: Broker = mosquitto_factory()
    server = start_server(Config(mqtt=(_mqtt(broker),)), None)
    _health_when(server, 200, timeout=15, what="connected")

    broker.stop()
    body = _health_when(server, 503, timeout=KEEPALIVE, what="the broker gone")
    (problem,) = body["problems"]
    assert problem["source"] == "home"
    assert problem["state"] in ("connecting", "disconnected")
    assert problem["since"] > 0
    assert problem["last_error"]

    broker.start()
    _health_when(server, 200, timeout=20, what="reconnected")


def test_healthz_names_a_recording_stopped_by_a_full_disk(start_server: StartServer) -> None:
    server = start_server(Config(record=RecordConfig(file="/dev/full")))
    assert _health(server)[0] == 200
    _put(server, "boiler/temp")
    body = _health_when(server, 503, what="the recording failed")
    assert body["outputs"] == [
        {
            "output": "record",
            "type": "record",
            "state": "failing",
            "last_error": "[Errno 28] No space left on device",
            "queued": 0,
            "dropped": 0,
        }
    ]
