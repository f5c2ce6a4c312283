"""Per-series history: a bounded ring of recent raw points, and the catalog.

Each series keeps its points in a preallocated numpy buffer twice the ring's
capacity: appends write at the end and, when the end is reached, the newest
half is copied back to the start.  The live points are therefore always one
contiguous, time-ordered slice, so range queries are two binary searches and
an append is amortised O(1).

Points older than the series' newest point are refused and counted for now
(the history work adds out-of-order insertion and rollups).
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from telemetry.model import Reading

FloatArray = npt.NDArray[np.float64]


class Ring:
    """Time-ordered (ts, value) points: at most `capacity`, none older than `span`."""

    __slots__ = ("_end", "_start", "_ts", "_values", "capacity", "span")

    def __init__(self, capacity: int, span: float) -> None:
        self.capacity = capacity
        self.span = span
        self._ts: FloatArray = np.empty(2 * capacity, dtype=np.float64)
        self._values: FloatArray = np.empty(2 * capacity, dtype=np.float64)
        self._start = 0
        self._end = 0

    def __len__(self) -> int:
        return self._end - self._start

    @property
    def last_ts(self) -> float | None:
        return float(self._ts[self._end - 1]) if self._end > self._start else None

    def append(self, ts: float, value: float) -> bool:
        """Add a point; False (and nothing stored) when it is older than the newest."""
        end = self._end
        if end > self._start and ts < self._ts[end - 1]:
            return False
        if end == 2 * self.capacity:
            keep = self.capacity - 1
            self._ts[:keep] = self._ts[end - keep : end]
            self._values[:keep] = self._values[end - keep : end]
            self._start, end = 0, keep
        self._ts[end] = ts
        self._values[end] = value
        self._end = end + 1
        if self._end - self._start > self.capacity:
            self._start = self._end - self.capacity
        return True

    def _live_start(self) -> int:
        if self._end == self._start:
            return self._start
        horizon = self._ts[self._end - 1] - self.span
        return self._start + int(
            np.searchsorted(self._ts[self._start : self._end], horizon, side="left")
        )

    def range(self, start: float, end: float) -> tuple[FloatArray, FloatArray]:
        """Copies of the points with `start <= ts <= end`, oldest first."""
        first = self._live_start()
        ts = self._ts[first : self._end]
        lo = int(np.searchsorted(ts, start, side="left"))
        hi = int(np.searchsorted(ts, end, side="right"))
        return ts[lo:hi].copy(), self._values[first + lo : first + hi].copy()

    def points(self) -> tuple[FloatArray, FloatArray]:
        return self.range(-np.inf, np.inf)


class SeriesInfo:
    """What the catalog says about one series; mutable, owned by the store."""

    __slots__ = (
        "count",
        "device",
        "first_seen",
        "id",
        "last_ts",
        "last_value",
        "refused",
        "ring",
        "sensor",
        "source",
        "unit",
    )

    def __init__(self, reading: Reading, source: str, unit: str | None, ring: Ring) -> None:
        self.id = reading.series
        self.device = reading.device
        self.sensor = reading.sensor
        self.unit = unit
        self.source = source
        self.first_seen = reading.recv_ts
        self.last_ts = reading.ts
        self.last_value = reading.value
        self.count = 0
        self.refused = 0
        self.ring = ring

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "device": self.device,
            "sensor": self.sensor,
            "unit": self.unit,
            "source": self.source,
            "last_value": self.last_value,
            "last_ts": self.last_ts,
            "count": self.count,
        }


class Store:
    """Every series' ring and catalog entry, with a cap on how many series exist."""

    def __init__(self, max_series: int, raw_points: int, raw_span: float) -> None:
        self.max_series = max_series
        self.raw_points = raw_points
        self.raw_span = raw_span
        self.series: dict[str, SeriesInfo] = {}
        self.refused_series = 0

    def create(self, reading: Reading, source: str, unit: str | None) -> SeriesInfo | None:
        """A new series for `reading`, or None (counted) when the cap is reached."""
        if len(self.series) >= self.max_series:
            self.refused_series += 1
            return None
        info = SeriesInfo(reading, source, unit, Ring(self.raw_points, self.raw_span))
        self.series[info.id] = info
        return info

    @staticmethod
    def append(info: SeriesInfo, ts: float, value: float) -> bool:
        if not info.ring.append(ts, value):
            info.refused += 1
            return False
        info.count += 1
        info.last_ts = ts
        info.last_value = value
        return True
