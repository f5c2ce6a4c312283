"""Log records put back into a store, in order, through the series' own methods.

Runs are gathered over many records, sorted by series (each series' in order)
and replayed a series at a time (`Series.replay` puts the flushes of
consecutive runs in at once, to the same bits): a load costs numpy work by the
point and Python work by the series, not by the commits times the series.  The
runs gathered go in when a record declares or replaces a series they belong
to, when `PENDING` points wait, and at the end of the log.
"""

from __future__ import annotations

import itertools

import numpy as np

from telemetry.history import Runs, SeriesSnapshot, Store
from telemetry.persist.records import BadRecord, Declared, Points, Record

PENDING = 1 << 21  # points gathered before they are replayed: 32 MiB at most

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
        self._batch: list[Points] = []
        self._waiting: set[int] = set()  # keys with runs in the batch
        self._points = 0

    def apply(self, record: Record) -> None:
        """Take one record; BadRecord (or ValueError) when it does not fit, before any
        of it is taken but the series it declares or replaces."""
        named = {*self._keys, *(d.key for d in record.declared), *(k for k, _ in record.whole)}
        unknown = set(record.points.keys.tolist()) - named
        if unknown:
            raise BadRecord(f"points of series {min(unknown)}, which the log never declared")
        changed = {d.key for d in record.declared} | {k for k, _ in record.whole}
        if changed & self._waiting:  # their runs so far go in before they change
            self.finish()
        for d in record.declared:
            self._keys[d.key] = d.id
            series = self.store.get(d.id)
            if series is None:
                self.store.restore([new_series(d)])
            else:
                series.entry.set_unit(d.unit)
            self.declared[d.id] = (d.key, meta(d))
        for key, whole in record.whole:
            self._keys[key] = whole.id
            self.store.restore([whole])
            self.declared[whole.id] = (key, meta(whole))
        if len(record.points.keys):
            self._batch.append(record.points)
            self._waiting.update(record.points.keys.tolist())
            self._points += len(record.points.runs.ts)
        if self._points > PENDING:
            self.finish()

    def finish(self) -> None:
        """Replay the runs gathered, a series at a time."""
        if not self._batch:
            return
        keys = np.concatenate([p.keys for p in self._batch])
        runs = [p.runs for p in self._batch]
        lengths = np.concatenate([r.lengths for r in runs])
        kinds = np.concatenate([r.kinds for r in runs])
        ts = np.concatenate([r.ts for r in runs])
        values = np.concatenate([r.values for r in runs])
        self._batch, self._waiting, self._points = [], set(), 0
        order = np.argsort(keys, kind="stable")  # runs by series, in order within each
        starts = np.cumsum(lengths) - lengths
        firsts = np.flatnonzero(np.diff(keys[order], prepend=-1)).tolist()
        for a, b in itertools.pairwise([*firsts, len(order)]):
            mine = order[a:b]
            series = self.store.get(self._keys[int(keys[mine[0]])])
            if series is None:
                continue  # not restored: the series limit
            n = lengths[mine]
            index = np.repeat(starts[mine] - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))
            series.replay(Runs(n, kinds[mine], ts[index], values[index]))
