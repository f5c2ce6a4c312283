"""Log records put back into a store, in order, through the series' own methods.

Each series' runs are gathered over many records and replayed together
(`Series.replay` puts the flushes of consecutive runs in at once, to the same
bits): the cost of a load grows with the flushes in the log, not with its
commits times its series.  A series' runs wait until a record declares or
replaces that series, or `PENDING` points wait in all, or the log ends.
"""

from __future__ import annotations

import numpy as np

from telemetry.history import Run, SeriesSnapshot, Store
from telemetry.persist.records import BadRecord, Declared, Record

PENDING = 1 << 20  # points gathered before they are replayed: 16 MiB at most

Meta = tuple[str, str, str | None, str, float]  # device, sensor, unit, source, first_seen


def meta(s: SeriesSnapshot | Declared) -> Meta:
    return (s.device, s.sensor, s.unit, s.source, s.first_seen)


def new_series(d: Declared) -> SeriesSnapshot:
    """A series the log declared that the snapshot did not have, as it was created."""
    empty = (np.empty(0), np.empty(0))
    return SeriesSnapshot(
        id=d.id,
        device=d.device,
        sensor=d.sensor,
        unit=d.unit,
        source=d.source,
        first_seen=d.first_seen,
        last_ts=d.last_ts,
        last_value=d.last_value,
        count=d.count,
        raw=empty,
        rollups=(),
        held=empty,
    )


class Replay:
    """Records of one log applied to `store`; `declared`: each series' key and catalog
    fields as the log last declared them (for the commits that follow)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.declared: dict[str, tuple[int, Meta]] = {}
        self._keys: dict[int, str] = {}
        self._pending: dict[str, list[Run]] = {}
        self._points = 0

    def apply(self, record: Record) -> None:
        """Take one record; BadRecord (or ValueError) when it does not fit, before any
        of it is taken but the series it declares or replaces."""
        named = {*self._keys, *(d.key for d in record.declared), *(k for k, _ in record.whole)}
        for key, _ in record.runs:
            if key not in named:
                raise BadRecord(f"points of series {key}, which the log never declared")
        for d in record.declared:
            self._settle(d.id)
            self._keys[d.key] = d.id
            series = self.store.get(d.id)
            if series is None:
                self.store.restore([new_series(d)])
            else:
                series.entry.set_unit(d.unit)
            self.declared[d.id] = (d.key, meta(d))
        for key, whole in record.whole:
            self._settle(whole.id)
            self._keys[key] = whole.id
            self.store.restore([whole])
            self.declared[whole.id] = (key, meta(whole))
        for key, runs in record.runs:
            self._pending.setdefault(self._keys[key], []).extend(runs)
            self._points += sum(len(ts) for ts, _, _ in runs)
        if self._points > PENDING:
            self.finish()

    def _settle(self, sid: str) -> None:
        runs = self._pending.pop(sid, None)
        series = self.store.get(sid)
        if runs and series is not None:  # else not restored: the series limit
            series.replay(runs)

    def finish(self) -> None:
        """Replay every series' gathered runs."""
        for sid in list(self._pending):
            self._settle(sid)
        self._points = 0
