"""Simulated sensors inside the server process: a `Source` with no hardware.

Each sensor publishes its payload as a device would (`"21.50 °C"`), so the
readings go through the same normalizer as real ones; a signal's None (a
dropout) publishes nothing.  One thread serves every
sensor of the source, sleeping until the next one is due.
"""

from __future__ import annotations

import heapq
import logging
import time
from dataclasses import dataclass

from simulators import signals
from simulators.firmware import Sample
from telemetry.handoff import Inbox
from telemetry.model import RawMessage, Route
from telemetry.sources import ThreadedSource

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SimSensor:
    device: str
    sensor: str
    unit: str | None
    interval: float
    signal: signals.Signal
    decimals: int = 2
    phase: float = 0.0  # seconds after the source starts of its first reading

    def payload(self, t: float) -> bytes | None:
        """The payload at `t`, or None in a dropout (the device publishes nothing)."""
        value = self.signal(t)
        if value is None:
            return None
        return Sample(self.sensor, self.unit, value, self.decimals).plain.encode("utf-8")


def demo_sensors(seed: int = 0) -> list[SimSensor]:
    """A few series with different shapes and rates, for `telemetry demo`."""
    return [
        SimSensor(
            "greenhouse",
            "temperature",
            "°C",
            1.0,
            signals.sine(21.0, 3.0, 120.0, noise=0.05, seed=seed),
        ),
        SimSensor(
            "greenhouse",
            "humidity",
            "%",
            2.0,
            signals.random_walk(40.0, 70.0, 0.8, seed=seed + 1),
            decimals=1,
        ),
        SimSensor(
            "workshop",
            "power",
            "W",
            0.2,
            signals.square(60.0, 1150.0, 80.0, noise=8.0, seed=seed + 2),
            decimals=1,
        ),
        SimSensor(
            "outdoor",
            "pressure",
            "hPa",
            5.0,
            signals.sine(1013.0, 4.0, 900.0, noise=0.1, seed=seed + 3),
            decimals=1,
        ),
        SimSensor(
            "pump",
            "vibration",
            "m/s",
            0.05,
            signals.sine(0.0, 2.5, 0.9, noise=0.3, seed=seed + 4),
            decimals=3,
        ),
    ]


class SimulatedSource(ThreadedSource):
    """Publishes each sensor's payload every `interval` seconds until stopped."""

    kind = "sim"
    initial_state = "connected"  # nothing to connect to: it publishes from the start

    def __init__(self, name: str, sensors: list[SimSensor]) -> None:
        super().__init__(name)
        self.sensors = list(sensors)
        self.route = Route(
            source=name, transport="sim", format="number", template="{device}/{sensor...}"
        )

    def _run(self, inbox: Inbox) -> None:
        start = time.monotonic()
        due = [(start + sensor.phase, i) for i, sensor in enumerate(self.sensors)]
        heapq.heapify(due)
        while not self._stopping:
            now = time.monotonic()
            batch: list[RawMessage] = []
            wall = time.time()
            while due and due[0][0] <= now:
                at, i = heapq.heappop(due)
                sensor = self.sensors[i]
                payload = sensor.payload(now - start)
                if payload is not None:
                    topic = f"{sensor.device}/{sensor.sensor}"
                    batch.append(RawMessage(self.route, topic, payload, wall))
                # Catch up without a burst if the thread was descheduled for long.
                heapq.heappush(due, (max(at + sensor.interval, now), i))
            if batch:
                self.received += len(batch)
                inbox.put_many(batch)
            self._worker.sleep(max(0.0, due[0][0] - time.monotonic()) if due else 1.0)
