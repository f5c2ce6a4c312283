"""Query parameters of the history API, bounded and checked before any work.

Every problem is a `QueryError` that the endpoint answers with 422 and a JSON
body naming the parameter, the value and what was expected; nothing a client
sends can make a query slow or a 500.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from starlette.datastructures import QueryParams

MAX_SERIES = 64
MAX_POINTS = 10_000
MIN_POINTS = 4
DEFAULT_POINTS = 1000
MAX_SPAN = 366 * 86400.0
MAX_ID = 1024


class QueryError(ValueError):
    def __init__(self, parameter: str, message: str) -> None:
        self.parameter = parameter
        super().__init__(f"{parameter}: {message}")


@dataclass(frozen=True, slots=True)
class Window:
    series: tuple[str, ...]
    start: float
    end: float


def _time(params: QueryParams, name: str, default: float) -> float:
    text = params.get(name)
    if text is None or text == "":
        return default
    try:
        value = float(text[:40])
    except ValueError:
        raise QueryError(name, f"{text[:40]!r} is not a time; expected epoch seconds") from None
    if not math.isfinite(value) or value < 0:
        raise QueryError(name, f"{text[:40]!r} is not a time; expected epoch seconds")
    return value


def window(
    params: QueryParams, default_span: float, max_series: int = MAX_SERIES, *, required: bool = True
) -> Window:
    """The series and time range a query asks for (end defaults to now); with
    `required` false, no series is no error (the window's `series` is empty)."""
    series = tuple(params.getlist("series"))
    if not series and required:
        raise QueryError("series", "missing; expected one or more series ids")
    if len(series) > max_series:
        raise QueryError("series", f"{len(series)} given; at most {max_series} per query")
    if any(not s or len(s) > MAX_ID for s in series):
        raise QueryError("series", f"an id is empty or longer than {MAX_ID} characters")
    end = _time(params, "end", time.time())
    start = _time(params, "start", end - default_span)
    if start > end:
        raise QueryError("start", f"{start} is after end {end}")
    if end - start > MAX_SPAN:
        raise QueryError("start", f"the range is over {MAX_SPAN / 86400:.0f} days")
    return Window(tuple(dict.fromkeys(series)), start, end)


def points(params: QueryParams) -> int:
    text = params.get("points")
    if text is None or text == "":
        return DEFAULT_POINTS
    try:
        value = int(text[:12])
    except ValueError:
        raise QueryError("points", f"{text[:12]!r} is not a whole number") from None
    if not MIN_POINTS <= value <= MAX_POINTS:
        raise QueryError("points", f"{value} is not from {MIN_POINTS} to {MAX_POINTS}")
    return value
