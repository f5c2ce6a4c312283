"""`telemetry demo` is a configuration plus simulators, run the way `telemetry serve` runs one."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest

from devices.mqtt import MqttSource
from devices.serial import SerialSource
from telemetry.config import Config
from telemetry.demo import demo_config
from telemetry.server import build_sources
from tests.harness.parts import find_program


@pytest.mark.broker
def test_demo_config_names_its_simulated_port_and_broker_for_the_real_readers(
    tmp_path: Path,
) -> None:
    find_program("mosquitto", "/usr/sbin", hint="sudo apt-get install mosquitto")
    with contextlib.ExitStack() as stack:
        config = demo_config(Config(), stack, tmp_path)
        assert [s.name for s in config.serial] == ["bench"]
        assert Path(config.serial[0].port).is_symlink()  # the simulated device's pty
        assert [m.name for m in config.mqtt] == ["demo-broker"]
        assert config.mqtt[0].host in ("127.0.0.1", "localhost")
        kinds = sorted(type(s).__name__ for s in build_sources(config))
        assert kinds == [MqttSource.__name__, SerialSource.__name__]
    assert not Path(config.serial[0].port).exists()  # stopped with the stack


def test_demo_reads_every_mqtt_device_with_format_auto() -> None:
    from telemetry.demo import MQTT_DEVICES  # noqa: PLC0415

    formats = {s.format for _, _, subscribe in MQTT_DEVICES for s in subscribe}
    assert formats == {"auto"}


def test_demo_devices_give_no_series_without_a_unit() -> None:
    """Every demo device, through the demo's own subscriptions and rules, as the page
    sees them: no chart would say 'no unit' for a quantity its firmware documents."""
    from simulators import firmware  # noqa: PLC0415
    from simulators.mqtt import device_quantities  # noqa: PLC0415
    from telemetry.config import MqttConfig  # noqa: PLC0415
    from telemetry.demo import MQTT_DEVICES, SERIES_RULES  # noqa: PLC0415
    from telemetry.model import RawMessage  # noqa: PLC0415
    from telemetry.pipeline import Pipeline  # noqa: PLC0415
    from telemetry.routing import RoutingTable  # noqa: PLC0415

    subscriptions = tuple(s for _, _, subscribe in MQTT_DEVICES for s in subscribe)
    broker = MqttConfig("demo-broker", "127.0.0.1", 1883, subscribe=subscriptions)
    pipeline = Pipeline(Config(mqtt=(broker,), series=SERIES_RULES))
    table = RoutingTable(broker.name, subscriptions)
    seen_devices = set()
    for seed, (family_name, names, _) in enumerate(MQTT_DEVICES):
        family = firmware.family(family_name)
        for device, quantities in device_quantities(2, seed, names).items():
            seen_devices.add(device)
            messages = family.connect_messages(device, [q.info for q in quantities])
            samples = [s for q in quantities if (s := q.sample(1.0)) is not None]
            messages += family.publish(device, samples, 1_700_000_000.0)
            for message in messages:
                route = table.route(message.topic)
                if route is not None:
                    pipeline.ingest([RawMessage(route, message.topic, message.payload, 1.7e9)])
    entries = list(pipeline.store.entries())
    assert {e.device for e in entries} == seen_devices
    assert [e.id for e in entries if e.unit is None] == []
    # availability named each device (plain numbers have none), and no other
    assert set(pipeline.devices) == {d for d in seen_devices if not d.startswith("dev")}
    assert not pipeline.rejected


def test_demo_alert_fires_within_a_minute_whenever_the_page_opens() -> None:
    """The demo's rule on the demo's own workshop meter, the server running: from
    any moment a page opens, the alert is firing within 60 s, and it clears."""
    from simulators.inprocess import demo_sensors  # noqa: PLC0415
    from telemetry.demo import ALERT_RULES  # noqa: PLC0415

    (rule,) = ALERT_RULES
    (meter,) = [s for s in demo_sensors() if f"{s.device}/{s.sensor}" in rule.match]
    assert rule.threshold is not None and rule.clear is not None
    firing: list[float] = []  # the readings' times at which the rule fires
    above_since: float | None = None
    fired, clears = False, 0
    for i in range(int(400 / meter.interval)):
        t = i * meter.interval
        value = meter.signal(t)
        if value is None:  # a dropout: nothing published
            continue
        if value > rule.threshold:
            if above_since is None:
                above_since = t
            fired = fired or t - above_since >= rule.hold
        elif value < rule.clear:
            clears += fired
            above_since, fired = None, False
        if fired:
            firing.append(t)
    assert clears >= 3
    for opened in range(100, 300, 5):  # the server long running
        assert any(opened <= t <= opened + 60 for t in firing), opened
