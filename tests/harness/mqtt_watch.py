"""A subscriber under test: every message on a filter, with its retain flag, read
from a real broker by its own paho client (its network thread)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from simulators.broker import Broker
from tests.harness.waiting import wait_until


class Seen(NamedTuple):
    topic: str
    payload: bytes
    retain: bool
    qos: int


class Watcher:
    def __init__(self, broker: Broker, topic: str, *, client_id: str = "", clean: bool = True):
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._subscribed = threading.Event()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean
        )
        self.client.on_connect = lambda c, u, f, r, p: c.subscribe(topic, 1)
        self.client.on_subscribe = lambda *args: self._subscribed.set()
        self.client.on_message = self._on_message
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        if not self._subscribed.wait(5):
            raise AssertionError(f"no SUBACK for {topic!r} within 5 s")

    def _on_message(self, client: Any, userdata: Any, msg: mqtt.MQTTMessage) -> None:
        with self._lock:
            self.seen.append(Seen(msg.topic, bytes(msg.payload), bool(msg.retain), msg.qos))

    def messages(self) -> list[Seen]:
        with self._lock:
            return list(self.seen)

    def last(self) -> dict[str, bytes]:
        """The last payload of each topic."""
        return {m.topic: m.payload for m in self.messages()}

    def wait_for(self, topic: str, payload: bytes | None = None, timeout: float = 5.0) -> Seen:
        def found() -> Seen | None:
            for m in reversed(self.messages()):
                if m.topic == topic and (payload is None or m.payload == payload):
                    return m
            return None

        return wait_until(found, timeout, what=f"{payload!r} on {topic!r}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


@pytest.fixture
def watch() -> Iterator[Any]:
    """`watch(broker, topic)`: a subscriber, closed after the test."""
    made: list[Watcher] = []

    def start(broker: Broker, topic: str, **options: Any) -> Watcher:
        watcher = Watcher(broker, topic, **options)
        made.append(watcher)
        return watcher

    yield start
    for watcher in made:
        watcher.close()
