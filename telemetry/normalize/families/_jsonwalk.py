"""Shared by the JSON families (json, tasmota, zigbee2mqtt, shelly2, rtl_433, ttn, omg).

`leaves(tree)` flattens a parsed JSON document to `(path, value)` pairs: object
keys joined with `.` (`ENERGY.Power`), array items by index (`Voltage.0`).  Only
values that are, or claim to be, numbers come out: JSON numbers, numeric
strings, and the non-finite spellings (`NaN`, `Infinity`, `-inf`) so that the
emitter counts them.  Booleans, nulls and other text are not readings and are
skipped without an error: a JSON document mixes measurements with states,
names and versions, and only a family that knows a field can say it should
have been a number.

With `states` (a family's rule, `StateOf`), booleans and short text leaves
come out too, and the rule says which of them are on/off states (readings of
kind `state`, 1 or 0): `default_state` takes booleans and the on/off words of
`base.STATE_WORDS`; a family passes its own rule when only some fields are
states.

The walk is recursive (the depth is already bounded by `Context.json`) and
stops after `MAX_LEAVES` values, so a payload of many tiny numbers costs at
most that many readings; the rest is counted once as `too_many_values`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from telemetry.normalize.base import Context, Emit, as_number, state_value

MAX_LEAVES = 1000
_NONFINITE = frozenset(
    {"nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"}
)

UnitOf = Callable[[tuple[str, ...]], str | None]
# (path parts, a leaf that is not a number) -> 1.0 / 0.0 when it is an on/off state
StateOf = Callable[[tuple[str, ...], Any], float | None]
MAX_STATE_TEXT = 16


def default_state(parts: tuple[str, ...], value: Any) -> float | None:
    """Booleans and the on/off words, wherever they are."""
    return state_value(value)


def looks_like_object(ctx: Context, arrays: bool = False) -> bool:
    """Whether the payload starts like a JSON object (or array), after a BOM and blanks
    (so a BOM-prefixed `42 °C` stays with the `number` family)."""
    head = ctx.head()
    return head == b"{" or (arrays and head == b"[")


def is_candidate(value: Any) -> bool:
    """Whether `value` is a number, a numeric string or a non-finite spelling."""
    if isinstance(value, bool) or value is None:
        return False
    if isinstance(value, int | float):
        return True
    if isinstance(value, str):
        if as_number(value) is not None:
            return True
        return len(value) < 16 and value.strip().lower() in _NONFINITE
    return False


def is_nonfinite(value: Any) -> bool:
    return isinstance(value, float) and not math.isfinite(value)


def leaves(
    tree: Any,
    skip: frozenset[str] = frozenset(),
    limit: int = MAX_LEAVES + 1,
    states: bool = False,
) -> list[tuple[tuple[str, ...], Any]]:
    """`(path parts, value)` for every number-like leaf, in document order, at most
    `limit` of them; with `states`, booleans and short text leaves too.

    `skip` names top-level keys left out (time fields, identifiers).
    """
    found: list[tuple[tuple[str, ...], Any]] = []
    if isinstance(tree, dict | list):
        _walk(tree, (), skip, found, limit, states=states)
    elif is_candidate(tree) or (states and _state_like(tree)):
        found.append(((), tree))
    return found


def _state_like(value: Any) -> bool:
    return (
        value is True or value is False or (isinstance(value, str) and len(value) <= MAX_STATE_TEXT)
    )


def _walk(
    node: dict[Any, Any] | list[Any],
    path: tuple[str, ...],
    skip: frozenset[str],
    found: list[tuple[tuple[str, ...], Any]],
    limit: int,
    *,
    states: bool,
) -> None:
    # Recursion, which the depth limit of `Context.json` bounds; JSON numbers are
    # tested first, by type (`bool` is not `int` by type), as most leaves are numbers.
    # Faster than a generator over an explicit stack (bench/README.md, ingest).
    pairs = node.items() if isinstance(node, dict) else enumerate(node)
    top = not path and isinstance(node, dict)
    for key, value in pairs:
        if len(found) >= limit:
            return
        name = key if type(key) is str else str(key)
        if top and name in skip:
            continue
        kind = type(value)
        if kind is float or kind is int:
            found.append(((*path, name), value))
        elif isinstance(value, dict | list):
            _walk(value, (*path, name), skip, found, limit, states=states)
        elif is_candidate(value) or (states and _state_like(value)):
            found.append(((*path, name), value))


def field_name(parts: tuple[str, ...]) -> str:
    """The last key that is not an array index: `("ENERGY", "Voltage", "0")` -> `Voltage`."""
    for part in reversed(parts):
        if not part.isdigit():
            return part
    return ""


def emit_tree(
    emit: Emit,
    device: str,
    tree: Any,
    *,
    prefix: str = "",
    unit_of: UnitOf | None = None,
    ts: Any = None,
    skip: frozenset[str] = frozenset(),
    states: StateOf | None = None,
) -> int:
    """Emit every number-like leaf of `tree` as `device / prefix + dotted path`, and
    with `states` every leaf the rule calls an on/off state.

    Returns how many readings were added.  `unit_of(parts)` gives each leaf's
    unit from what the firmware states, or None.
    """
    added = 0
    for count, (parts, value) in enumerate(leaves(tree, skip, states=states is not None)):
        if count >= MAX_LEAVES:
            emit.error("too_many_values", f"only the first {MAX_LEAVES} values were read")
            break
        path = ".".join(parts)
        sensor = prefix + path if parts else prefix.rstrip("./") or "value"
        kind = type(value)
        if states is not None and kind is not float and kind is not int and not is_candidate(value):
            state = states(parts, value)
            if state is not None and emit.reading(
                device, sensor, state, None, ts, path=path, kind="state"
            ):
                added += 1
            continue
        unit = unit_of(parts) if unit_of is not None else None
        if emit.reading(device, sensor, value, unit, ts, path=path):
            added += 1
    return added
