"""`[[output.influx]]` end to end (a real server writing to a real VictoriaMetrics,
through both write APIs) and `[output.prometheus]` in `/metrics`."""

from __future__ import annotations

import json
import time

from prometheus_client.parser import text_string_to_metric_families

from telemetry.config import Config
from telemetry.config.model import InfluxOutputConfig, OutputConfig, PrometheusOutputConfig
from telemetry.model import RawMessage, Route
from tests.harness.http import fetch
from tests.harness.server import RunningServer, StartServer
from tests.harness.victoria import VictoriaFactory
from tests.harness.waiting import wait_until

ROUTE = Route("home", "mqtt", template="{device}/{sensor...}")
T0 = float(int(time.time()) - 600) + 0.4567891


def _put(server: RunningServer, *messages: tuple[str, str, float]) -> None:
    server.runtime.inbox.put_many(
        [RawMessage(ROUTE, topic, payload.encode(), ts) for topic, payload, ts in messages]
    )


def _scrape(server: RunningServer) -> dict[str, list[tuple[dict[str, str], float]]]:
    status, body, _ = fetch(server.url + "metrics")
    assert status == 200
    return {
        f.name: [(dict(s.labels), s.value) for s in f.samples]
        for f in text_string_to_metric_families(body.decode())
    }


def test_the_server_writes_every_reading_to_victoria_through_v1_and_v2(
    start_server: StartServer, victoria_factory: VictoriaFactory
) -> None:
    db = victoria_factory()
    v1 = InfluxOutputConfig(name="v1", url=db.url, flush=0.1, tags=(("site", "garage"),))
    v2 = InfluxOutputConfig(
        name="v2",
        url=db.url,
        api="v2",
        org="home",
        bucket="pi",
        precision="s",
        measurement="seconds",
        match=("kitchen/*",),
        flush=0.1,
    )
    server = start_server(Config(output=OutputConfig(influx=(v1, v2))))
    _put(
        server,
        ("kitchen/temp", "21.5 °C", T0),
        ("kitchen/temp", "21.75", T0 + 1.5),
        ("garage/door", '{"open": true}', T0 + 2),
        ("garage/door", '{"open": false}', T0 + 3),
    )

    def both_sent() -> bool:
        sent = {o.name: o.sent for o in server.runtime.output_statuses()}
        return sent == {"v1": 4, "v2": 2}

    wait_until(both_sent, 10, what="4 points written by v1, 2 by v2")
    ms = int(T0) * 1000 + 456  # the millisecond precision truncates
    assert db.samples() == {
        (
            "telemetry_value",
            "db=telemetry",
            "device=kitchen",
            "sensor=temp",
            "site=garage",
            "unit=°C",
        ): [
            (ms, 21.5),
            (ms + 1500, 21.75),
        ],
        ("telemetry_value", "db=telemetry", "device=garage", "sensor=door/open", "site=garage"): [
            (ms + 2000, 1.0),
            (ms + 3000, 0.0),
        ],
        # v2 (VictoriaMetrics keeps no label for the bucket); the second precision truncates
        ("seconds_value", "device=kitchen", "sensor=temp", "unit=°C"): [
            (int(T0) * 1000, 21.5),
            (int(T0) * 1000 + 1000, 21.75),
        ],
    }
    status, body, _ = fetch(server.url + "api/series")
    assert status == 200
    outputs = {o["name"]: o for o in json.loads(body)["outputs"]}
    assert outputs["v1"]["state"] == "ok" and outputs["v1"]["sent"] == 4
    scraped = _scrape(server)
    assert ({"output": "v2", "type": "influx"}, 2.0) in scraped["telemetry_output_sent"]
    assert "telemetry_reading" not in scraped  # [output.prometheus] is off by default


def test_prometheus_exposes_the_last_values_of_matching_series_capped(
    start_server: StartServer,
) -> None:
    prom = PrometheusOutputConfig(match=("kitchen/*", 'we"ird*'), max_series=3)
    server = start_server(Config(output=OutputConfig(prometheus=prom)))
    now = time.time()
    _put(
        server,
        ("kitchen/temp", "21.5 °C", now),
        ("kitchen/temp", "22.5 °C", now + 0.1),
        ("kitchen/hum", "40 %", now),
        ('we"ird\\ dev/x y', "7", now),
        ("kitchen/co2", "400 ppm", now),
        ("garage/temp", "3", now),
    )
    wait_until(lambda: server.runtime.counters().series == 5, what="5 series")
    scraped = _scrape(server)
    assert scraped["telemetry_reading"] == [
        ({"device": "kitchen", "sensor": "temp", "unit": "°C"}, 22.5),
        ({"device": "kitchen", "sensor": "hum", "unit": "%"}, 40.0),
        ({"device": 'we"ird\\ dev', "sensor": "x y", "unit": ""}, 7.0),
    ]
    assert scraped["telemetry_reading_series_over_cap"] == [({}, 1.0)]  # kitchen/co2
