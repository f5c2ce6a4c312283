"""Every payload family, discovered from `telemetry.normalize.families` at import.

A new family is a new module there; nothing else needs to list it.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from typing import cast

from telemetry.normalize import families as _package
from telemetry.normalize.base import Family, Learner


def _discover() -> tuple[Family, ...]:
    found = []
    for info in pkgutil.iter_modules(_package.__path__):
        module = importlib.import_module(f"{_package.__name__}.{info.name}")
        family = getattr(module, "FAMILY", None)
        if family is not None:
            found.append(cast(Family, family))
    return tuple(sorted(found, key=lambda f: (getattr(f, "priority", 500), f.name)))


FAMILIES = _discover()
BY_NAME = {f.name: f for f in FAMILIES}
# Families that learn from metadata topics (`learns(topic)`, `learn(ctx, emit)`),
# asked before any family parses, whatever the route's format.
LEARNERS = tuple(cast(Learner, f) for f in FAMILIES if hasattr(f, "learns"))


def formats(transport: str) -> tuple[str, ...]:
    """The `format` names a config may give for `transport`, `auto` first."""
    return ("auto", *sorted(f.name for f in FAMILIES if transport in f.transports))


@functools.cache
def auto(transport: str, json: bool = True) -> tuple[Family, ...]:
    """The families `auto` tries for `transport`, in order (asked once per message).

    `json=False`: without those marked `json_only` (whose sniff says no to anything
    that does not start with `{` or `[`), for a payload that does not: eight
    fewer sniffs for a plain number, a fifth of its normalizing.  A family marked
    `auto = False` is read only where a subscription names it."""
    return tuple(
        f
        for f in FAMILIES
        if transport in f.transports
        and getattr(f, "auto", True)
        and (json or not getattr(f, "json_only", False))
    )
