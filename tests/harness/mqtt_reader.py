"""Running an `MqttSource` under test against a real broker, and talking to it.

`start_reader(readers, broker, subscriptions, **options)` starts a reader with
a fast backoff and collects what it hands over; `receive` publishes until the
reader has a message (its SUBACK may still be on the way).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from devices.backoff import Backoff
from devices.mqtt import MqttSource
from simulators.broker import Broker
from telemetry.config import LimitsConfig, MqttConfig, Subscription
from telemetry.handoff import Inbox
from telemetry.model import RawMessage
from tests.harness.waiting import wait_until


class Reader:
    """An `MqttSource` under test and what it handed over."""

    def __init__(self, source: MqttSource, inbox_class: type[Inbox] = Inbox) -> None:
        self.source = source
        self.messages: list[RawMessage] = []
        self.inbox = inbox_class(10_000, self.messages.extend)

    def received(self) -> list[RawMessage]:
        self.inbox.drain()
        return self.messages

    def payloads(self) -> list[bytes]:
        return [m.payload for m in self.received()]

    def state(self) -> str:
        return self.source.status().state


@pytest.fixture
def readers() -> Iterator[list[Reader]]:
    started: list[Reader] = []
    yield started
    for reader in started:
        reader.source.stop()


class Address(NamedTuple):
    host: str
    port: int


def start_reader(
    readers: list[Reader],
    broker: Broker | Address,
    subscribe: Iterable[Subscription],
    *,
    limits: LimitsConfig | None = None,
    inbox_class: type[Inbox] = Inbox,
    backoff: Backoff | None = None,
    **options: Any,
) -> Reader:
    cfg = MqttConfig(name="home", host=broker.host, port=broker.port, subscribe=tuple(subscribe))
    cfg = dataclasses.replace(cfg, **options)
    source = MqttSource(
        cfg, limits or LimitsConfig(), backoff=backoff or Backoff(base=0.05, cap=0.3)
    )
    reader = Reader(source, inbox_class)
    readers.append(reader)
    source.start(reader.inbox)
    return reader


Credentials = tuple[str, str] | None


def send(
    broker: Broker, topic: str, payload: bytes, login: Credentials = None, *, qos: int = 0
) -> None:
    """Publish one message and wait until all of it is written (QoS 0), or acknowledged."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    if login is not None:
        client.username_pw_set(*login)
    client.connect(broker.host, broker.port)
    deadline = time.monotonic() + 10

    def step() -> None:
        if client.loop(0.1) != mqtt.MQTT_ERR_SUCCESS or time.monotonic() > deadline:
            client.disconnect()
            raise OSError(f"could not publish to {topic!r} on {broker.host}:{broker.port}")

    # Read the CONNACK first: closing a socket with unread input sends RST, and
    # an RST throws away whatever of a large payload is still being sent.
    while not client.is_connected():
        step()
    info = client.publish(topic, payload, qos)
    while not info.is_published():  # a large payload takes several writes
        step()
    client.disconnect()  # sends DISCONNECT and closes the socket


def receive(
    broker: Broker,
    reader: Reader,
    topic: str,
    payload: bytes,
    login: Credentials = None,
    *,
    qos: int = 0,
) -> RawMessage:
    """Publish until the reader has the message: its SUBACK may still be on the way."""

    def arrived() -> RawMessage | None:
        send(broker, topic, payload, login, qos=qos)
        time.sleep(0.05)
        return next((m for m in reader.received() if m.payload == payload), None)

    return wait_until(arrived, timeout=10, what=f"{payload!r} on {topic!r}")


def sensors(prefix: str) -> Subscription:
    return Subscription(
        topic=f"{prefix}/#", template=f"{prefix}/{{device}}/{{sensor...}}", format="number"
    )
