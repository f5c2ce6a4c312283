"""`GET /api/alerts` and the stream's `alert` event, on a real uvicorn, with readings
through a real mosquitto."""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from simulators.broker import Broker
from telemetry.config import (
    AuthConfig,
    Config,
    HistoryConfig,
    MqttConfig,
    Subscription,
    parse_config,
)
from tests.core.test_config_alerts import FREEZER as FREEZER_10M
from tests.harness.broker import MosquittoFactory
from tests.harness.credentials import TOKEN, credentials_file
from tests.harness.http import fetch
from tests.harness.mqtt_reader import send
from tests.harness.server import StartServer
from tests.harness.sse_client import SSEClient
from tests.harness.waiting import wait_until
from tests.web.test_series_api import put

FREEZER = FREEZER_10M.replace('"10m"', '"1s"')  # the same rule, at a test's pace


def alerts(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    status, body, _ = fetch(url + "api/alerts", "GET", headers)
    return status, json.loads(body)


def firing(url: str, series: str) -> dict[str, Any] | None:
    """The state of the rule on `series` when it is firing."""
    found = [s for s in alerts(url)[1]["states"] if s["series"] == series]
    return found[0] if found and found[0]["state"] == "firing" else None


def with_broker(config: Config, broker: Broker) -> Config:
    subscription = Subscription(topic="a1/#", template="a1/{device}/{sensor...}", format="number")
    mqtt = MqttConfig(name="home", host=broker.host, port=broker.port, subscribe=(subscription,))
    return dataclasses.replace(config, mqtt=(mqtt,))


@pytest.mark.broker
def test_alert_fires_after_for_and_clears_with_hysteresis_through_a_real_broker(
    start_server: StartServer, mosquitto_factory: MosquittoFactory
) -> None:
    broker = mosquitto_factory()
    server = start_server(with_broker(parse_config(FREEZER), broker), None)
    topic = "a1/freezer/temperature"
    wait_until(lambda: server.runtime.statuses()[0].state == "connected", what="connected")
    with SSEClient(server.url + "events", timeout=20) as client:
        opened = client.until("alert").json()
        assert opened == {"full": True, "alerts": []}
        send(broker, topic, b"-14")  # above -15: pending, firing a second later
        assert client.until("alert").json()["alerts"][0]["state"] == "pending"
        firing = client.until("alert", timeout=10).json()["alerts"][0]
        assert (firing["state"], firing["value"]) == ("firing", -14.0)
        send(broker, topic, b"-16")  # below -15 but not at -17: still firing
        send(broker, topic, b"-17.5")
        resolved = client.until("alert", timeout=10).json()["alerts"][0]
        assert (resolved["rule"], resolved["series"]) == ("freezer-warm", "freezer/temperature")
        assert (resolved["state"], resolved["value"]) == ("resolved", -17.5)
    status, body = alerts(server.url)
    assert status == 200
    assert [(c["state"], c["value"]) for c in body["changes"]] == [
        ("pending", -14.0),
        ("firing", -14.0),
        ("resolved", -17.5),
    ]
    (state,) = body["states"]
    assert (state["rule"], state["series"], state["state"]) == (
        "freezer-warm",
        "freezer/temperature",
        "resolved",
    )
    assert state["since"] <= time.time()


def test_alert_stale_fires_on_the_timer_with_no_readings_and_a_resuming_stream_gets_it(
    start_server: StartServer,
) -> None:
    config = parse_config('[[alert]]\nname = "quiet"\nmatch = "attic/temp"\nstale = "1s"\n')
    server = start_server(config)
    wait_until(
        lambda: [s["state"] for s in alerts(server.url)[1]["states"]] == ["firing"],
        timeout=10,
        what="the stale alert firing",
    )
    headers = {"Last-Event-ID": f"{server.runtime.hub.boot_id}-0"}
    with SSEClient(server.url + "events", headers) as client:
        (raised,) = client.until("alert").json()["alerts"]
    assert (raised["rule"], raised["series"], raised["state"]) == ("quiet", "attic/temp", "firing")


def test_api_alerts_is_behind_auth_like_the_other_endpoints(
    start_server: StartServer, tmp_path: Path
) -> None:
    config = dataclasses.replace(
        parse_config(FREEZER), auth=AuthConfig(file=str(credentials_file(tmp_path)))
    )
    server = start_server(config)
    status, _, _ = fetch(server.url + "api/alerts")
    assert status == 401
    status, body = alerts(server.url, {"Authorization": f"Bearer {TOKEN}"})
    assert (status, body) == (200, {"states": [], "changes": [], "refused": 0, "sinks": []})


def test_no_alert_storm_across_a_restart_with_persistence(
    start_server: StartServer, tmp_path: Path
) -> None:
    history = HistoryConfig(file=str(tmp_path / "history.db"), commit_interval=3600.0)
    text = FREEZER_10M.replace('"10m"', '"0s"') + (
        '[[alert]]\nname = "quiet"\nmatch = "attic/temp"\nstale = "1h"\n'
    )
    config = dataclasses.replace(parse_config(text), history=history)
    first = start_server(config)
    put(first, ("freezer/temperature", "-10"), ("attic/temp", "12"))
    fired = wait_until(lambda: firing(first.url, "freezer/temperature"), what="firing")
    first.stop()  # the final save

    second = start_server(config)
    with SSEClient(second.url + "events") as client:
        (still,) = client.until("alert").json()["alerts"]  # the opening: firing, as it was
        assert (still["rule"], still["state"], still["since"]) == (
            "freezer-warm",
            "firing",
            fired["since"],
        )
        put(second, ("freezer/temperature", "-12"))  # still holds: no change, no event
        client.until("readings")
        put(second, ("freezer/temperature", "-18"))
        (resolved,) = client.until("alert").json()["alerts"]
        assert resolved["state"] == "resolved"
    _, body = alerts(second.url)
    assert [c["state"] for c in body["changes"]] == ["resolved"]  # nothing fired again
    assert {s["series"]: s["state"] for s in body["states"]} == {
        "freezer/temperature": "resolved",
        "attic/temp": "ok",  # its saved last reading is old: stale counts from the start
    }


def test_metrics_count_alert_states_and_refusals(start_server: StartServer) -> None:
    text = FREEZER_10M.replace('"10m"', '"0s"').replace('"freezer/temperature"', '"*"')
    server = start_server(parse_config(text))
    server.runtime.pipeline.alerts.max_states = 2  # the cap, small enough to reach here
    put(server, ("freezer/temperature", "-10"), ("fridge/temperature", "4"), ("a/b", "-20"))
    wait_until(lambda: firing(server.url, "freezer/temperature"), what="firing")
    _, body, _ = fetch(server.url + "metrics")
    samples = {
        (s.name, s.labels.get("state")): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
        if s.name.startswith("telemetry_alert")
    }
    assert samples == {
        ("telemetry_alerts", "ok"): 0.0,
        ("telemetry_alerts", "pending"): 0.0,
        ("telemetry_alerts", "firing"): 2.0,
        ("telemetry_alerts", "resolved"): 0.0,
        ("telemetry_alert_states_refused_total", None): 1.0,
    }
