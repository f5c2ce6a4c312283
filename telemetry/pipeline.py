"""From raw messages to history and the next live frame; pure and synchronous.

`Pipeline.ingest(batch)` normalizes each message, applies the series' rule
(unit override, filters), stores the point and folds it into the pending tick:
one entry per series, however many readings arrived in the tick.
`take_tick()` hands that over to the hub and starts a new tick.
"""

from __future__ import annotations

import fnmatch
import logging
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from telemetry import filters
from telemetry.config import Config, SeriesRule, make_normalizer
from telemetry.logs import RateLimitedLog
from telemetry.model import Availability, RawMessage, Reading
from telemetry.store import SeriesInfo, Store

logger = logging.getLogger(__name__)


class TickPoint:
    """The readings of one series within one tick: last value with min and max."""

    __slots__ = ("count", "high", "low", "ts", "value")

    def __init__(self, ts: float, value: float) -> None:
        self.ts = ts
        self.value = value
        self.low = value
        self.high = value
        self.count = 1

    def add(self, ts: float, value: float) -> None:
        self.ts = ts
        self.value = value
        self.low = min(self.low, value)
        self.high = max(self.high, value)
        self.count += 1

    def as_json(self) -> list[float]:
        if self.count == 1:
            return [self.ts, self.value]
        return [self.ts, self.value, self.low, self.high]


@dataclass(slots=True)
class Tick:
    points: dict[str, TickPoint] = field(default_factory=dict)
    new_series: list[SeriesInfo] = field(default_factory=list)
    availability: dict[str, Availability] = field(default_factory=dict)


def availability_json(a: Availability) -> dict[str, object]:
    return {"device": a.device, "online": a.online, "since": a.ts}


class _SeriesState:
    __slots__ = ("apply", "info", "unit_fixed")

    def __init__(self, info: SeriesInfo, apply: filters.Filter | None, unit_fixed: bool) -> None:
        self.info = info
        self.apply = apply
        self.unit_fixed = unit_fixed  # a [[series]] rule says the unit: payloads do not change it


class Pipeline:
    def __init__(self, config: Config) -> None:
        limits = config.limits
        self.normalizer = make_normalizer(limits)
        self.store = Store(limits.max_series, config.history.raw_points, config.history.raw_span)
        self.rules = config.series
        self.rejected: Counter[str] = Counter()
        self.rejected_by_source: Counter[tuple[str, str]] = Counter()
        self.accepted = 0
        self._state: dict[str, _SeriesState] = {}
        # Devices that said they are online or offline; bounded like the series.
        self.devices: dict[str, Availability] = {}
        self._tick = Tick()
        self._log = RateLimitedLog(logger, interval=30.0)

    def _rule(self, series: str) -> SeriesRule | None:
        for rule in self.rules:
            if fnmatch.fnmatchcase(series, rule.match):
                return rule
        return None

    def _new_series(self, reading: Reading, source: str) -> _SeriesState | None:
        rule = self._rule(reading.series)
        unit = rule.unit if rule is not None and rule.unit else reading.unit
        info = self.store.create(reading, source, unit)
        if info is None:
            self.rejected["series_limit"] += 1
            self._log.warning(
                "series_limit",
                "series %r refused: the limit of %d series is reached",
                reading.series,
                self.store.max_series,
            )
            return None
        state = _SeriesState(
            info,
            filters.build(rule.filters) if rule is not None else None,
            unit_fixed=bool(rule is not None and rule.unit),
        )
        self._state[info.id] = state
        self._tick.new_series.append(info)
        return state

    def ingest(self, batch: Iterable[RawMessage]) -> None:
        for msg in batch:
            outcome = self.normalizer.normalize(msg)
            for error in outcome.errors:
                self.rejected[error.reason] += 1
                # Sources are configured, reasons a fixed set: this stays small.
                self.rejected_by_source[msg.route.source, error.reason] += 1
                self._log.info(
                    error.reason,
                    "rejected from %s %r: %s",
                    msg.route.source,
                    msg.topic,
                    error.detail,
                )
            for reading in outcome.readings:
                self.add(reading, msg.route.source)
            for change in outcome.availability:
                self.set_availability(change)

    def set_availability(self, change: Availability) -> None:
        known = self.devices.get(change.device)
        if known is not None and known.online == change.online:
            return
        if known is None and len(self.devices) >= self.store.max_series:
            self.rejected["device_limit"] += 1
            return
        self.devices[change.device] = change
        self._tick.availability[change.device] = change

    def add(self, reading: Reading, source: str) -> None:
        """Store one reading and fold it into the pending tick."""
        state = self._state.get(reading.series)
        if state is None:
            state = self._new_series(reading, source)
            if state is None:
                return
        elif reading.unit is not None and reading.unit != state.info.unit and not state.unit_fixed:
            # A unit learned after the first reading (a Homie `$unit` that arrives after
            # the retained value, a discovery config): the catalog changes with it.
            state.info.unit = reading.unit
            if state.info not in self._tick.new_series:
                self._tick.new_series.append(state.info)
        value = reading.value
        if state.apply is not None:
            filtered = state.apply(value)
            if filtered is None:
                self.rejected["filtered"] += 1
                return
            value = filtered
        if not self.store.append(state.info, reading.ts, value):
            self.rejected["out_of_order"] += 1
            return
        self.accepted += 1
        pending = self._tick.points.get(state.info.id)
        if pending is None:
            self._tick.points[state.info.id] = TickPoint(reading.ts, value)
        else:
            pending.add(reading.ts, value)

    def take_tick(self) -> Tick:
        tick, self._tick = self._tick, Tick()
        return tick
