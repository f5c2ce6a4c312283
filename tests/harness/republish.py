"""Republishers under test (`devices.republish.Republisher`) on a real broker, with a
fast reconnect; `point(...)` makes the `OutPoint`s the pipeline would hand them."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from typing import Any

import pytest

from devices.republish import Republisher
from simulators.broker import Broker
from telemetry.config import MqttConfig
from telemetry.config.model import MqttOutputConfig
from telemetry.outputs import OutPoint

T0 = 1_765_000_000.0
PREFIX = "telemetry/pi1"  # the default prefix of instance "pi1"


def point(series: str, value: float, ts: float = T0, unit: str | None = "°C") -> OutPoint:
    """A number, or with `unit="state"` a state (no unit)."""
    device, _, sensor = series.partition("/")
    kind = "state" if unit == "state" else "number"
    return OutPoint(series, device, sensor, ts, value, None if kind == "state" else unit, kind)


def decoded(data: bytes) -> dict[str, Any]:
    value = json.loads(data)
    assert isinstance(value, dict)
    return value


@pytest.fixture
def outputs() -> Iterator[Any]:
    """`outputs(broker_or_mqtt_config, **MqttOutputConfig fields)`: instance "pi1";
    all stopped after the test."""
    made: list[Republisher] = []

    def make(broker: Broker | MqttConfig, **options: Any) -> Republisher:
        if isinstance(broker, Broker):
            broker = MqttConfig(name="home", host=broker.host, port=broker.port)
        cfg = dataclasses.replace(MqttOutputConfig(name="out", mqtt="home"), **options)
        output = Republisher(cfg, broker, "pi1", cfg.prefix or PREFIX, reconnect=(1, 1))
        made.append(output)
        return output

    yield make
    for output in made:
        output.stop(2.0)
