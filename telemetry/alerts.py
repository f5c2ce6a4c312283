"""Alert rules at work: per rule and series, `ok` -> `pending` -> `firing` -> `resolved`.

Pure and synchronous, like the pipeline that drives it.  A `Watch` is one rule
watching one series (or, for a `reader` rule, one reader).  The rules a series
falls under are found once, when the series is first seen (`watches`), and the
pipeline keeps the tuple with the series: a series that no rule matches costs
one truth test per reading.

- On a reading (`reading`): `above`/`below` hold while the value is past the
  threshold, and go on holding until it is back at `clear` (hysteresis);
  `outside` holds while the value is outside [low, high]; `state` while the
  series is in the named state (1 on, 0 off); any reading ends `stale`.
- On the clock (`check`, from the pipeline's stale check, which runs on the
  ticks and on the hub's quiet wake-up: no timer of its own): `stale` starts
  to hold after its silence, `pending` becomes `firing` once the condition
  has held `for`, and a firing watch with `repeat` is noticed again.
- From the readers' states (`readers`, from the hub, which reads them every
  publish): a reader that failed to connect or lost its connection holds
  until it is connected again; one still making its first attempt does not.

A condition that holds makes a watch `pending` (or `firing` at once when `for`
is 0); one that ends makes it `ok` from `pending`, `resolved` from `firing`.
`resolved` counts as `ok` for what follows.  Each change is recorded with the
value and the wall-clock time (`changes`, the last `MAX_CHANGES`), queued for
the stream (`take`), and, when it fires or resolves or repeats, queued for the
sinks (`notices`, taken by `take_notices` on the loop and handed to
`devices.sinks`).

No alert storm after a restart: silences are counted from the engine's start,
not from the last reading before it (a restored series goes stale only after
its `stale` duration has passed since start), and the value conditions need a
reading seen since start.  With a history file, the runtime keeps what was
firing (`firing`, `restore`): it comes back firing and is not noticed again.
The watches are capped (`max_states`); a rule that
would go past the cap does not watch that series, counted in `refused`.
"""

from __future__ import annotations

import fnmatch
import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from telemetry.config import AlertRule
from telemetry.logs import escape
from telemetry.sources import SourceStatus

logger = logging.getLogger(__name__)

OK, PENDING, FIRING, RESOLVED = "ok", "pending", "firing", "resolved"
_ACTIVE = (PENDING, FIRING)
MAX_STATES = 10_000  # (rule, series) pairs watched at once
MAX_CHANGES = 1000  # changes kept for `GET /api/alerts`
_GLOB = frozenset("*?[")


@dataclass(frozen=True, slots=True)
class Change:
    """A watch's state, as it changed (or as it is, for a snapshot of the states)."""

    rule: str
    series: str  # the series id; a reader rule's: the reader's name
    condition: str
    state: str
    previous: str
    since: float  # wall-clock time of the change
    value: float | None  # the last value seen (None: none yet, or a reader)


class Watch:
    """One rule watching one series or reader.  Mutable and slotted: one per pair,
    changed on each reading of its series."""

    __slots__ = (
        "held_since",
        "notified",
        "previous",
        "rule",
        "seen",
        "series",
        "since",
        "state",
        "value",
    )

    def __init__(self, rule: AlertRule, series: str, now: float, wall: float) -> None:
        self.rule = rule
        self.series = series
        self.state = OK
        self.previous = OK
        self.since = wall  # wall-clock time of the last change
        self.value: float | None = None
        self.held_since = now  # monotonic: when the condition began to hold
        self.seen = now  # monotonic: the last reading (`stale`), counted from start at most
        self.notified = now  # monotonic: the last notice (`repeat`)

    @property
    def active(self) -> bool:
        return self.state in _ACTIVE

    def record(self) -> Change:
        return Change(
            self.rule.name,
            self.series,
            self.rule.condition,
            self.state,
            self.previous,
            self.since,
            self.value,
        )


def _holds(rule: AlertRule, active: bool, value: float) -> bool:
    """Whether a value condition holds for `value`, given whether it held before."""
    condition = rule.condition
    if condition == "above":
        assert rule.threshold is not None and rule.clear is not None
        return value > (rule.clear if active else rule.threshold)
    if condition == "below":
        assert rule.threshold is not None and rule.clear is not None
        return value < (rule.clear if active else rule.threshold)
    if condition == "outside":
        assert rule.low is not None and rule.high is not None
        return value < rule.low or value > rule.high
    if condition == "state":
        return (value >= 0.5) == bool(rule.state)
    return False  # `stale`: a reading ends it


class Alerts:
    def __init__(
        self,
        rules: Sequence[AlertRule],
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        max_states: int = MAX_STATES,
    ) -> None:
        self.rules = tuple(rules)
        self.clock = clock
        self.wall = wall
        self.max_states = max_states
        self.start = clock()
        self._series_rules = tuple(r for r in self.rules if r.condition != "reader")
        self._reader_rules = tuple(r for r in self.rules if r.condition == "reader")
        self._watches: dict[str, tuple[Watch, ...]] = {}  # by series id, only when any
        self._readers: dict[str, tuple[Watch, ...]] = {}  # by reader name
        self._timed: set[Watch] = set()  # what the clock drives: stale, pending, repeating
        self.count = 0  # watches in all
        self.refused = 0  # watches not made: the cap was reached
        self.changes: deque[Change] = deque(maxlen=MAX_CHANGES)
        self.notices: deque[Change] = deque(maxlen=MAX_CHANGES)  # for the sinks
        self._outbox: list[Change] = []
        # A stale rule naming a series outright watches it from the start: a series
        # that never says a word after a restart still goes stale.
        for rule in self._series_rules:
            if rule.condition == "stale":
                for pattern in rule.match:
                    if not _GLOB & set(pattern):
                        self.watches(pattern)

    def _make(self, rules: Iterable[AlertRule], name: str) -> tuple[Watch, ...]:
        now, wall = self.clock(), self.wall()
        made = []
        for rule in rules:
            if not any(fnmatch.fnmatchcase(name, p) for p in rule.match):
                continue
            if self.count >= self.max_states:
                self.refused += 1
                logger.warning(
                    "alert %s does not watch %s: the limit of %d alert states is reached",
                    rule.name,
                    escape(name),
                    self.max_states,
                )
                continue
            watch = Watch(rule, name, now, wall)
            self.count += 1
            if rule.condition == "stale":
                self._timed.add(watch)
            made.append(watch)
        return tuple(made)

    def watches(self, sid: str) -> tuple[Watch, ...]:
        """The watches of series `sid`, made the first time it is asked for."""
        found = self._watches.get(sid)
        if found is None:
            found = self._make(self._series_rules, sid)
            if found:
                self._watches[sid] = found
        return found

    def forget(self, sid: str) -> None:
        """Series `sid` was deleted: its watches go, with no change recorded."""
        for watch in self._watches.pop(sid, ()):
            self._timed.discard(watch)
            self.count -= 1

    # -- evaluation ------------------------------------------------------------------

    def reading(self, watches: tuple[Watch, ...], value: float, now: float) -> None:
        """A value stored in the series `watches` watch, at `now` (monotonic)."""
        for watch in watches:
            watch.value = value
            watch.seen = now
            active = watch.state in _ACTIVE
            holds = _holds(watch.rule, active, value)
            # Most readings leave an idle watch idle, which `_step` would not change:
            # every watched reading passes here, so that case costs no further call.
            if holds or active:
                self._step(watch, holds, now)

    def check(self, now: float) -> None:
        """What the clock drives: silences, `for` and `repeat`."""
        for watch in list(self._timed):
            rule = watch.rule
            if rule.condition == "stale":
                assert rule.stale is not None
                self._step(watch, now - watch.seen > rule.stale, now)
            elif watch.state == PENDING:
                self._step(watch, True, now)
            if watch.state == FIRING and rule.repeat and now - watch.notified >= rule.repeat:
                watch.notified = now
                self.notices.append(watch.record())

    def readers(self, statuses: Iterable[SourceStatus]) -> None:
        """The readers' states now (the hub's, every publish)."""
        if not self._reader_rules:
            return
        now = self.clock()
        for status in statuses:
            watches = self._readers.get(status.name)
            if watches is None:
                watches = self._readers[status.name] = self._make(self._reader_rules, status.name)
            for watch in watches:
                # "connecting" is a first attempt, or a retry after a failure: it
                # changes nothing; "stopped" is the server shutting down.
                if status.state == "disconnected":
                    self._step(watch, True, now)
                elif status.state in ("connected", "stopped"):
                    self._step(watch, False, now)

    def _step(self, watch: Watch, holds: bool, now: float) -> None:
        state = watch.state
        if holds and not watch.active:
            watch.held_since = now
            self._change(watch, FIRING if watch.rule.hold <= 0 else PENDING, now)
        elif holds and state == PENDING and now - watch.held_since >= watch.rule.hold:
            self._change(watch, FIRING, now)
        elif not holds and state == PENDING:
            self._change(watch, OK, now)
        elif not holds and state == FIRING:
            self._change(watch, RESOLVED, now)

    def _change(self, watch: Watch, state: str, now: float) -> None:
        watch.previous, watch.state, watch.since = watch.state, state, self.wall()
        if state in (PENDING, FIRING) and watch.rule.condition != "stale":
            self._timed.add(watch)  # `for` to count, or `repeat` to notice
        elif watch.rule.condition != "stale":
            self._timed.discard(watch)
        change = watch.record()
        self.changes.append(change)
        self._outbox.append(change)
        if state in (FIRING, RESOLVED):
            watch.notified = now
            self.notices.append(change)
        logger.info(
            "alert %s on %s: %s -> %s (value %s)",
            watch.rule.name,
            escape(watch.series),
            watch.previous,
            state,
            watch.value,
        )

    # -- reading out ---------------------------------------------------------------

    def take(self) -> list[Change]:
        """The changes since the last `take` (for the stream)."""
        out, self._outbox = self._outbox, []
        return out

    def take_notices(self) -> list[Change]:
        """The notices (fired, resolved, repeated) since the last call (for the sinks)."""
        out = list(self.notices)
        self.notices.clear()
        return out

    def _every(self) -> Iterator[Watch]:
        """Every watch, readers' after series'."""
        for watches in (*self._watches.values(), *self._readers.values()):
            yield from watches

    def states(self) -> list[Change]:
        """Every watch's state now."""
        return [watch.record() for watch in self._every()]

    def tally(self) -> dict[str, int]:
        """How many watches are in each state now (every state named, 0 included)."""
        counts = dict.fromkeys((OK, PENDING, FIRING, RESOLVED), 0)
        for watch in self._every():
            counts[watch.state] += 1
        return counts

    def firing(self) -> list[Change]:
        """The watches firing now (what a restart keeps, with a history file)."""
        return [w.record() for w in self._every() if w.state == FIRING]

    def restore(self, saved: Iterable[Change]) -> int:
        """Put back the watches that were firing before a restart: firing since their
        time, with their value, without a change recorded nor a notice (they were
        told).  A saved state whose rule is gone, or no longer matches its series,
        is left out.  How many came back."""
        rules = {rule.name: rule for rule in self.rules}
        now = self.clock()
        restored = 0
        for change in saved:
            rule = rules.get(change.rule)
            if rule is None:
                continue
            if rule.condition == "reader":
                watches = self._readers.get(change.series)
                if watches is None:
                    watches = self._make(self._reader_rules, change.series)
                    self._readers[change.series] = watches
            else:
                watches = self.watches(change.series)
            for watch in watches:
                if watch.rule is rule and watch.state == OK:
                    watch.state, watch.since, watch.value = FIRING, change.since, change.value
                    watch.held_since = watch.notified = now
                    if rule.condition != "stale":
                        self._timed.add(watch)
                    restored += 1
        return restored

    def raised(self) -> list[Change]:
        """The watches not ok (pending or firing) now."""
        # Every stream that opens asks: records are made for the raised ones only.
        return [w.record() for w in self._every() if w.active]
