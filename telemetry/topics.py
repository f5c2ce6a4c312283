"""MQTT topic filters and the templates that name a topic's parts.

A template such as `tele/{device}/SENSOR` or `shellies/{device}/{sensor...}`
matches a concrete topic and yields `device` and `sensor`; `{name...}` takes
the rest of the topic, slashes included.  Segments in braces match one level.

A filter `$share/<group>/<filter>` is an MQTT 5 shared subscription (mosquitto
takes it from 3.1.1 clients too): the broker hands each message on `<filter>`
to one client of the group, under the topic it was published on, so such a
subscription receives what `<filter>` matches (`delivered_filter`).
"""

from __future__ import annotations

import re

_PLACEHOLDER = re.compile(r"\{([a-z_]+)(\.\.\.)?\}")
_NAMES = frozenset({"device", "sensor", "ignore"})
SHARED = "$share/"  # how a shared subscription's filter starts


def check_filter(topic: str) -> str | None:
    """Why `topic` is not a valid MQTT subscription filter, or None if it is."""
    if not topic or len(topic.encode("utf-8")) > 65535:
        return "is not a topic filter; expected 1 to 65535 bytes"
    if "\x00" in topic:
        return "is not a topic filter; it holds a NUL character"
    if topic.startswith(SHARED):
        group, _, inner = topic[len(SHARED) :].partition("/")
        if not group or "+" in group or "#" in group or not inner:
            return "is not a shared subscription; expected $share/GROUP/FILTER"
    levels = topic.split("/")
    for i, level in enumerate(levels):
        if "#" in level and (level != "#" or i != len(levels) - 1):
            return "is not a topic filter; '#' must be a whole last level"
        if "+" in level and level != "+":
            return "is not a topic filter; '+' must be a whole level"
    return None


class TopicTemplate:
    """A compiled template; `match(topic)` gives the named parts or None."""

    __slots__ = ("names", "regex", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        pattern: list[str] = []
        names: list[str] = []
        levels = text.split("/")
        for i, level in enumerate(levels):
            m = _PLACEHOLDER.fullmatch(level)
            if m is None:
                if "{" in level or "}" in level:
                    raise ValueError(
                        f"level {level!r} is not a whole placeholder such as {{device}}"
                    )
                if level in ("+", "#"):
                    raise ValueError("use a named placeholder such as {device}, not + or #")
                pattern.append(re.escape(level))
                continue
            name, rest = m.group(1), m.group(2)
            if name not in _NAMES:
                raise ValueError(
                    f"unknown placeholder {{{name}}}; expected one of "
                    "{device}, {sensor}, {sensor...}, {ignore}"
                )
            if name != "ignore" and name in names:
                raise ValueError(f"placeholder {{{name}}} appears twice")
            if rest and i != len(levels) - 1:
                raise ValueError(f"{{{name}...}} must be the last level")
            if name != "ignore":
                names.append(name)
            group = "(?P<%s>.+)" if rest else "(?P<%s>[^/]+)"
            pattern.append(group % name if name != "ignore" else ("[^/]+" if not rest else ".+"))
        self.names = tuple(names)
        # DOTALL: a topic may hold any character but NUL, newlines included.
        self.regex = re.compile("/".join(pattern), re.DOTALL)

    def match(self, topic: str) -> dict[str, str] | None:
        m = self.regex.fullmatch(topic)
        return None if m is None else m.groupdict()

    def as_filter(self) -> str:
        """The MQTT filter that receives every topic this template can match."""
        out = []
        for level in self.text.split("/"):
            m = _PLACEHOLDER.fullmatch(level)
            if m is None:
                out.append(level)
            elif m.group(2):
                out.append("#")
            else:
                out.append("+")
        return "/".join(out)

    def __repr__(self) -> str:
        return f"TopicTemplate({self.text!r})"


def delivered_filter(topic_filter: str) -> str:
    """The filter whose topics a subscription to `topic_filter` receives: `<filter>`
    of a shared subscription `$share/<group>/<filter>`, else the filter itself."""
    if topic_filter.startswith(SHARED):
        group, slash, inner = topic_filter[len(SHARED) :].partition("/")
        if group and slash:
            return inner
    return topic_filter


def filter_matches(topic_filter: str, topic: str) -> bool:
    """Whether MQTT `topic` is one a subscription to `topic_filter` receives.

    As brokers do, `+` and `#` never match a first level that starts with `$`.
    `topic_filter` is one that is delivered on (see `delivered_filter`).
    """
    if topic.startswith("$") and topic_filter[:1] in ("+", "#"):
        return False
    want = topic_filter.split("/")
    have = topic.split("/")
    for i, level in enumerate(want):
        if level == "#":
            return True
        if i >= len(have) or (level != "+" and level != have[i]):
            return False
    return len(want) == len(have)
