"""Per-series filters from `[[series]]` rules, applied to each reading in order.

A filter is a `Step`: `push(point, now)` takes one point and returns the points
to pass on (none: dropped, or held in a window), and `tick(now)` lets windowed
steps (throttle, heartbeat) emit while the source is quiet.  `now` is the
monotonic clock; a point's `ts` is the reading's wall-clock time.  A point a
step emits on its own is stamped with its last point's `ts` advanced by the
monotonic time elapsed since, so it stays in order with real readings.

`check(name, arg)` says why a config entry is unusable; `build(specs)` makes
the `Chain`.  `stale` is a series setting spelled as a filter: the pipeline
reads it with `stale_after(specs)`, the chain ignores it.
"""

from __future__ import annotations

import json
import math
import statistics
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, NamedTuple, Protocol

from telemetry.quantities import DURATION_FORM, format_duration, parse_duration


class Point(NamedTuple):
    ts: float
    value: float
    low: float | None = None  # a throttle window's min and max, for the live frame
    high: float | None = None


class _Spec(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def arg(self) -> Any: ...


class Step:
    """One filter; the base passes every point on and has nothing to do on a tick."""

    windowed = False  # True when `tick` may emit points
    holds = False  # True when an empty `push` means "kept in a window", not dropped

    def push(self, p: Point, now: float) -> list[Point]:
        return [p]

    def tick(self, now: float) -> list[Point]:
        return []


class _Map(Step):
    def __init__(self, fn: Callable[[float], float]) -> None:
        self.fn = fn

    def push(self, p: Point, now: float) -> list[Point]:
        if p.low is None or p.high is None:
            return [Point(p.ts, self.fn(p.value))]
        a, b = self.fn(p.low), self.fn(p.high)  # a negative factor swaps them
        return [Point(p.ts, self.fn(p.value), min(a, b), max(a, b))]


def _line(pairs: list[list[float]]) -> Callable[[float], float]:
    """The least-squares line through (raw, true) pairs; exact through two."""
    n = len(pairs)
    mx = sum(p[0] for p in pairs) / n
    my = sum(p[1] for p in pairs) / n
    sxx = sum((p[0] - mx) ** 2 for p in pairs)
    slope = sum((p[0] - mx) * (p[1] - my) for p in pairs) / sxx
    return lambda v: my + slope * (v - mx)


class _Range(Step):
    def __init__(self, arg: list[float]) -> None:
        self.low, self.high = float(arg[0]), float(arg[1])

    def push(self, p: Point, now: float) -> list[Point]:
        return [p] if self.low <= p.value <= self.high else []


class _Outlier(Step):
    """Reject a value too far from the median of the last `window` accepted ones
    (`max_deviation`) or from the last accepted one (`max_step`).  A run of
    `window` rejections means the level really moved: that value is accepted
    and the window starts again from it, so a genuine step cannot lock a series out.
    """

    def __init__(self, arg: dict[str, Any]) -> None:
        self.size = int(arg.get("window", 5))
        self.max_deviation: float | None = arg.get("max_deviation")
        self.max_step: float | None = arg.get("max_step")
        self.accepted: deque[float] = deque(maxlen=self.size)
        self.rejected_run = 0

    def _outlier(self, v: float) -> bool:
        if self.max_deviation is not None:
            full = len(self.accepted) == self.size
            return full and abs(v - statistics.median(self.accepted)) > self.max_deviation
        assert self.max_step is not None
        return bool(self.accepted) and abs(v - self.accepted[-1]) > self.max_step

    def push(self, p: Point, now: float) -> list[Point]:
        if self._outlier(p.value):
            self.rejected_run += 1
            if self.rejected_run < self.size:
                return []
            self.accepted.clear()
        self.rejected_run = 0
        self.accepted.append(p.value)
        return [p]


class _Deadband(Step):
    """Pass a value when it moved from the last passed one by more than any band."""

    def __init__(self, arg: Any) -> None:
        self.absolute: float | None = None
        self.percent: float | None = None
        for band in arg if isinstance(arg, list) else [arg]:
            if isinstance(band, str):
                self.percent = float(band[:-1])
            else:
                self.absolute = float(band)
        self.last: float | None = None

    def push(self, p: Point, now: float) -> list[Point]:
        last = self.last
        if last is not None:
            change = abs(p.value - last)
            by_abs = self.absolute is not None and change > self.absolute
            by_pct = self.percent is not None and change > abs(last) * self.percent / 100
            if not (by_abs or by_pct):
                return []
        self.last = p.value
        return [p]


class _Throttle(Step):
    """One point per window: the mean or last value, with the window's min and max.

    The first reading passes at once (a new series shows without waiting), and so
    does one further than `jump` from the last value passed on; the window open
    at that moment is closed first.  Windows close on the monotonic clock, so a
    source that goes quiet mid-window still gets its window's point.
    """

    windowed = True
    holds = True

    def __init__(self, arg: Any) -> None:
        table = arg if isinstance(arg, dict) else {"window": arg}
        self.window = parse_duration(table["window"])
        self.mean = table.get("value", "mean") == "mean"
        self.jump: float | None = table.get("jump")
        self.last_out: float | None = None
        self.start: float | None = None  # monotonic time the open window began
        self.values: list[float] = []
        self.last_ts = self.last_mono = 0.0

    def _close(self, end: float, cap: float = math.inf) -> list[Point]:
        values, self.values, self.start = self.values, [], None
        if not values:
            return []
        value = math.fsum(values) / len(values) if self.mean else values[-1]
        self.last_out = value
        ts = min(self.last_ts + (end - self.last_mono), cap)
        return [Point(ts, value, min(values), max(values))]

    def push(self, p: Point, now: float) -> list[Point]:
        out: list[Point] = []
        if self.start is not None and now >= self.start + self.window:
            out = self._close(self.start + self.window, p.ts)
        if self.last_out is None or (
            self.jump is not None and abs(p.value - self.last_out) > self.jump
        ):
            out += self._close(now, p.ts)
            self.last_out = p.value
            return [*out, p]
        if self.start is None:
            self.start = now
        self.values.append(p.value)
        self.last_ts, self.last_mono = p.ts, now
        return out

    def tick(self, now: float) -> list[Point]:
        if self.start is None or now < self.start + self.window:
            return []
        return self._close(self.start + self.window)


class _Heartbeat(Step):
    """Repeat the last point every `every` seconds while nothing new arrives."""

    windowed = True

    def __init__(self, arg: str) -> None:
        self.every = parse_duration(arg)
        self.last: Point | None = None
        self.last_mono = self.beat_mono = 0.0

    def push(self, p: Point, now: float) -> list[Point]:
        self.last, self.last_mono, self.beat_mono = p, now, now
        return [p]

    def tick(self, now: float) -> list[Point]:
        if self.last is None or now - self.beat_mono < self.every:
            return []
        self.beat_mono = now
        return [Point(self.last.ts + (now - self.last_mono), self.last.value)]


def _number(arg: Any) -> bool:
    return isinstance(arg, int | float) and not isinstance(arg, bool) and math.isfinite(arg)


def _show(arg: Any) -> str:
    return json.dumps(arg, ensure_ascii=False)  # as TOML spells it: "x", true, [1, 2]


def _check_number(arg: Any) -> str | None:
    return None if _number(arg) else f"{_show(arg)} is not a finite number"


def _check_positive(arg: Any) -> str | None:
    return None if _number(arg) and arg > 0 else f"{_show(arg)} is not a number above 0"


def _check_range(arg: Any) -> str | None:
    if (
        isinstance(arg, list)
        and len(arg) == 2
        and all(_number(a) for a in arg)
        and arg[0] <= arg[1]
    ):
        return None
    return f"{_show(arg)} is not a range; expected [low, high] with low <= high"


def _check_duration(arg: Any, low: float, high: float) -> str | None:
    try:
        seconds = parse_duration(arg) if isinstance(arg, str) else -1.0
    except ValueError:
        seconds = -1.0
    if seconds < 0:
        return f"{_show(arg)} is not {DURATION_FORM}"
    if not low <= seconds <= high:
        return (
            f"{_show(arg)} is out of range; expected from "
            f"{format_duration(low)} to {format_duration(high)}"
        )
    return None


def _check_keys(arg: dict[str, Any], known: tuple[str, ...]) -> str | None:
    for key in arg:
        if key not in known:
            return f"unknown key {_show(key)}; expected {', '.join(known)}"
    return None


def _check_calibrate(arg: Any) -> str | None:
    pairs = arg if isinstance(arg, list) else []
    if (
        len(pairs) >= 2
        and all(isinstance(p, list) and len(p) == 2 and all(_number(x) for x in p) for p in pairs)
        and len({p[0] for p in pairs}) >= 2
    ):
        return None
    return (
        f"{_show(arg)} is not a calibration; expected [[raw, true], [raw, true], ...] "
        "with at least two different raw values"
    )


def _check_outlier(arg: Any) -> str | None:
    expected = "expected { window = 5, max_deviation = 3.0 } or { max_step = 10.0 }"
    if not isinstance(arg, dict):
        return f"{_show(arg)} is not a table; {expected}"
    problem = _check_keys(arg, ("window", "max_deviation", "max_step"))
    if problem:
        return problem
    if ("max_deviation" in arg) == ("max_step" in arg):
        return f"needs one of max_deviation or max_step; {expected}"
    window = arg.get("window", 5)
    if isinstance(window, bool) or not isinstance(window, int) or not 2 <= window <= 1000:
        return f"window: {_show(window)} is not a whole number from 2 to 1000"
    limit = "max_deviation" if "max_deviation" in arg else "max_step"
    problem = _check_positive(arg[limit])
    return f"{limit}: {problem}" if problem else None


def _check_deadband(arg: Any) -> str | None:
    bands = arg if isinstance(arg, list) and arg else [arg]
    for band in bands:
        if isinstance(band, str) and band.endswith("%"):
            try:
                ok = 0 < float(band[:-1]) < math.inf
            except ValueError:
                ok = False
        else:
            ok = _number(band) and band > 0
        if not ok:
            return (
                f"{_show(arg)} is not a deadband; expected a number above 0, "
                'a percentage such as "2%", or both as [0.5, "2%"]'
            )
    return None


def _check_window(arg: Any) -> str | None:
    return _check_duration(arg, 0.01, 86400.0)


def _check_throttle(arg: Any) -> str | None:
    if not isinstance(arg, dict):
        return _check_window(arg)
    problem = _check_keys(arg, ("window", "value", "jump"))
    if problem:
        return problem
    if "window" not in arg:
        return 'needs a window; expected { window = "10s" }'
    problem = _check_window(arg["window"])
    if problem:
        return f"window: {problem}"
    if arg.get("value", "mean") not in ("mean", "last"):
        return f'value: {_show(arg["value"])} is not one of "mean", "last"'
    problem = _check_positive(arg["jump"]) if "jump" in arg else None
    return f"jump: {problem}" if problem else None


def _check_stale(arg: Any) -> str | None:
    return None if arg == "auto" else _check_duration(arg, 1.0, 7 * 86400.0)


def _map(fn: Callable[[Any], Callable[[float], float]]) -> Callable[[Any], Step]:
    return lambda arg: _Map(fn(arg))


_FILTERS: dict[str, tuple[Callable[[Any], str | None], Callable[[Any], Step] | None]] = {
    "offset": (_check_number, _map(lambda a: lambda v: v + a)),
    "multiply": (_check_number, _map(lambda a: lambda v: v * a)),
    "calibrate": (_check_calibrate, _map(_line)),
    "clamp": (_check_range, _map(lambda a: lambda v: min(max(v, a[0]), a[1]))),
    "range": (_check_range, _Range),
    "outlier": (_check_outlier, _Outlier),
    "deadband": (_check_deadband, _Deadband),
    "throttle": (_check_throttle, _Throttle),
    "heartbeat": (lambda arg: _check_duration(arg, 0.1, 86400.0), _Heartbeat),
    "stale": (_check_stale, None),  # read by the pipeline, see stale_after()
}
NAMES = tuple(_FILTERS)


def check(name: str, arg: Any) -> str | None:
    """Why `{name = arg}` is not a usable filter, or None."""
    entry = _FILTERS.get(name)
    if entry is None:
        return f"unknown filter; expected one of {', '.join(NAMES)}"
    return entry[0](arg)


def stale_after(specs: Iterable[_Spec]) -> float | None:
    """The `stale` limit in seconds the specs set, or None for the derived one."""
    for spec in specs:
        if spec.name == "stale" and spec.arg != "auto":
            return parse_duration(spec.arg)
    return None


class Chain:
    """Steps applied in order; what one step emits on a tick goes through the rest."""

    def __init__(self, steps: list[Step]) -> None:
        self.steps = steps
        self.windowed = any(s.windowed for s in steps)

    def _run(self, points: list[Point], first: int, now: float) -> list[Point] | None:
        for step in self.steps[first:]:
            points = [out for p in points for out in step.push(p, now)]
            if not points:
                return [] if step.holds else None
        finite = [_finite_span(p) for p in points if math.isfinite(p.value)]
        return finite or None

    def push(self, ts: float, value: float, now: float) -> list[Point] | None:
        """The points to store for one reading: None when it was dropped, [] when held."""
        return self._run([Point(ts, value)], 0, now)

    def tick(self, now: float) -> list[Point]:
        out: list[Point] = []
        for i, step in enumerate(self.steps):
            emitted = step.tick(now)
            if emitted:
                out += self._run(emitted, i + 1, now) or []
        return out


def _finite_span(p: Point) -> Point:
    if p.low is None or p.high is None or math.isfinite(p.high - p.low):
        return p
    return Point(p.ts, p.value)


def build(specs: Iterable[_Spec]) -> Chain | None:
    """The chain applying `specs` in order (None when there is nothing to apply)."""
    steps = [make(s.arg) for s in specs if (make := _FILTERS[s.name][1]) is not None]
    return Chain(steps) if steps else None
