"""Simulated MQTT devices: one paho client per device, publishing as real firmware does.

`MqttSimulator` plays `devices` devices (`dev0`, `dev1`, ...), each with a
temperature and a humidity sensor, publishing in one payload family
(`simulators.firmware`): `number` (`b"21.37 °C"` on `{prefix}/{device}/{sensor}`,
the default, which the server parses today), `tasmota`, `zigbee2mqtt`,
`shelly`, `esphome`, `homie`, `senml` or `influx`.  It is what `telemetry sim
mqtt` and the demo run, and what the tests publish with.

Each device has its own connection, as real ones do, so each has its own Last
Will: the family's "offline" availability message, which the broker publishes
when the connection dies.  On every connect the device publishes "online" and
whatever its firmware announces (Homie attributes, discovery configs); on
`stop` it says goodbye first (a clean disconnect sends no will).

Faults: `malformed` is the share of payloads replaced by bad ones;
`drop_connection()` cuts a device's TCP connection without a DISCONNECT, and
`disconnect_every` does it periodically, one device at a time.  paho's thread
reconnects after `reconnect_delay` seconds.  What is published while the
broker is away is lost (QoS 0), as with a real device.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
import time
from dataclasses import replace
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from devices.paho_fastpath import close_sockets
from simulators import firmware, signals
from simulators.faults import malformed_payload
from simulators.firmware import Message, Quantity
from telemetry.threads import Worker

logger = logging.getLogger(__name__)

# Availability and announcements must arrive even when readings go at QoS 0.
ANNOUNCE_QOS = 1


def device_quantities(devices: int, seed: int, names: str = "dev") -> dict[str, list[Quantity]]:
    """Two sensors per device, each device a little different, all deterministic for `seed`.

    Devices are called `<names>0`, `<names>1`, ...
    """
    return {
        f"{names}{i}": [
            Quantity("temperature", "°C", signals.sine(20.0 + i, 2.0, 120.0, 0.05, seed + i)),
            Quantity("humidity", "%", signals.random_walk(40.0, 70.0, 0.8, seed + 1000 + i), 1),
        ]
        for i in range(devices)
    }


class _Device:
    def __init__(self, name: str, quantities: list[Quantity], client: mqtt.Client) -> None:
        self.name = name
        self.quantities = quantities
        self.client = client


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
        prefix: str | None = None,
        duration: float | None = None,
        qos: int = 0,
        format: str = "number",
        malformed: float = 0.0,
        disconnect_every: float | None = None,
        reconnect_delay: int = 1,
        burst: signals.Burst | None = None,
        names: str = "dev",
    ) -> None:
        if devices < 1 or rate_hz <= 0:
            raise ValueError(f"need devices >= 1 and rate_hz > 0, got {devices} and {rate_hz}")
        if not 0.0 <= malformed <= 1.0:
            raise ValueError(f"malformed is a share between 0 and 1, got {malformed}")
        if disconnect_every is not None and not disconnect_every > 0:
            raise ValueError(f"disconnect_every must be above 0, got {disconnect_every}")
        self.host = host
        self.port = port
        self.family = firmware.family(format, prefix)
        self.interval = 1.0 / rate_hz
        self.duration = duration
        self.qos = qos
        self.malformed = malformed
        self.disconnect_every = disconnect_every
        self.reconnect_delay = reconnect_delay
        self.burst = burst
        self.published = 0
        self.failed = 0  # not sent: the broker was away
        self.spoiled = 0  # sent malformed on purpose
        self.drops = 0  # connections cut
        self._lock = threading.Lock()  # counters: the publisher and paho's threads both count
        self._rng = signals.generator(seed, 5)
        self.devices = [
            _Device(name, quantities, self._client(name, quantities))
            for name, quantities in device_quantities(devices, seed, names).items()
        ]
        self._worker = Worker("sim-mqtt")

    @property
    def sensors(self) -> int:
        return sum(len(device.quantities) for device in self.devices)

    @property
    def connected(self) -> bool:
        return all(device.client.is_connected() for device in self.devices)

    def start(self) -> None:
        if self._worker.running:
            raise RuntimeError("the MQTT simulator is already running")
        for device in self.devices:
            device.client.connect_async(self.host, self.port, keepalive=30)
            device.client.loop_start()
        self._worker.start(self._run)

    def stop(self, timeout: float = 2.0) -> None:
        self._worker.stop(timeout)
        goodbyes = []
        for device in self.devices:
            message = self.family.goodbye(device.name)
            if message is not None and device.client.is_connected():
                goodbyes.append(self._send(device.client, message, ANNOUNCE_QOS))
        deadline = time.monotonic() + timeout / 2
        for info in goodbyes:
            with contextlib.suppress(ValueError, RuntimeError):  # the connection died meanwhile
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
        for device in self.devices:
            device.client.disconnect()
            device.client.loop_stop()
            close_sockets(device.client)  # paho has no public call that closes its socketpair

    def wait(self, timeout: float | None = None) -> bool:
        """Block until `duration` is over (or `stop`); True when publishing has ended."""
        return self._worker.wait(timeout)

    def drop_connection(self, device: int | None = None) -> int:
        """Cut the TCP connection of device number `device` (None: every device) without a
        DISCONNECT, as a pulled plug or a crash does: the broker publishes the will.
        paho reconnects after `reconnect_delay`.  Returns how many connections were cut."""
        targets = self.devices if device is None else [self.devices[device]]
        cut = 0
        for target in targets:
            sock = target.client.socket()
            if not isinstance(sock, socket.socket):
                continue  # not connected now
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
                cut += 1
                logger.info("simulated device %s: connection cut", target.name)
        with self._lock:
            self.drops += cut
        return cut

    def _client(self, name: str, quantities: list[Quantity]) -> mqtt.Client:
        client = mqtt.Client(CallbackAPIVersion.VERSION2)
        # Come back quickly after a broker restart: this is a simulator, not a fleet.
        client.reconnect_delay_set(self.reconnect_delay, max(5, self.reconnect_delay))
        will = self.family.will(name)
        if will is not None:
            client.will_set(will.topic, will.payload, ANNOUNCE_QOS, will.retain)
        sensors = [q.info for q in quantities]

        def on_connect(
            client: mqtt.Client,
            userdata: Any,
            flags: mqtt.ConnectFlags,
            reason_code: ReasonCode,
            properties: Properties | None,
        ) -> None:
            if reason_code.is_failure:
                return
            for message in self.family.connect_messages(name, sensors):
                self._send(client, message, ANNOUNCE_QOS)

        client.on_connect = on_connect
        return client

    def _send(self, client: mqtt.Client, message: Message, qos: int) -> mqtt.MQTTMessageInfo:
        info = client.publish(message.topic, message.payload, qos=qos, retain=message.retain)
        with self._lock:
            if info.rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                self.published += 1
            else:
                self.failed += 1
        return info

    def _spoil(self, message: Message) -> Message:
        if not self.malformed or self._rng.random() >= self.malformed:
            return message
        _, payload = malformed_payload(message.payload, self._rng)
        with self._lock:
            self.spoiled += 1
        return replace(message, payload=payload)

    def _run(self) -> None:
        ticker = signals.Ticker(self.interval, self.duration, self.burst)
        next_drop = self.disconnect_every
        victim = 0
        while not self._worker.stopping and ticker.running():
            t = ticker.elapsed()
            wall = time.time()
            for device in self.devices:
                samples = [s for q in device.quantities if (s := q.sample(t)) is not None]
                for message in self.family.publish(device.name, samples, wall):
                    self._send(device.client, self._spoil(message), self.qos)
            if next_drop is not None and self.disconnect_every and t >= next_drop:
                self.drop_connection(victim % len(self.devices))
                victim += 1
                next_drop += self.disconnect_every
            self._worker.sleep(ticker.until_next())
