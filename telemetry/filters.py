"""Per-series filters from `[[series]]` rules, applied to each value in order.

A filter takes a value and returns the value to keep, or None to drop the
reading.  `check(name, arg)` validates a config entry; `build(specs)` makes the
chain.  Windowed filters (throttle, outliers, heartbeat) arrive with the
history work; until then only the stateless ones below exist, and a config
naming any other is refused.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Protocol

Filter = Callable[[float], float | None]


class _Spec(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def arg(self) -> Any: ...


def _number(arg: Any) -> bool:
    return isinstance(arg, int | float) and not isinstance(arg, bool) and math.isfinite(arg)


def _offset(arg: float) -> Filter:
    return lambda v: v + arg


def _multiply(arg: float) -> Filter:
    return lambda v: v * arg


def _clamp(arg: Sequence[float]) -> Filter:
    low, high = float(arg[0]), float(arg[1])
    return lambda v: min(max(v, low), high)


def _show(arg: Any) -> str:
    return json.dumps(arg, ensure_ascii=False)  # as TOML spells it: "x", true, [1, 2]


def _check_number(arg: Any) -> str | None:
    return None if _number(arg) else f"{_show(arg)} is not a finite number"


def _check_range(arg: Any) -> str | None:
    if (
        isinstance(arg, list)
        and len(arg) == 2
        and all(_number(a) for a in arg)
        and arg[0] <= arg[1]
    ):
        return None
    return f"{_show(arg)} is not a range; expected [low, high] with low <= high"


_FILTERS: dict[str, tuple[Callable[[Any], str | None], Callable[[Any], Filter]]] = {
    "offset": (_check_number, _offset),
    "multiply": (_check_number, _multiply),
    "clamp": (_check_range, _clamp),
}
NAMES = tuple(_FILTERS)


def check(name: str, arg: Any) -> str | None:
    """Why `{name = arg}` is not a usable filter, or None."""
    entry = _FILTERS.get(name)
    if entry is None:
        return f"unknown filter; expected one of {', '.join(NAMES)}"
    return entry[0](arg)


def build(specs: Iterable[_Spec]) -> Filter | None:
    """One callable applying `specs` in order (None when there are none)."""
    chain = [_FILTERS[s.name][1](s.arg) for s in specs]
    if not chain:
        return None

    def apply(value: float) -> float | None:
        out: float | None = value
        for step in chain:
            if out is None:
                return None
            out = step(out)
        if out is None or not math.isfinite(out):
            return None
        return out

    return apply
