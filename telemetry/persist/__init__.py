"""Optional persistence of the history: a snapshot and a log (see `history`).

- `history.History`: load at start, then a commit every interval;
- `snapshot`: the snapshot file (SQLite), written whole, renamed into place;
- `log`: the log file: framed, checksummed records, appended and synced;
- `records`: one commit's changes as a record's bytes, and back;
- `replay`: records put back into a store at load;
- `copies`: a new snapshot's series, copied a few at a time by the store's owner;
- `alertfile`: the firing alerts, a small JSON file beside the history (the
  runtime imports it when it needs it).
"""

from telemetry.persist.history import Commit, History
from telemetry.persist.snapshot import UnreadableHistory

__all__ = ["Commit", "History", "UnreadableHistory"]
