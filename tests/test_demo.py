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
