"""The simulated MQTT devices, read back through the real MQTT reader."""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable

import pytest

from devices.mqtt import MqttSource
from simulators.broker import Broker
from simulators.cli import add_sim_parser
from simulators.faults import MALFORMED
from simulators.firmware import Message, family
from simulators.mqtt import MqttSimulator
from telemetry.config import LimitsConfig, MqttConfig, Subscription
from telemetry.handoff import Inbox
from telemetry.model import RawMessage
from telemetry.normalize import Normalizer
from tests.harness.waiting import wait_for_state, wait_until
from tests.simulators.capture import Seen, capture, retained
from tests.simulators.test_firmware import LINE_PROTOCOL

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


def _json_object(payload: bytes) -> None:
    assert isinstance(json.loads(payload), dict)


def _senml_pack(payload: bytes) -> None:
    pack = json.loads(payload)
    assert isinstance(pack, list)
    assert {"bn", "bt", "n", "v"} <= set(pack[0])


def _float(payload: bytes) -> None:
    float(payload)


def _line_protocol(payload: bytes) -> None:
    assert LINE_PROTOCOL.match(payload.decode()), payload


# Each family: the topic of dev0's reading (under its root) and what its payload must be.
DATA: dict[str, tuple[str, Callable[[bytes], None]]] = {
    "tasmota": ("dev0/SENSOR", _json_object),
    "zigbee2mqtt": ("dev0", _json_object),
    "shelly": ("dev0/sensor/temperature", _float),
    "esphome": ("dev0/sensor/temperature/state", _float),
    "homie": ("dev0/sensor/temperature", _float),
    "senml": ("dev0", _senml_pack),
    "influx": ("dev0", _line_protocol),
}


def availability(name: str, root: str, online: bool) -> Message:
    message = family(name, root).availability("dev0", online)
    assert message is not None
    return message


@pytest.mark.parametrize("name", sorted(DATA))
def test_mqtt_simulator_publishes_each_family_and_says_online_retained(
    mosquitto: Broker, name: str
) -> None:
    root = f"fam-{name}"
    topic, check = DATA[name]
    online = availability(name, root, online=True)
    with capture(mosquitto, f"{root}/#") as seen:
        sim = MqttSimulator(mosquitto.host, mosquitto.port, 2, 20.0, format=name, prefix=root)
        sim.start()
        try:
            reading = seen.wait_for(lambda m: m.topic == f"{root}/{topic}", what=topic)
            other = f"{root}/{topic}".replace("dev0", "dev1")
            seen.wait_for(lambda m: m.topic == other, what=f"the second device's {other}")
            seen.wait_for(lambda m: m.topic == online.topic and m.payload == online.payload)
            assert retained(mosquitto, online.topic) == Seen(online.topic, online.payload, True)
        finally:
            sim.stop()
    check(reading.payload)


@pytest.mark.parametrize("name", sorted(DATA))
def test_mqtt_simulator_will_says_offline_retained_after_drop_connection(
    mosquitto: Broker, name: str
) -> None:
    root = f"will-{name}"
    online, offline = availability(name, root, True), availability(name, root, False)
    with capture(mosquitto, online.topic) as seen:
        # Away for long after the cut: what is retained meanwhile is the will.
        sim = MqttSimulator(
            mosquitto.host, mosquitto.port, 1, 5.0, format=name, prefix=root, reconnect_delay=60
        )
        sim.start()
        try:
            seen.wait_for(lambda m: m.payload == online.payload, what="online")
            assert sim.drop_connection() == 1
            seen.wait_for(lambda m: m.payload == offline.payload, what="the will")
            assert retained(mosquitto, offline.topic) == Seen(offline.topic, offline.payload, True)
        finally:
            sim.stop()


def test_mqtt_simulator_comes_back_online_after_a_dropped_connection(mosquitto: Broker) -> None:
    with capture(mosquitto, "back/+/LWT") as seen:
        sim = MqttSimulator(mosquitto.host, mosquitto.port, 1, 5.0, format="tasmota", prefix="back")
        sim.start()
        try:
            seen.wait_for(lambda m: m.payload == b"Online")
            sim.drop_connection(0)
            seen.wait_for(lambda m: m.payload == b"Offline")
            wait_until(lambda: [m.payload for m in seen.messages][-1] == b"Online", timeout=8)
        finally:
            sim.stop()
    assert [m.payload for m in seen.messages][:3] == [b"Online", b"Offline", b"Online"]


def test_mqtt_simulator_disconnect_every_cuts_one_device_at_a_time(mosquitto: Broker) -> None:
    with capture(mosquitto, "every/+/status") as seen:
        sim = MqttSimulator(
            mosquitto.host, mosquitto.port, 2, 10.0, format="senml", prefix="every",
            disconnect_every=0.3,
        )  # fmt: skip
        sim.start()
        try:
            offline = seen.wait_for(lambda m: m.payload == b"offline", what="a will")
        finally:
            sim.stop()
    assert offline.topic == "every/dev0/status"
    assert sim.drops >= 1


def test_mqtt_simulator_malformed_payloads_are_realistic_bad_ones(mosquitto: Broker) -> None:
    with capture(mosquitto, "bad/+/SENSOR") as seen:
        sim = MqttSimulator(
            mosquitto.host, mosquitto.port, 3, 50.0, format="tasmota", prefix="bad", malformed=1.0
        )
        sim.start()
        try:
            wait_until(lambda: len(seen.messages) >= 40, what="40 payloads")
        finally:
            sim.stop()
    kinds = set()
    for message in seen.messages:
        payload = message.payload
        if payload in (b"", b"nan", b"unavailable"):
            kinds.add(payload)
            continue
        try:
            text = payload.decode("utf-8")
        except UnicodeDecodeError:
            kinds.add(b"not-utf8")
            continue
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
        assert text.startswith('{"Time":')
        kinds.add(b"truncated")
    assert len(kinds) == len(MALFORMED)
    assert sim.spoiled >= 40


def test_mqtt_simulator_homie_says_disconnected_on_a_clean_stop(mosquitto: Broker) -> None:
    with capture(mosquitto, "bye/dev0/$state") as seen:
        sim = MqttSimulator(mosquitto.host, mosquitto.port, 1, 5.0, format="homie", prefix="bye")
        sim.start()
        try:
            seen.wait_for(lambda m: m.payload == b"ready")
        finally:
            sim.stop()
        seen.wait_for(lambda m: m.payload == b"disconnected")
    assert [m.payload for m in seen.messages] == [b"init", b"ready", b"disconnected"]


def test_sim_mqtt_command_publishes_a_family_with_faults(
    mosquitto: Broker, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    add_sim_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["sim", "mqtt", "--host", mosquitto.host, "--port", str(mosquitto.port),
         "--format", "zigbee2mqtt", "--prefix", "cli-z2m", "--rate", "20", "--duration", "0.3",
         "--malformed", "0.5", "--disconnect-every", "0.1"]
    )  # fmt: skip
    with capture(mosquitto, "cli-z2m/#") as seen:
        assert args.func(args) == 0
        seen.wait_for(lambda m: m.topic == "cli-z2m/dev0")
    out = capsys.readouterr().out
    assert "zigbee2mqtt format" in out
    assert "malformed" in out
