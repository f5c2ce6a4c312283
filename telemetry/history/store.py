"""Every series by id, with a cap on how many exist."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from telemetry.history.catalog import CatalogEntry
from telemetry.history.ring import Ring
from telemetry.history.rollup import Rollup
from telemetry.history.series import Series, SeriesSnapshot
from telemetry.model import Reading


class Store:
    def __init__(
        self,
        max_series: int,
        raw_points: int,
        raw_span: float,
        rollups: tuple[tuple[float, float], ...] = (),
    ) -> None:
        self.max_series = max_series
        self.raw_points = raw_points
        self.raw_span = raw_span
        self.rollups = tuple(sorted(rollups))  # (bucket width, kept for), finest first
        self.span = max([raw_span, *(keep for _, keep in self.rollups)])
        self.series: dict[str, Series] = {}
        self.refused_series = 0
        self.tracking = False  # every series keeps what it stores until it is saved

    def track_changes(self, whole: bool) -> None:
        """From now on every series keeps the points it stores until they are saved
        (`Series.take_changes`); `whole`: what they hold now is not saved yet."""
        self.tracking = True
        for series in self.series.values():
            series.track_changes(whole)

    def get(self, sid: str) -> Series | None:
        return self.series.get(sid)

    def entries(self) -> Iterator[CatalogEntry]:
        """The catalog: every series' entry."""
        for series in self.series.values():
            yield series.entry

    def create(self, reading: Reading, source: str, unit: str | None) -> Series | None:
        """A new series for `reading`'s id (its first point not yet stored), or None
        (counted) when the cap is reached; the restored one when it came from disk."""
        restored = self.series.get(reading.series)
        if restored is not None:
            return restored
        if len(self.series) >= self.max_series:
            self.refused_series += 1
            return None
        entry = CatalogEntry(
            reading.series,
            reading.device,
            reading.sensor,
            unit,
            source,
            reading.recv_ts,
            reading.ts,
            reading.value,
            kind=reading.kind,
        )
        ring = Ring(self.raw_points, self.raw_span)
        series = Series(entry, ring, [Rollup(width, keep) for width, keep in self.rollups])
        if self.tracking:
            series.track_changes(whole=False)
        self.series[entry.id] = series
        return series

    def remove(self, sid: str) -> Series | None:
        """Take the series out, its ring and rollups with it; None when unknown."""
        return self.series.pop(sid, None)

    def restore(self, saved: Iterable[SeriesSnapshot]) -> list[str]:
        """Add the series saved earlier, in today's shape, as many as the cap allows;
        the ids added.  All are rebuilt before any is added: ValueError, and nothing
        added, when the saved arrays of one do not fit together."""
        built = [Series.restore(s, self.raw_points, self.raw_span, self.rollups) for s in saved]
        added = []
        for series in built:
            if series.id not in self.series and len(self.series) >= self.max_series:
                continue
            if self.tracking:
                series.track_changes(whole=True)
            self.series[series.id] = series
            added.append(series.id)
        return added

    def nbytes(self) -> int:
        """Bytes held by every series' arrays."""
        return sum(series.nbytes for series in self.series.values())
