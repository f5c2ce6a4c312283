"""Record a live run (a real mosquitto, simulated firmware, the real reader), then replay it.

The replay must give the readings the live run stored: the same series, values,
units and device times.  And the demo session shipped in the repository plays
into a running server, where the page's API shows it.
"""

from __future__ import annotations

import dataclasses
import gzip
import json
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from simulators.broker import Broker
from simulators.mqtt import MqttSimulator
from telemetry.cli import main as cli
from telemetry.config import Config, MqttConfig, RecordConfig
from telemetry.demo import MQTT_DEVICES
from telemetry.history import Store
from telemetry.pipeline import Pipeline
from telemetry.record import MAX_ERRORS, read_session
from telemetry.sessions import ReplaySource, replay_print
from tests.harness.broker import MosquittoFactory
from tests.harness.server import StartServer
from tests.harness.waiting import wait_for_state, wait_until

pytestmark = pytest.mark.broker

DEMO_SESSION = Path(__file__).parent.parent / "data" / "demo-session.jsonl.gz"
Points = dict[str, list[tuple[float, float]]]


def _live_config(broker: Broker, record: Path) -> Config:
    subscriptions = tuple(s for _, _, subscribe in MQTT_DEVICES for s in subscribe)
    mqtt = MqttConfig(name="live", host=broker.host, port=broker.port, subscribe=subscriptions)
    return Config(mqtt=(mqtt,), record=RecordConfig(file=str(record)))


def _replayed(config: Config, path: Path) -> tuple[Points, dict[str, str | None]]:
    """Each series' (time, value) points and last unit, as `replay` prints them."""
    points: Points = defaultdict(list)
    units: dict[str, str | None] = {}
    for line in replay_print(config, path):
        out = json.loads(line)
        for r in out["readings"]:
            sid = f"{r['device']}/{r['sensor']}"
            ts = r["timestamp"] if r["timestamp"] is not None else out["received"]
            points[sid].append((ts, r["value"]))
            units[sid] = r["unit"] or units.get(sid)
    return points, units


def _stored(store: Store) -> tuple[Points, dict[str, str | None]]:
    """Each series' stored (time, value) points, and its unit."""
    points: Points = {}
    units: dict[str, str | None] = {}
    for entry in store.entries():
        series = store.get(entry.id)
        assert series is not None
        times, values = series.raw()
        points[entry.id] = list(zip(times.tolist(), values.tolist(), strict=True))
        units[entry.id] = entry.unit
    return points, units


def test_replay_gives_the_readings_of_the_live_run(
    mosquitto_factory: MosquittoFactory, start_server: StartServer, tmp_path: Path
) -> None:
    broker = mosquitto_factory()
    record = tmp_path / "session.jsonl.gz"
    config = _live_config(broker, record)
    server = start_server(config, sources=None)
    wait_for_state(server.runtime.sources[0], "connected")
    simulators = [
        MqttSimulator(
            broker.host, broker.port, devices=2, rate_hz=5.0, seed=seed, format=family, names=names
        )
        for seed, (family, names, _) in enumerate(MQTT_DEVICES)
    ]
    for simulator in simulators:
        simulator.start()
    try:
        wait_until(lambda: server.runtime.pipeline.accepted > 400, timeout=10)
    finally:
        for simulator in simulators:
            simulator.stop()
    # Everything received is stored before the server stops: the count holds still
    # and the inbox is empty (a message published before the SUBACK is never sent).
    runtime = server.runtime
    seen = [-1]

    def settled() -> bool:
        received, seen[0] = seen[0], runtime.inbox.received
        return received == seen[0] and len(runtime.inbox) == 0

    wait_until(settled, timeout=5, interval=0.3)
    server.stop()
    live, live_units = _stored(server.runtime.pipeline.store)
    assert len(live) > 30
    messages = list(read_session(record))
    assert len(messages) == runtime.inbox.received

    # Replayed through the same pipeline, in the recorded order: the same history.
    pipeline = Pipeline(config)
    pipeline.ingest(messages)
    again, again_units = _stored(pipeline.store)
    assert again == live
    assert again_units == live_units

    # Printed, as `telemetry replay` prints: the same series, points and units (the
    # store keeps a repeated (time, value) once where it arrived late: compared as sets).
    printed, units = _replayed(config, record)
    assert set(printed) == set(live)
    for sid, points in live.items():
        assert set(printed[sid]) == set(points), sid
    assert units == live_units
    # Device times came through as device times (SenML and Tasmota carry them).
    assert any(
        r["timestamp"]
        for line in replay_print(config, record)
        for r in json.loads(line)["readings"]
    )
    assert {u for u in units.values() if u} >= {"°C", "%", "mV"}


def test_the_demo_session_replays_into_a_server(start_server: StartServer) -> None:
    assert DEMO_SESSION.stat().st_size < 200_000
    messages = list(read_session(DEMO_SESSION))
    span = messages[-1].recv_ts - messages[0].recv_ts
    assert span > 60
    assert {m.route.transport for m in messages} >= {"mqtt", "serial", "sim"}
    server = start_server(Config(), [ReplaySource(DEMO_SESSION, speed=0)])
    source = server.runtime.sources[0]
    wait_for_state(source, "stopped", timeout=20)
    assert source.status().received == len(messages)

    def series() -> Any:
        entries = list(server.runtime.pipeline.store.entries())
        return entries if len(entries) > 40 else None

    entries = wait_until(series)
    devices = {e.device for e in entries}
    assert {"bench", "tasmota0", "zb0", "esp0", "senml0", "influx0"} <= devices
    # Shifted to now: every point is within the last minute, however old the session.
    assert all(time.time() - e.last_ts < 60 for e in entries)


def test_a_served_replay_says_how_many_problems_it_met(
    start_server: StartServer, tmp_path: Path
) -> None:
    """Past the first MAX_ERRORS noted, the count says "or more", not a round 100."""
    good = json.dumps(
        {
            "received": time.time(),
            "source": "s",
            "transport": "mqtt",
            "topic": "a/b",
            "payload": "1",
        }
    )
    for bad, name in ((3, "few"), (MAX_ERRORS + 50, "many")):
        path = tmp_path / f"{name}.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as f:
            f.write(good + "\n" + "not json\n" * bad + good + "\n")
        server = start_server(Config(), [ReplaySource(path, speed=0)])
        source = server.runtime.sources[0]
        status = wait_for_state(source, "stopped", timeout=20)
        count = str(bad) if bad < MAX_ERRORS else f"{MAX_ERRORS} or more"
        assert status.last_error is not None
        assert status.last_error.startswith(
            f"the recording ended after 2 messages; {count} problems, the first: "
        ), status.last_error


def test_replay_command_prints_like_parse(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli(["replay", str(DEMO_SESSION)]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == len(list(read_session(DEMO_SESSION)))
    readings = [r for line in lines for r in line["readings"]]
    assert len(readings) > 1000
    assert set(readings[0]) == {"device", "sensor", "value", "unit", "timestamp"}
    assert cli(["replay", str(tmp_path / "missing.jsonl.gz")]) == 1


def test_record_command_records_a_broker(
    mosquitto_factory: MosquittoFactory, tmp_path: Path
) -> None:
    broker = mosquitto_factory()
    config = tmp_path / "telemetry.toml"
    config.write_text(
        f'[[mqtt]]\nname = "home"\nurl = "mqtt://{broker.host}:{broker.port}"\n'
        '[[mqtt.subscribe]]\ntopic = "sim/#"\ntemplate = "sim/{device}/{sensor...}"\n'
    )
    out = tmp_path / "s.jsonl.gz"
    simulator = MqttSimulator(broker.host, broker.port, devices=2, rate_hz=20.0)
    simulator.start()
    try:
        assert cli(["record", "--config", str(config), "--out", str(out), "--duration", "1.5"]) == 0
    finally:
        simulator.stop()
    messages = list(read_session(out))
    assert len(messages) > 20
    assert {m.route.source for m in messages} == {"home"}
    assert messages[0].route.template == "sim/{device}/{sensor...}"
    assert dataclasses.replace(messages[0].route, source="x").transport == "mqtt"
