"""The one bounded map of what a run remembers, and that every such map is one."""

from __future__ import annotations

import re
from pathlib import Path

from telemetry.normalize import Normalizer
from telemetry.normalize.base import State
from telemetry.normalize.families import tasmota
from telemetry.remember import REMEMBERED, REMEMBERED_KEY_LENGTH, Remembered, key_length
from telemetry.routing import RoutingTable

ROOT = Path(__file__).resolve().parent.parent.parent
PRODUCT = ("telemetry", "devices", "web")


def test_remembered_gives_back_what_was_stored() -> None:
    seen: Remembered[tuple[str, str], int] = Remembered()

    assert seen.remember(("home", "kitchen/temp"), 1) == 1
    seen["home", "shed/temp"] = 2

    assert seen.get(("home", "kitchen/temp")) == 1
    assert seen["home", "shed/temp"] == 2
    assert seen.get(("home", "other")) is None
    assert type(seen).get is dict.get  # a hit is the dict's own lookup, nothing of ours


def test_remembered_stays_bounded_under_a_flood_and_learns_anew() -> None:
    seen: Remembered[str, int] = Remembered()
    for n in range(REMEMBERED):
        seen[f"topic/{n}"] = n
    assert len(seen) == REMEMBERED

    seen["topic/0"] = -1  # a known key: nothing is forgotten
    assert len(seen) == REMEMBERED
    seen["new"] = 1  # a new key when full: all is forgotten, then it is kept
    assert dict(seen) == {"new": 1}

    for n in range(3 * REMEMBERED):
        seen.remember(f"flood/{n}", n)
        assert len(seen) <= REMEMBERED
    assert seen.get(f"flood/{3 * REMEMBERED - 1}") == 3 * REMEMBERED - 1


def test_remembered_does_not_keep_long_keys() -> None:
    seen: Remembered[object, int] = Remembered()
    longest = "x" * REMEMBERED_KEY_LENGTH

    assert seen.remember(longest + "x", 1) == 1
    seen[longest.encode() + b"x"] = 2
    seen["mqtt", longest, b"{"] = 3  # a tuple's text counts in all
    seen[longest] = 4
    seen["a", None, longest[2:]] = 5

    assert seen == {longest: 4, ("a", None, longest[2:]): 5}


def test_key_length_counts_the_text_of_a_key() -> None:
    assert key_length("abc") == 3
    assert key_length(b"ab") == 2
    assert key_length(("mqtt", "tele/x", b"{")) == 11
    assert key_length(("dev", "temp", None)) == 7
    assert key_length(42) == 0


def test_every_remembered_map_of_input_is_a_remembered() -> None:
    normalizer = Normalizer()
    table = RoutingTable("home", [])
    for found in (
        normalizer._named,
        normalizer._plans,
        normalizer._series_names,
        table._remembered,
        State().space("homie"),
        tasmota._UNIT_OF,
    ):
        assert type(found) is Remembered


# Caching idioms that are not `Remembered`, and where each may stay: a map whose
# keys do not come from what devices send.
_IDIOMS = {
    "functools cache": re.compile(r"\blru_cache\b|\bfunctools\.cache\b|^@cache\b", re.M),
    "own bound on a map": re.compile(
        r"len\(self\.\w+\)\s*(<|<=|>=|>)\s*(MAX_\w+|self\.limit\b|\d[\d_]*)"
    ),
    "LRU bookkeeping": re.compile(r"\bOrderedDict\b|\.move_to_end\(|popitem\(last=False\)"),
}
_MAY_STAY = {
    # keys: time zone names from the config, not from messages
    ("telemetry/normalize/timestamps.py", "functools cache"),
    # keys: a transport and whether the payload looks like JSON
    ("telemetry/normalize/registry.py", "functools cache"),
    # keys: rejection reasons named in the code
    ("telemetry/logs.py", "own bound on a map"),
    # login attempts per address: a security limit, not a cache
    ("web/limiter.py", "LRU bookkeeping"),
}


def test_no_cache_of_input_outside_remembered() -> None:
    found = set()
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            name = path.relative_to(ROOT).as_posix()
            if name == "telemetry/remember.py":
                continue
            text = path.read_text(encoding="utf-8")
            found |= {(name, idiom) for idiom, regex in _IDIOMS.items() if regex.search(text)}
    assert found - _MAY_STAY == set(), "remember it in a telemetry.remember.Remembered"
