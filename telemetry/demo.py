"""`telemetry demo`: the real server fed by simulated devices, with no hardware.

In-process simulated sensors of several shapes and rates feed the same
normalizer, store and hub as real readers do.
"""

from __future__ import annotations

from collections.abc import Callable

from simulators.inprocess import SimulatedSource, demo_sensors
from telemetry.config import Config
from telemetry.server import make_server
from telemetry.sources import Source


def run_demo(config: Config, on_ready: Callable[[str], None]) -> int:
    sources: list[Source] = [SimulatedSource("demo", demo_sensors())]
    make_server(config, sources, on_ready=on_ready).run()
    return 0
