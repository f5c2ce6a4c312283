"""A plain paho subscriber for the simulator tests: what was published, retain flags included.

mosquitto clears the retain flag on messages it forwards live (MQTT 3.1.1), so
a retained message shows `retain=True` only to a subscriber that arrives
after it was published: `Capture.fresh(...)` makes one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from simulators.broker import Broker
from tests.harness.waiting import wait_until


class Seen(NamedTuple):
    topic: str
    payload: bytes
    retain: bool


class Capture:
    def __init__(self, broker: Broker, topic: str) -> None:
        self.messages: list[Seen] = []
        self._client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self._subscribed = False
        self._client.on_message = self._on_message
        self._client.on_subscribe = self._on_subscribe
        self._client.connect(broker.host, broker.port)
        self._client.subscribe(topic, qos=1)
        self._client.loop_start()
        wait_until(lambda: self._subscribed, what=f"subscribed to {topic}")

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        self.messages.append(Seen(message.topic, bytes(message.payload), bool(message.retain)))

    def _on_subscribe(self, *args: Any) -> None:
        self._subscribed = True

    def on(self, topic: str) -> list[Seen]:
        return [m for m in list(self.messages) if m.topic == topic]

    def wait_for(self, match: Callable[[Seen], bool], timeout: float = 5.0, what: str = "") -> Seen:
        def found() -> Seen | None:
            return next((m for m in list(self.messages) if match(m)), None)

        return wait_until(found, timeout, what=what or "a matching message")

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
        self._client._reset_sockets()


@contextmanager
def capture(broker: Broker, topic: str) -> Iterator[Capture]:
    """Subscribe to `topic` (wildcards allowed) for the block."""
    subscriber = Capture(broker, topic)
    try:
        yield subscriber
    finally:
        subscriber.close()


def retained(broker: Broker, topic: str, timeout: float = 5.0) -> Seen:
    """The message retained on `topic` now, as a new subscriber gets it."""
    with capture(broker, topic) as fresh:
        return fresh.wait_for(lambda m: m.retain, timeout, what=f"a retained message on {topic}")
