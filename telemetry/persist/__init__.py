"""Optional persistence of the history (see `history.History`)."""

from telemetry.persist.snapshot import History, UnreadableHistory

__all__ = ["History", "UnreadableHistory"]
