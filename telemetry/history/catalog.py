"""What the catalog says of one series: its names, unit, kind, sources, last point,
counts, stale flag.

Written only through its methods: the series it belongs to records each stored
or refused point (`stored`, `refused_one`); the pipeline sets the unit and kind
it learns, the sources that feed the series, the stale flag and what the
`[[series]]` rule says of its display (`set_unit`, `set_kind`, `fed_by`,
`mark_stale`, `mark_live`, `show_as`), and is told whether anything changed, so
it announces the entry again only then.

`name`, `hide` and `chart` come from the configuration, never from the file
the history is saved to: a changed rule applies to saved series at the next
start.

`kind` is `number`, or `state` for on/off readings (1/0).  `sources` are the
readers (brokers, serial ports) whose readings the series holds, the first
one first (`source`): two of them mean two devices of the same name
interleave in one series, which the catalog shows rather than hides.
"""

from __future__ import annotations


class CatalogEntry:
    __slots__ = (
        "chart",
        "count",
        "device",
        "first_seen",
        "hide",
        "id",
        "kind",
        "last_ts",
        "last_value",
        "name",
        "refused",
        "sensor",
        "source",
        "sources",
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
        kind: str = "number",
    ) -> None:
        self.id = sid
        self.device = device
        self.sensor = sensor
        self.unit = unit
        self.source = source
        self.sources: tuple[str, ...] = (source,)
        self.kind = kind
        self.first_seen = first_seen
        self.last_ts = last_ts
        self.last_value = last_value
        self.count = count
        self.refused = 0
        self.stale = False
        self.name: str | None = None
        self.hide = False
        self.chart: str | None = None

    def stored(self, ts: float, value: float) -> None:
        """A point went into the series' history."""
        self.count += 1
        if ts >= self.last_ts:
            self.last_ts = ts
            self.last_value = value

    def stored_run(self, n: int, ts: float, value: float) -> None:
        """`n` points went in at once, in time order, the newest at (`ts`, `value`): as
        `stored` of each would."""
        self.count += n
        if ts >= self.last_ts:
            self.last_ts = ts
            self.last_value = value

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

    def set_kind(self, kind: str) -> bool:
        """Take the kind of the latest reading; True when it changed."""
        if kind == self.kind:
            return False
        self.kind = kind
        return True

    def fed_by(self, source: str) -> bool:
        """Note that `source` feeds this series; True the first time a second (or
        further) source does."""
        if source in self.sources:
            return False
        self.sources = (*self.sources, source)
        return True

    def show_as(self, name: str | None, hide: bool, chart: str | None) -> bool:
        """Take the display a `[[series]]` rule gives; True when it changed."""
        if (name, hide, chart) == (self.name, self.hide, self.chart):
            return False
        self.name, self.hide, self.chart = name, hide, chart
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
