"""From raw messages to history and the next live frame; pure and synchronous.

`Pipeline.ingest(batch)` normalizes each message, applies the series' rule
(unit override, filters, display; `drop`: counted as `dropped` and nothing
else), stores the point and folds it into the pending tick: one entry per
series, however many readings arrived in the tick.  The first `[[series]]`
rule, in file order, whose `match` takes the series id is its rule; later ones
are not looked at.
`take_tick(now)` runs what the monotonic clock drives (throttle windows closing,
heartbeats, stale detection), hands the tick over to the hub and starts a new one.

Every series gets stale detection: a `stale` filter sets the limit; otherwise it
is derived from the series' own rhythm, max(30 s, 5 x the median of its last 8
intervals between readings), once 3 intervals have been seen.  A series that
flips stale or back is announced again in the tick's `new_series`.

The `[[alert]]` rules (`telemetry.alerts`) see every value stored, in order; the
rules a series falls under are found when the series is first seen, so a series
under none pays one truth test.  The stale check runs their clock too.

With `outputs` set (the runtime, when `[output.*]` exist), every stored point
also goes to the tick's `out` list (`telemetry.outputs`).
"""

from __future__ import annotations

import fnmatch
import logging
import math
import statistics
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from telemetry import filters
from telemetry.alerts import Alerts, Watch
from telemetry.config import Config, SeriesRule, make_normalizer
from telemetry.history import CatalogEntry, Series, Store
from telemetry.logs import RateLimitedLog
from telemetry.model import Availability, RawMessage, Reading
from telemetry.outputs import OutPoint

logger = logging.getLogger(__name__)


class TickPoint:
    """The readings of one series within one tick: last value with min and max."""

    __slots__ = ("count", "high", "low", "ts", "value")

    def __init__(
        self, ts: float, value: float, low: float | None = None, high: float | None = None
    ) -> None:
        self.ts = ts
        self.value = value
        self.low = value if low is None else min(low, value)
        self.high = value if high is None else max(high, value)
        self.count = 1

    def add(
        self, ts: float, value: float, low: float | None = None, high: float | None = None
    ) -> None:
        self.ts = ts
        self.value = value
        if low is None or high is None:  # a reading as it came: nearly every one
            # Comparisons, not min and max, which are calls and twice as slow here.
            if value < self.low:
                self.low = value
            elif value > self.high:  # (low <= high)
                self.high = value
        else:  # a filter's window: its min and max, and its last value
            self.low = min(self.low, low, value)
            self.high = max(self.high, high, value)
        self.count += 1


@dataclass(slots=True)
class Tick:
    points: dict[str, TickPoint] = field(default_factory=dict)
    new_series: list[CatalogEntry] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # series deleted in this tick
    availability: dict[str, Availability] = field(default_factory=dict)
    out: list[OutPoint] = field(default_factory=list)  # stored points, when outputs exist


STALE_FLOOR = 30.0  # seconds: the derived stale limit is never shorter
STALE_FACTOR = 5.0  # times the median interval between readings
STALE_INTERVALS = 8  # the recent intervals the median is taken over
STALE_MIN_INTERVALS = 3  # fewer seen: no derived limit yet, never stale
STALE_CHECK_EVERY = 1.0  # seconds between stale checks over all series


class _SeriesState:
    __slots__ = (
        "chain",
        "entry",
        "intervals",
        "seen",
        "series",
        "stale_after",
        "unit_fixed",
        "watches",
    )

    def __init__(
        self,
        series: Series,
        rule: SeriesRule | None,
        unit_fixed: bool,
        now: float,
        watches: tuple[Watch, ...] = (),
    ) -> None:
        self.series = series
        self.entry = series.entry
        self.chain = filters.build(rule.filters) if rule is not None else None
        self.unit_fixed = unit_fixed  # a [[series]] rule says the unit: payloads do not change it
        self.stale_after = filters.stale_after(rule.filters) if rule is not None else None
        self.seen = now  # monotonic arrival of the last reading (heartbeats are not readings)
        self.intervals: deque[float] = deque(maxlen=STALE_INTERVALS)
        self.watches = watches  # the [[alert]] rules on this series, found once

    def arrived(self, now: float) -> None:
        self.intervals.append(now - self.seen)
        self.seen = now

    def stale_limit(self) -> float | None:
        """Seconds without a reading after which the series is stale; None: not yet known."""
        if self.stale_after is not None:
            return self.stale_after
        if len(self.intervals) < STALE_MIN_INTERVALS:
            return None
        return max(STALE_FLOOR, STALE_FACTOR * statistics.median(self.intervals))


class Pipeline:
    def __init__(self, config: Config, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        limits = config.limits
        self.normalizer = make_normalizer(limits)
        history = config.history
        self.store = Store(limits.max_series, history.raw_points, history.raw_span, history.rollups)
        self.rules = config.series
        self.rejected: Counter[str] = Counter()
        self.rejected_by_source: Counter[tuple[str, str]] = Counter()
        self.accepted = 0
        self.deleted = 0  # series deleted (`delete`)
        self._state: dict[str, _SeriesState] = {}
        self._windowed: dict[str, _SeriesState] = {}  # series whose filters act on ticks
        # Ids a `drop` rule matched: skipped without matching the rules again; at
        # most `max_series` remembered (past that, each reading is matched again).
        self._dropped: set[str] = set()
        self._stale_checked = -math.inf
        # Devices that said they are online or offline; bounded like the series.
        self.devices: dict[str, Availability] = {}
        self._tick = Tick()
        self._log = RateLimitedLog(logger, interval=30.0)
        self.alerts = Alerts(config.alerts, clock)
        # Set by the runtime when outputs exist: every stored point goes to `Tick.out`.
        self.outputs = False

    @property
    def ticking(self) -> bool:
        """Whether some series' filters act on the clock (`take_tick` every tick)."""
        return bool(self._windowed)

    def _rule(self, series: str) -> SeriesRule | None:
        for rule in self.rules:
            if fnmatch.fnmatchcase(series, rule.match):
                return rule
        return None

    def settle(self) -> list[str]:
        """Apply the `[[series]]` rules to the series restored from disk: the display
        they give, and `drop` rules remove the series they match from the store;
        the ids removed."""
        removed = []
        for sid, series in list(self.store.series.items()):
            rule = self._rule(sid)
            if rule is not None and rule.drop:
                self.store.remove(sid)
                removed.append(sid)
            else:
                if rule is not None:
                    series.entry.show_as(rule.name, rule.hide, rule.chart)
                # Watched from start: a restored series that says nothing goes stale.
                self.alerts.watches(sid)
        return removed

    def delete(self, sid: str) -> bool:
        """Forget a series and its history; the next tick tells the streams.  False when
        there is no such series.  A reading that arrives later starts it anew."""
        series = self.store.remove(sid)
        if series is None:
            return False
        self._state.pop(sid, None)
        self._windowed.pop(sid, None)
        self.alerts.forget(sid)
        tick = self._tick
        tick.points.pop(sid, None)
        if series.entry in tick.new_series:
            tick.new_series.remove(series.entry)
        tick.removed.append(sid)
        self.deleted += 1
        return True

    def _drop(self, source: str) -> None:
        """A reading of a series a `drop` rule names: counted, nothing else."""
        self.rejected["dropped"] += 1
        self.rejected_by_source[source, "dropped"] += 1

    def _new_series(self, reading: Reading, source: str, now: float) -> _SeriesState | None:
        rule = self._rule(reading.series)
        if rule is not None and rule.drop:
            if len(self._dropped) < self.store.max_series:
                self._dropped.add(reading.series)
            self._drop(source)
            return None
        unit = rule.unit if rule is not None and rule.unit else reading.unit
        series = self.store.create(reading, source, unit)
        if series is None:
            self.rejected["series_limit"] += 1
            self.rejected_by_source[source, "series_limit"] += 1
            self._log.warning(
                "series_limit",
                "series %r refused: the limit of %d series is reached",
                reading.series,
                self.store.max_series,
            )
            return None
        if rule is not None:
            series.entry.show_as(rule.name, rule.hide, rule.chart)
        unit_fixed = bool(rule is not None and rule.unit)
        state = _SeriesState(series, rule, unit_fixed, now, self.alerts.watches(series.id))
        self._state[series.id] = state
        if state.chain is not None and state.chain.windowed:
            self._windowed[series.id] = state
        self._tick.new_series.append(series.entry)
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
            if outcome.readings:
                now = self.clock()  # a message's readings arrive together
                source = msg.route.source
                for reading in outcome.readings:
                    self.add(reading, source, now)
            for series, unit in outcome.units:
                self._learned_unit(series, unit)
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

    def _learned_unit(self, series: str, unit: str) -> None:
        """Metadata taught the unit of a series that had readings without one: the
        catalog changes now, not at its next reading."""
        state = self._state.get(series)
        if state is not None and not state.unit_fixed and state.entry.set_unit(unit):
            self._announce(state.entry)

    def _second_source(self, entry: CatalogEntry) -> None:
        """A series is fed by another reader too: said once, and shown in the catalog."""
        logger.warning(
            "series %r is fed by %s: two devices of the same name interleave in one series "
            "(give one subscription or port a prefix)",
            entry.id,
            " and ".join(repr(s) for s in entry.sources),
        )
        self._announce(entry)

    def _announce(self, entry: CatalogEntry) -> None:
        """Send the series' catalog entry again with the next tick."""
        if entry not in self._tick.new_series:
            self._tick.new_series.append(entry)

    def add(self, reading: Reading, source: str, now: float) -> None:
        """Filter one reading that arrived at `now` (the pipeline's clock), store what
        passes and fold it into the pending tick."""
        state = self._state.get(reading.series)
        if state is None:
            if reading.series in self._dropped:
                self._drop(source)
                return
            state = self._new_series(reading, source, now)
            if state is None:
                return
        else:
            state.arrived(now)
            unit = reading.unit
            # A unit learned after the first reading (a Homie `$unit` that arrives
            # after the retained value, a discovery config): the catalog changes.
            if unit is not None and not state.unit_fixed and state.entry.set_unit(unit):
                self._announce(state.entry)
            if reading.kind != state.entry.kind and state.entry.set_kind(reading.kind):
                self._announce(state.entry)
            if source != state.entry.source and state.entry.fed_by(source):
                self._second_source(state.entry)
        if state.entry.stale and state.entry.mark_live():
            self._announce(state.entry)
        if state.chain is None:
            if self._emit(state, now, reading.ts, reading.value):
                self.accepted += 1
            return
        points = state.chain.push(reading.ts, reading.value, now)
        if points is None:
            self.rejected["filtered"] += 1
            return
        stored = [self._emit(state, now, p.ts, p.value, low=p.low, high=p.high) for p in points]
        if not points or any(stored):  # held in a throttle window counts as accepted
            self.accepted += 1

    def _emit(
        self,
        state: _SeriesState,
        now: float,
        ts: float,
        value: float,
        *,
        low: float | None = None,
        high: float | None = None,
    ) -> bool:
        entry = state.entry
        late = ts < entry.last_ts
        refused = state.series.append(ts, value)
        if refused is not None:
            self.rejected[refused] += 1
            return False
        if self.outputs:
            self._tick.out.append(
                OutPoint(entry.id, entry.device, entry.sensor, ts, value, entry.unit, entry.kind)
            )
        if late:  # in history at its place; the live frames and alerts only move forward
            return True
        if state.watches:
            self.alerts.reading(state.watches, value, now)
        points = self._tick.points
        pending = points.get(entry.id)
        if pending is None:
            points[entry.id] = TickPoint(ts, value, low, high)
        else:
            pending.add(ts, value, low, high)
        return True

    def _check_stale(self, now: float) -> None:
        for state in self._state.values():
            # A derived limit is never under STALE_FLOOR: a series heard from since
            # then is live, without the median of its intervals.
            if state.entry.stale or (state.stale_after is None and now - state.seen <= STALE_FLOOR):
                continue
            limit = state.stale_limit()
            if limit is not None and now - state.seen > limit and state.entry.mark_stale():
                self._announce(state.entry)

    def take_tick(self, now: float | None = None) -> Tick:
        """Run the clock-driven filters and stale checks, then hand the tick over."""
        now = self.clock() if now is None else now
        for state in self._windowed.values():
            assert state.chain is not None
            for p in state.chain.tick(now):
                self._emit(state, now, p.ts, p.value, low=p.low, high=p.high)
        if now - self._stale_checked >= STALE_CHECK_EVERY:
            self._stale_checked = now
            self._check_stale(now)
            self.alerts.check(now)
        tick, self._tick = self._tick, Tick()
        return tick
