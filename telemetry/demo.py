"""`telemetry demo`: the real server fed by simulated devices, with no hardware.

Three kinds of simulated device, each read the way real ones are:
- in-process sensors of several shapes and rates, straight into the inbox;
- a serial device on a pseudo-terminal behind a symlink, read by the real
  serial reader (device `bench`);
- when a `mosquitto` program is installed, a private broker on a free loopback
  port with simulated MQTT devices publishing to it as real firmware does,
  read by the real MQTT reader with `format = "auto"`, every device as its
  firmware publishes: plain numbers (`dev0`...), Shelly Gen1 (`shelly0`...),
  ESPHome (`esp0`..., with its Home Assistant discovery configs), Tasmota
  (`tasmota0`...), Zigbee2MQTT (`zb0`..., with the bridge's device list),
  Homie (`homie0`...), SenML (`senml0`...) and InfluxDB line protocol
  (`influx0`..., whose units the demo's `[[series]]` rules state: line
  protocol has none), each with its availability topic and Last Will.
The demo is a configuration plus simulators: it starts the simulated devices,
writes their serial port and broker into the `[[serial]]` and `[[mqtt]]`
sections of the config, and runs it through `telemetry.server.serve`, the path
`telemetry serve` takes, with the in-process sensors beside the readers the
config names.  Everything the demo starts is stopped when the server stops.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path

from simulators import signals
from simulators.broker import Broker, find_mosquitto, free_port
from simulators.inprocess import SimulatedSource, demo_sensors
from simulators.mqtt import MqttSimulator
from simulators.serial import PtyDevice, SerialSimulator
from telemetry.config import (
    AlertRule,
    Config,
    MqttConfig,
    SerialConfig,
    SeriesRule,
    Subscription,
)
from telemetry.errors import SourceError
from telemetry.server import serve

logger = logging.getLogger(__name__)

# (firmware family, device names, what the demo's reader subscribes to).  Every
# subscription reads with `format = "auto"`, as a user's config would; each names
# what a user would call its devices and sensors, and every quantity's unit comes
# from what its firmware documents or announces (Home Assistant discovery for
# ESPHome, the device list for Zigbee2MQTT, `$unit` for Homie).
MQTT_DEVICES = (
    ("number", "dev", (Subscription("sim/#", "sim/{device}/{sensor...}"),)),
    (
        "shelly",
        "shelly",
        (
            Subscription("shellies/+/sensor/+", "shellies/{device}/sensor/{sensor}"),
            Subscription("shellies/+/online", "shellies/{device}/online"),
        ),
    ),
    (
        "esphome",
        "esp",
        (
            Subscription("+/sensor/+/state", "{device}/sensor/{sensor}/state"),
            Subscription("+/status", "{device}/status"),
            Subscription("homeassistant/#"),
        ),
    ),
    ("tasmota", "tasmota", (Subscription("tele/+/+", "tele/{device}/{ignore}"),)),
    ("zigbee2mqtt", "zb", (Subscription("zigbee2mqtt/#"),)),
    ("homie", "homie", (Subscription("homie/#"),)),
    (
        "senml",
        "senml",
        (
            Subscription("senml/+", "senml/{device}"),
            Subscription("senml/+/status", "senml/{device}/status"),
        ),
    ),
    (
        "influx",
        "influx",
        (
            Subscription("influx/+", "influx/{device}"),
            Subscription("influx/+/status", "influx/{device}/status"),
        ),
    ),
)
# InfluxDB line protocol states no units: the demo's config states them, as a user
# of a line-protocol device does with a `[[series]]` rule.
SERIES_RULES = (
    SeriesRule(match="influx*/temperature", unit="°C"),
    SeriesRule(match="influx*/humidity", unit="%"),
)


# One rule that fires now and then, so a newcomer sees an alert within a minute:
# the workshop's power meter (simulators.inprocess) is under load for 40 s in
# every 80; after 15 s of it the alert fires, and it clears when the load stops.
ALERT_RULES = (
    AlertRule(
        name="workshop-load",
        match=("workshop/power",),
        condition="above",
        threshold=1000.0,
        clear=200.0,
        hold=15.0,
    ),
)


def _serial(stack: contextlib.ExitStack, folder: Path) -> SerialConfig:
    link = folder / "ttyDEMO"
    device = stack.enter_context(PtyDevice(link))
    simulator = SerialSimulator(
        device, signals.sine(23.0, 1.5, 40.0, noise=0.05), rate_hz=2.0, unit="°C"
    )
    simulator.start()
    stack.callback(simulator.stop)
    return SerialConfig(name="bench", port=str(link), format="auto")


def _mqtt(stack: contextlib.ExitStack, folder: Path) -> MqttConfig | None:
    program = find_mosquitto()
    if program is None:
        logger.info(
            "mosquitto is not installed: the demo runs without MQTT devices "
            "(sudo apt-get install mosquitto)"
        )
        return None
    (folder / "mqtt").mkdir()
    broker = Broker(program, folder / "mqtt", free_port())
    try:
        broker.start()
    except (SourceError, OSError) as exc:
        logger.warning("the demo's private mosquitto did not start; no MQTT devices: %s", exc)
        return None
    stack.callback(broker.stop)
    subscriptions: list[Subscription] = []
    for seed, (family, names, subscribe) in enumerate(MQTT_DEVICES):
        simulator = MqttSimulator(
            broker.host,
            broker.port,
            devices=2,
            rate_hz=1.0,
            seed=seed,
            format=family,
            names=names,
        )
        simulator.start()
        stack.callback(simulator.stop)
        subscriptions.extend(subscribe)
    return MqttConfig(
        name="demo-broker", host=broker.host, port=broker.port, subscribe=tuple(subscriptions)
    )


def demo_config(config: Config, stack: contextlib.ExitStack, folder: Path) -> Config:
    """`config` with the demo's simulated serial device and, when mosquitto is there,
    its private broker, as the `[[serial]]` and `[[mqtt]]` the server reads; the
    simulators they stand for are started, and stopped when `stack` closes."""
    mqtt = _mqtt(stack, folder)
    return dataclasses.replace(
        config,
        serial=(*config.serial, _serial(stack, folder)),
        mqtt=(*config.mqtt, *((mqtt,) if mqtt is not None else ())),
        series=(*config.series, *(SERIES_RULES if mqtt is not None else ())),
        alerts=(*config.alerts, *ALERT_RULES),
    )


def run_demo(config: Config, on_ready: Callable[[str], None]) -> int:
    with contextlib.ExitStack() as stack:
        folder = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="telemetry-demo-")))
        return serve(
            demo_config(config, stack, folder),
            [SimulatedSource("demo", demo_sensors())],
            on_ready=on_ready,
        )
