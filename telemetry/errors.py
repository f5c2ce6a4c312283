"""The project's exceptions, one root for all of them.

    TelemetryError
     +-- ConfigError        the configuration is wrong; `.problems` lists each one
     +-- PayloadError       one message could not become readings (counted, skipped)
     +-- SourceError        a reader could not open or keep its device or broker
     +-- PartMissing        a program the command needs (mosquitto, chromium) is absent
     +-- NotRun             the event loop did not run a task a worker thread handed it
     +-- persist.UnreadableHistory, persist.log.UnreadableLog, persist.records.BadRecord:
                            a history file that cannot be read (moved aside or cut, logged)

Each message says what was wrong, where (key, topic, port, line) and what was
expected.  Device-supplied text inside a message is already escaped.
"""

from __future__ import annotations


class TelemetryError(Exception):
    """Root of every error this project raises on purpose."""


class ConfigError(TelemetryError):
    """One or more configuration problems, each a line `key.path: what; expected`."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(self.problems))


class PayloadError(TelemetryError):
    """A message that is not a reading; `reason` is a short stable counter name."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason = reason
        self.detail = detail
        super().__init__(f"{reason}: {detail}")


class SourceError(TelemetryError):
    """A reader failed to reach its device or broker."""


class PartMissing(TelemetryError):
    """An outside program is not installed; the message says how to install it."""


class NotRun(TelemetryError):
    """The event loop did not run a task a worker thread handed it (`telemetry.loopcall`):
    it is closed, or did not get to it in time."""
