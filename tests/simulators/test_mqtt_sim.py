"""The simulated MQTT devices, read back through the real MQTT reader."""

from __future__ import annotations

import argparse
import time

import pytest

from devices.mqtt import MqttSource
from simulators.broker import Broker
from simulators.cli import add_sim_parser
from simulators.mqtt import MqttSimulator
from telemetry.config import LimitsConfig, MqttConfig, Subscription
from telemetry.handoff import Inbox
from telemetry.model import RawMessage
from telemetry.normalize import Normalizer
from tests.harness.waiting import wait_for_state, wait_until

pytestmark = pytest.mark.broker


def test_mqtt_simulator_publishes_numbers_with_units_for_each_device(mosquitto: Broker) -> None:
    got: list[RawMessage] = []
    inbox = Inbox(10_000, got.extend)
    cfg = MqttConfig(
        name="sim",
        host=mosquitto.host,
        port=mosquitto.port,
        subscribe=(Subscription(topic="s1/#", template="s1/{device}/{sensor}", format="number"),),
    )
    source = MqttSource(cfg, LimitsConfig())
    source.start(inbox)
    sim = MqttSimulator(
        mosquitto.host, mosquitto.port, devices=2, rate_hz=20.0, seed=7, prefix="s1"
    )
    try:
        wait_for_state(source, "connected")
        sim.start()
        normalizer = Normalizer()

        def all_series() -> set[tuple[str, str | None]]:
            inbox.drain()
            readings = [r for m in got for r in normalizer.normalize(m).readings]
            series = {(r.series, r.unit) for r in readings}
            return series if len(series) == 4 else set()

        assert wait_until(all_series, timeout=10) == {
            ("dev0/temperature", "°C"),
            ("dev0/humidity", "%"),
            ("dev1/temperature", "°C"),
            ("dev1/humidity", "%"),
        }
    finally:
        sim.stop()
        source.stop()
    assert all(not normalizer.normalize(m).errors for m in got)


def test_mqtt_simulator_stops_publishing_after_its_duration(mosquitto: Broker) -> None:
    sim = MqttSimulator(
        mosquitto.host, mosquitto.port, devices=1, rate_hz=20.0, prefix="s2", duration=0.3
    )
    started = time.monotonic()
    sim.start()
    try:
        assert sim.wait(timeout=5)
    finally:
        sim.stop()
    assert 0.25 < time.monotonic() - started < 5
    assert sim.published + sim.failed >= 2


def test_sim_mqtt_command_runs_for_its_duration(
    mosquitto: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    add_sim_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        [
            "sim",
            "mqtt",
            "--host",
            mosquitto.host,
            "--port",
            str(mosquitto.port),
            "--devices",
            "2",
            "--rate",
            "10",
            "--duration",
            "0.3",
            "--prefix",
            "s3",
        ]
    )

    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert f"mqtt://{mosquitto.host}:{mosquitto.port}" in out
    assert "published" in out
