"""Simulated MQTT devices: paho clients publishing to a real broker.

`MqttSimulator` plays `devices` devices, each with a temperature and a humidity
sensor, publishing plain-number payloads with units (`b"21.37 °C"`) on
`{prefix}/{device}/{sensor}` at `rate_hz` messages per sensor per second.  It
is what `telemetry sim mqtt` and the demo run, and what the tests publish with.

paho's own thread keeps the connection and reconnects after a broker restart;
a second thread publishes on time.  What is published while the broker is
away is lost (QoS 0), as with a real device.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from simulators import signals
from telemetry.threads import Worker

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SimTopic:
    topic: str
    unit: str
    signal: signals.Signal
    decimals: int = 2

    def payload(self, t: float) -> bytes:
        return f"{self.signal(t):.{self.decimals}f} {self.unit}".encode()


def device_topics(prefix: str, devices: int, seed: int) -> list[SimTopic]:
    """Two sensors per device, each device a little different, all deterministic for `seed`."""
    topics = []
    for i in range(devices):
        device = f"dev{i}"
        topics.append(
            SimTopic(
                f"{prefix}/{device}/temperature",
                "°C",
                signals.sine(20.0 + i, 2.0, 120.0, noise=0.05, seed=seed + i),
            )
        )
        topics.append(
            SimTopic(
                f"{prefix}/{device}/humidity",
                "%",
                signals.random_walk(40.0, 70.0, 0.8, seed=seed + 1000 + i),
                decimals=1,
            )
        )
    return topics


class MqttSimulator:
    """Publishes every sensor of every simulated device until stopped or `duration` ends."""

    def __init__(
        self,
        host: str,
        port: int,
        devices: int = 3,
        rate_hz: float = 1.0,
        *,
        seed: int = 0,
        prefix: str = "sim",
        duration: float | None = None,
        qos: int = 0,
    ) -> None:
        if devices < 1 or rate_hz <= 0:
            raise ValueError(f"need devices >= 1 and rate_hz > 0, got {devices} and {rate_hz}")
        self.host = host
        self.port = port
        self.topics = device_topics(prefix, devices, seed)
        self.interval = 1.0 / rate_hz
        self.duration = duration
        self.qos = qos
        self.published = 0
        self.failed = 0  # not sent: the broker was away
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2)
        # Come back quickly after a broker restart: this is a simulator, not a fleet.
        self._client.reconnect_delay_set(min_delay=1, max_delay=5)
        self._worker = Worker("sim-mqtt")

    @property
    def connected(self) -> bool:
        return self._client.is_connected()

    def start(self) -> None:
        if self._worker.running:
            raise RuntimeError("the MQTT simulator is already running")
        self._client.connect_async(self.host, self.port, keepalive=30)
        self._client.loop_start()
        self._worker.start(self._run)

    def stop(self, timeout: float = 2.0) -> None:
        self._worker.stop(timeout)
        self._client.disconnect()
        self._client.loop_stop()
        # paho has no public call that closes its wake-up socketpair.
        self._client._reset_sockets()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until `duration` is over (or `stop`); True when publishing has ended."""
        return self._worker.wait(timeout)

    def _run(self) -> None:
        ticker = signals.Ticker(self.interval, self.duration)
        while not self._worker.stopping and ticker.running():
            t = ticker.elapsed()
            for sim in self.topics:
                info = self._client.publish(sim.topic, sim.payload(t), qos=self.qos)
                if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                    self.published += 1
                else:
                    self.failed += 1
            self._worker.sleep(ticker.until_next())
