"""`[[output.mqtt]]` in a running server: readings republished to a real mosquitto
with Home Assistant discovery, a series deleted through `DELETE /api/series/{id}`
emptied on the broker, the output's state and counters in `/api/series`,
`/metrics` and `/healthz`, and a broker that is not there shown as failing while
ingest goes on."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from simulators.broker import Broker, free_port
from telemetry.config import Config, parse_config
from telemetry.model import RawMessage, Route
from tests.harness import hass
from tests.harness.http import fetch
from tests.harness.mqtt_watch import Watcher
from tests.harness.server import RunningServer, StartServer
from tests.harness.waiting import wait_until

ROUTE = Route("test", "mqtt", "number", template="{device}/{sensor...}")


def config(url: str, extra: str = "") -> Config:
    return parse_config(
        '[server]\nname = "pi-web"\n'
        f'[[mqtt]]\nname = "home"\nurl = "{url}"\n[[mqtt.subscribe]]\ntopic = "in/#"\n'
        '[[output.mqtt]]\nname = "ha"\nmqtt = "home"\nprefix = "web/pi"\n'
        'discovery = true\ndiscovery_prefix = "web/ha"\n' + extra,
        {},
    )


def put(server: RunningServer, *readings: tuple[str, str]) -> None:
    now = time.time()
    server.runtime.inbox.put_many(
        [RawMessage(ROUTE, topic, value.encode(), now) for topic, value in readings]
    )


def api(server: RunningServer, path: str, method: str = "GET") -> tuple[int, Any]:
    status, body, _ = fetch(server.url + path, method)
    return status, json.loads(body) if body else None


def metrics(server: RunningServer) -> dict[str, float]:
    with urllib.request.urlopen(server.url + "metrics", timeout=5) as response:
        text = response.read().decode()
    return {
        f"{s.name}:{s.labels.get('output')}": s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
        if s.name.startswith("telemetry_output_")
    }


def test_server_republishes_with_discovery_and_empties_a_deleted_series(
    mosquitto: Broker, start_server: StartServer, watch: Any
) -> None:
    w: Watcher = watch(mosquitto, "web/#")
    server = start_server(config(mosquitto.url), sources=())
    put(server, ("garage/temp", "21.5"), ("garage/humidity", "40"))
    state = w.wait_for("web/pi/garage/temp")
    assert json.loads(state.payload)["v"] == 21.5
    w.wait_for("web/pi/status", b"online")

    def discovered() -> dict[str, bytes] | None:
        found = {t: p for t, p in w.last().items() if t.startswith("web/ha/")}
        return found if len(found) == 3 else None

    configs = wait_until(discovered, what="two series' configs and the instance's")
    for topic, data in configs.items():
        hass.check(topic, data)
    temp_topic = next(t for t, p in configs.items() if b'"web/pi/garage/temp"' in p)

    assert api(server, "api/series")[0] == 200
    body = api(server, "api/series")[1]
    (output,) = body["outputs"]
    assert (output["name"], output["type"], output["state"]) == ("ha", "mqtt", "ok")
    wait_until(lambda: api(server, "api/series")[1]["outputs"][0]["sent"] == 2, what="2 sent")
    found = metrics(server)
    assert found["telemetry_output_sent_total:ha"] == 2.0
    assert found["telemetry_output_failing:ha"] == 0.0
    assert api(server, "healthz")[1]["outputs"] == []

    assert api(server, "api/series/garage%2Ftemp", "DELETE")[0] == 204
    wait_until(lambda: w.last().get(temp_topic) == b"", what="the config emptied")
    wait_until(lambda: w.last().get("web/pi/garage/temp") == b"", what="the state cleared")
    assert w.last()["web/pi/garage/humidity"] != b""

    server.stop()
    w.wait_for("web/pi/status", b"offline")
    after: Watcher = watch(mosquitto, "web/pi/status")
    assert after.wait_for("web/pi/status", b"offline").retain


def test_server_output_to_an_absent_broker_is_failing_and_ingest_goes_on(
    start_server: StartServer,
) -> None:
    server = start_server(config(f"mqtt://127.0.0.1:{free_port()}", "queue = 10\n"), sources=())
    put(server, *((f"dev/s{i}", str(i)) for i in range(30)))
    wait_until(lambda: len(api(server, "api/series")[1]["series"]) == 30, what="30 stored")
    health = wait_until(
        lambda: (h := api(server, "healthz")[1])["outputs"] and h, what="the output failing"
    )
    assert health["status"] == "degraded"
    (failing,) = health["outputs"]
    assert (failing["output"], failing["state"]) == ("ha", "failing")
    assert "cannot connect" in failing["last_error"]
    assert (failing["queued"], failing["dropped"]) == (10, 20)
    found = metrics(server)
    assert found["telemetry_output_failing:ha"] == 1.0
    assert found["telemetry_output_dropped_total:ha"] == 20.0
    assert found["telemetry_output_queued:ha"] == 10.0
