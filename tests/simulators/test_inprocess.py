"""The in-process simulated source: each sensor on its own schedule."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from typing import cast

from simulators import signals
from simulators.inprocess import SimSensor, SimulatedSource
from telemetry.handoff import Inbox
from telemetry.model import RawMessage


class Recorder:
    """Stands in for the inbox: when each topic was handed over."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, str]] = []
        self.lock = threading.Lock()

    def put_many(self, msgs: Sequence[RawMessage]) -> None:
        with self.lock:
            self.seen.extend((time.monotonic(), m.topic) for m in msgs)


def test_a_sensor_with_a_phase_reads_between_the_others_not_with_them() -> None:
    flat = signals.sawtooth(0.0, 1.0, 10.0)
    source = SimulatedSource(
        "sim",
        [SimSensor("a", "x", None, 1.0, flat), SimSensor("b", "x", None, 1.0, flat, phase=0.5)],
    )
    recorder = Recorder()
    source.start(cast(Inbox, recorder))
    time.sleep(1.8)  # a at 0 and 1 s, b at 0.5 and 1.5 s
    source.stop()
    assert [topic for _, topic in recorder.seen] == ["a/x", "b/x", "a/x", "b/x"]
