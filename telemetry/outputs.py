"""Where readings leave the server: the `[output.*]` outputs, as the core sees them.

The pipeline, when the runtime says outputs exist (`Pipeline.outputs`), adds every
point it stores to the pending tick as an `OutPoint` (`Tick.out`): what the
history stores, after the series' rule (unit override, filters, `drop`), late
points included (a database wants them; a republisher may skip them).  At each
tick the hub hands the tick's points and the ids of the series deleted in it to
`Outputs.submit`, on the event loop: every output queues what it wants and
returns at once, never waiting on a broker or a database.  Each output owns its
queue, thread(s) and counters, and reports an `OutputStatus`.

The outputs themselves live beside the readers, in `devices/`: the core knows
them only through the `Output` protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple, Protocol


class OutPoint(NamedTuple):
    """One stored point of one series, as it leaves the server."""

    series: str  # `device/sensor`
    device: str
    sensor: str
    ts: float  # epoch seconds: the device's time when it gave one, else the receive time
    value: float
    unit: str | None
    kind: str  # "number" or "state"


@dataclass(frozen=True, slots=True)
class OutputStatus:
    """One output's state and counters, as `/api/series`, `/metrics` and `/healthz`
    show them."""

    name: str
    type: str  # "mqtt", "influx", ...
    state: str  # "ok", "connecting", "failing", "stopped"
    sent: int  # points (or messages) delivered
    failed: int  # attempts that failed (each retry counts)
    dropped: int  # points discarded: the buffer was full, or the server stopped
    queued: int  # waiting in the buffer
    last_error: str | None


class Output(Protocol):
    """One configured output."""

    def submit(self, points: Sequence[OutPoint], removed: Sequence[str]) -> None:
        """Queue a tick's points and the series deleted in it; never waits."""
        ...

    def status(self) -> OutputStatus: ...

    def stop(self, timeout: float) -> None:
        """Flush what it can within `timeout` seconds, then let go."""
        ...


class Outputs:
    """Every configured output, as one."""

    def __init__(self, outputs: Sequence[Output]) -> None:
        self.outputs = list(outputs)

    def submit(self, points: Sequence[OutPoint], removed: Sequence[str]) -> None:
        for output in self.outputs:
            output.submit(points, removed)

    def statuses(self) -> list[OutputStatus]:
        return [output.status() for output in self.outputs]

    def stop(self, timeout: float) -> None:
        for output in self.outputs:
            output.stop(timeout)
