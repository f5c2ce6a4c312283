"""What the catalog says of one series: its names, unit, source, last point, counts, stale flag.

Written only through its methods: the series it belongs to records each stored
or refused point (`stored`, `refused_one`); the pipeline sets the unit it learns
and the stale flag (`set_unit`, `mark_stale`, `mark_live`), and is told whether
anything changed, so it announces the entry again only then.
"""

from __future__ import annotations


class CatalogEntry:
    __slots__ = (
        "count",
        "device",
        "first_seen",
        "id",
        "last_ts",
        "last_value",
        "refused",
        "sensor",
        "source",
        "stale",
        "unit",
    )

    def __init__(  # noqa: PLR0917 (the fields, in the order they are saved)
        self,
        sid: str,
        device: str,
        sensor: str,
        unit: str | None,
        source: str,
        first_seen: float,
        last_ts: float,
        last_value: float,
        count: int = 0,
    ) -> None:
        self.id = sid
        self.device = device
        self.sensor = sensor
        self.unit = unit
        self.source = source
        self.first_seen = first_seen
        self.last_ts = last_ts
        self.last_value = last_value
        self.count = count
        self.refused = 0
        self.stale = False

    def stored(self, ts: float, value: float) -> None:
        """A point went into the series' history."""
        self.count += 1
        if ts >= self.last_ts:
            self.last_ts = ts
            self.last_value = value

    def stored_run(self, count: int, ts: float, value: float) -> None:
        """`count` points went in at once, the newest at `ts` with `value`."""
        self.stored(ts, value)
        self.count += count - 1

    def refused_one(self) -> None:
        """A point was refused (a duplicate, or older than the history reaches)."""
        self.refused += 1

    def set_unit(self, unit: str | None) -> bool:
        """Take a unit learned later (a Homie `$unit`, a discovery config); True when it
        changed."""
        if unit == self.unit:
            return False
        self.unit = unit
        return True

    def mark_stale(self) -> bool:
        """True when the series was live until now."""
        if self.stale:
            return False
        self.stale = True
        return True

    def mark_live(self) -> bool:
        """True when the series was stale until now."""
        if not self.stale:
            return False
        self.stale = False
        return True
