"""What every payload family shares: the message, the sample, the family's interface.

A family turns a device's samples into the MQTT messages its firmware would
publish (topics, payload bytes, retain flags), and says how the firmware
announces itself and its availability: the messages sent on each connect, and
the Last Will the broker publishes when the connection dies.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from simulators.signals import Signal


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    payload: bytes
    retain: bool = False


@dataclass(frozen=True, slots=True)
class Sample:
    """One sensor's value now.  `name` is the quantity (`temperature`, `humidity`,
    `pressure`, `power`); each family spells it its firmware's way."""

    name: str
    unit: str | None
    value: float
    decimals: int = 2

    @property
    def text(self) -> str:
        """The value as firmware prints it: fixed decimals."""
        return f"{self.value:.{self.decimals}f}"

    @property
    def plain(self) -> str:
        """The value with its unit after a space (`21.50 °C`), as a one-sensor sketch prints it."""
        return f"{self.text} {self.unit}" if self.unit else self.text

    @property
    def number(self) -> float:
        """The value rounded as firmware rounds before putting it in JSON."""
        return round(self.value, self.decimals)


@dataclass(frozen=True, slots=True)
class Quantity:
    """One sensor of a simulated device: what it measures and the signal it follows."""

    name: str
    unit: str | None
    signal: Signal
    decimals: int = 2

    def sample(self, t: float) -> Sample | None:
        """The sample at `t`, or None in a dropout."""
        value = self.signal(t)
        return None if value is None else Sample(self.name, self.unit, value, self.decimals)

    @property
    def info(self) -> SensorInfo:
        return SensorInfo(self.name, self.unit)


@dataclass(frozen=True, slots=True)
class SensorInfo:
    """What a device says about a sensor when it announces itself (Homie, discovery)."""

    name: str
    unit: str | None


def compact_json(document: Any) -> bytes:
    """JSON as firmware prints it: no spaces, UTF-8 (`°C`), not ASCII escapes."""
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def presence(topic: str, online: bool, payloads: tuple[str, str]) -> Message:
    """A retained availability message: `payloads` is (online, offline)."""
    return Message(topic, (payloads[0] if online else payloads[1]).encode("utf-8"), retain=True)


def status(base: str, online: bool) -> Message:
    """The `<base>/status` `online`/`offline` convention (ESPHome's, borrowed by the
    families whose firmware has none)."""
    return presence(f"{base}/status", online, ("online", "offline"))


class Family(ABC):
    """One firmware's way of publishing.  `root` is the topic base the firmware lets a user
    configure (Tasmota's prefix, Zigbee2MQTT's base_topic, ...); None gives its default."""

    name: ClassVar[str]
    default_root: ClassVar[str]

    def __init__(self, root: str | None = None) -> None:
        self.root = self.default_root if root is None else root

    def availability(self, device: str, online: bool) -> Message | None:
        """The online message (sent on connect) or the offline one (the Last Will)."""
        return None

    def announce(self, device: str, sensors: Sequence[SensorInfo]) -> list[Message]:
        """What the firmware publishes about itself after connecting, besides availability."""
        return []

    def connect_messages(self, device: str, sensors: Sequence[SensorInfo]) -> list[Message]:
        online = self.availability(device, online=True)
        return [*([online] if online else []), *self.announce(device, sensors)]

    def will(self, device: str) -> Message | None:
        return self.availability(device, online=False)

    def goodbye(self, device: str) -> Message | None:
        """Published before a clean disconnect (the broker sends no will then)."""
        return self.will(device)

    @abstractmethod
    def publish(self, device: str, samples: Sequence[Sample], wall: float) -> list[Message]:
        """The messages for one reading of every sensor; `wall` is the device's clock (epoch s).
        Sensors in a dropout are absent from `samples`; no samples, no message."""
