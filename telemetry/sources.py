"""The contract every input adapter implements (MQTT, serial, simulators).

A source owns its threads: `start` returns at once, `stop` returns within its
timeout.  It hands `RawMessage`s to an `Inbox`, never to anything else, and
reports its state through `status()` for the catalog, `/healthz` and the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, Protocol

from telemetry.handoff import Inbox

State = Literal["connecting", "connected", "disconnected", "stopped"]


@dataclass(frozen=True, slots=True)
class SourceStatus:
    name: str
    kind: str
    state: State
    since: float
    last_error: str | None = None
    next_attempt: float | None = None
    received: int = 0

    def as_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "state": self.state,
            "since": self.since,
            "last_error": self.last_error,
            "next_attempt": self.next_attempt,
            "received": self.received,
        }


class Source(Protocol):
    @property
    def name(self) -> str: ...

    def start(self, inbox: Inbox) -> None:
        """Begin reading in the source's own thread(s); return at once."""

    def stop(self, timeout: float = 2.0) -> None:
        """Stop reading and release the device; return within `timeout` seconds."""

    def status(self) -> SourceStatus: ...
