"""History: one module per noun.

- `ring.Ring`: a series' recent raw points;
- `rollup.Rollup`: fixed-width buckets (first, last, min, max, mean, count);
- `catalog.CatalogEntry`: what the catalog says of a series;
- `changes.Changes`: what a series stored since the history was last saved;
- `series.Series`: owns one entry, one ring, its rollups and the points it holds,
  and is the only way in: `append`/`extend`, `query`, `raw`, `snapshot`/`restore`,
  `take_changes` (what it stored since the last save), `nbytes`;
- `store.Store`: every series by id, with the cap.

Pure and synchronous: no asyncio, no I/O.
"""

from telemetry.history.catalog import CatalogEntry
from telemetry.history.changes import FLUSHED, HELD, KINDS, LATE, Changes, Run, Runs
from telemetry.history.ring import FloatArray, Ring
from telemetry.history.rollup import Rollup
from telemetry.history.series import HOLD, Answer, Series, SeriesSnapshot
from telemetry.history.store import Store

__all__ = [
    "FLUSHED",
    "HELD",
    "HOLD",
    "KINDS",
    "LATE",
    "Answer",
    "CatalogEntry",
    "Changes",
    "FloatArray",
    "Ring",
    "Rollup",
    "Run",
    "Runs",
    "Series",
    "SeriesSnapshot",
    "Store",
]
