"""`[[alert]]`: one rule, its name, what it watches and exactly one condition."""

from __future__ import annotations

import math

from telemetry.config.model import ALERT_CONDITIONS, AlertRule
from telemetry.config.table import MAX_GLOBS, NAME, Table, check_globs, show

MAX_DURATION = 366 * 86400.0
_CONDITIONS = ", ".join(ALERT_CONDITIONS)


def _globs(t: Table, name: str, what: str, like: str) -> tuple[str, ...]:
    """A glob or a list of them (`match = "bench/*"`, `match = ["a/*", "b/*"]`)."""
    value = t.data.get(name)
    if name in t.data and not isinstance(value, str | list):
        t.problems.add(t.key(name), f"{show(value)} is not a glob or a list of globs on {what}")
        return ()
    if isinstance(value, str):
        one = t.string(name, None)
        patterns: tuple[str, ...] = () if one is None else (one,)
    else:
        patterns = t.strings(name)
        if name in t.data and not patterns and isinstance(t.data[name], list):
            t.problems.add(t.key(name), f"is an empty list; expected a glob on {what}")
    if len(patterns) > MAX_GLOBS:
        t.problems.add(t.key(name), f"{len(patterns)} globs; expected at most {MAX_GLOBS}")
        return ()
    return patterns if check_globs(t, name, patterns, what=what, like=like) else ()


def _number(t: Table, name: str) -> float | None:
    value = t.typed(name, (int, float), "a number")
    if value is None:
        return None
    if not math.isfinite(value):
        t.problems.add(t.key(name), f"{show(value)} is not a finite number")
        return None
    return float(value)


def _outside(t: Table) -> tuple[float | None, float | None]:
    value = t.typed("outside", list, "a list of two numbers, [low, high]")
    if value is None:
        return None, None
    if (
        len(value) != 2
        or any(isinstance(v, bool) or not isinstance(v, int | float) for v in value)
        or not all(math.isfinite(v) for v in value)
        or not value[0] < value[1]
    ):
        t.problems.add(
            t.key("outside"),
            f"{show(value) if not isinstance(value, list) else value} is not two numbers "
            "[low, high] with low below high; expected like [2, 8]",
        )
        return None, None
    return float(value[0]), float(value[1])


def _clear(t: Table, condition: str, threshold: float | None) -> float | None:
    """`clear`: the level an `above` value must fall to (at or below the threshold),
    a `below` value rise to (at or above it), before the alert resolves."""
    clear = _number(t, "clear")
    if clear is None or threshold is None:
        return threshold if clear is None else clear
    if condition == "above" and clear > threshold:
        t.problems.add(
            t.key("clear"),
            f"{clear:g} is above the threshold {threshold:g}; expected a level at or below "
            "above, the value an alert resolves at",
        )
    elif condition == "below" and clear < threshold:
        t.problems.add(
            t.key("clear"),
            f"{clear:g} is below the threshold {threshold:g}; expected a level at or above "
            "below, the value an alert resolves at",
        )
    return clear


def alert_rule(t: Table, index: int) -> AlertRule | None:
    before = len(t.problems.lines)
    # Every key a rule may have is known, whichever condition this one takes.
    t.used.update((*ALERT_CONDITIONS, "match", "clear", "repeat"))
    ok = t.required("name")
    name = t.string("name", f"alert{index}", pattern=NAME, form="a name of letters, digits, _.-")
    given = [c for c in ALERT_CONDITIONS if c in t.data]
    if not given:
        t.problems.add(t.path, f"has no condition; expected exactly one of {_CONDITIONS}")
        ok = False
    for extra in given[1:]:
        t.problems.add(
            t.key(extra),
            f"is a second condition beside {given[0]}; expected exactly one of {_CONDITIONS}",
        )
        ok = False
    condition = given[0] if given else ""
    if condition == "reader":
        if "match" in t.data:
            t.problems.add(
                t.key("match"),
                "is not used by a reader rule; expected reader alone to name the readers",
            )
            ok = False
        match = _globs(t, "reader", "reader names", show("home"))
    else:
        ok &= t.required("match") if given else True
        match = _globs(t, "match", "series ids", show("kitchen/*"))
    threshold = _number(t, condition) if condition in ("above", "below") else None
    if "clear" in t.data and condition not in ("above", "below", ""):
        t.problems.add(
            t.key("clear"), f"does not apply to {condition}; expected it with above or below"
        )
        ok = False
    clear = _clear(t, condition, threshold)
    low, high = _outside(t) if condition == "outside" else (None, None)
    stale = t.duration("stale", 0.0, 1.0, MAX_DURATION) if condition == "stale" else None
    state = t.choice("state", "on", ("on", "off")) if condition == "state" else None
    repeat = t.duration("repeat", 0.0, 10.0, MAX_DURATION) if "repeat" in t.data else None
    notify = t.strings("notify")
    for i, sink in enumerate(notify):
        if not NAME.fullmatch(sink):
            t.problems.add(f"{t.key('notify')}[{i}]", f"{show(sink)} is not a sink name")
    rule = AlertRule(
        name=name,
        match=match,
        condition=condition,
        threshold=threshold,
        clear=clear,
        low=low,
        high=high,
        stale=stale,
        state=None if state is None else float(state == "on"),
        hold=t.duration("for", 0.0, 0.0, MAX_DURATION),
        repeat=repeat or None,
        notify=notify,
    )
    t.finish()
    # Any problem fails the whole load: a rule is returned only when it is whole.
    return rule if ok and len(t.problems.lines) == before else None
