"""Reading one TOML table with checks: every problem named with its key path, the bad
value and what was expected, all of them collected before one `ConfigError`."""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from telemetry.quantities import (
    DURATION_FORM,
    SIZE_FORM,
    format_duration,
    format_size,
    parse_duration,
    parse_size,
)

T = TypeVar("T")

ENV = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")
PATH = re.compile(r"[^\x00]+")
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
SECRET_KEYS = frozenset({"password", "token"})
# Globs on series ids (`[page] series`, `[[alert]] match`): as many, and as long, as
# a stream takes (web/events.py).
MAX_GLOBS = 64
MAX_PATTERN = 256


class Problems:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.lines: list[str] = []
        self.env = env

    def add(self, path: str, message: str) -> None:
        self.lines.append(f"{path}: {message}")


def show(value: object) -> str:
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


class Table:
    """A TOML table being read: typed getters that record problems, not raise."""

    def __init__(self, data: Mapping[str, Any], path: str, problems: Problems) -> None:
        self.data = data
        self.path = path
        self.problems = problems
        self.used: set[str] = set()

    def key(self, name: str) -> str:
        return f"{self.path}.{name}" if self.path else name

    def typed(self, name: str, kind: type | tuple[type, ...], expected: str) -> Any:
        self.used.add(name)
        if name not in self.data:
            return None
        value = self.data[name]
        if name in SECRET_KEYS and not isinstance(value, kind):
            self.problems.add(self.key(name), f"is not {expected} (value not shown)")
            return None
        # TOML booleans are Python ints: never let `true` pass as a number.
        if isinstance(value, bool) and bool not in (kind if isinstance(kind, tuple) else (kind,)):
            self.problems.add(self.key(name), f"{show(value)} is not {expected}")
            return None
        if not isinstance(value, kind):
            self.problems.add(self.key(name), f"{show(value)} is not {expected}")
            return None
        if isinstance(value, str):
            value = self._substitute(name, value)
        return value

    def _substitute(self, name: str, value: str) -> str | None:
        missing: list[str] = []

        def repl(match: re.Match[str]) -> str:
            var = match.group(1)
            if var not in self.problems.env:
                missing.append(var)
                return ""
            return self.problems.env[var]

        out = ENV.sub(repl, value)
        if missing:
            self.problems.add(
                self.key(name),
                f"environment variable {missing[0]} is not set; expected it to hold this value",
            )
            return None
        return out

    def required(self, name: str) -> bool:
        if name not in self.data:
            self.used.add(name)
            self.problems.add(self.key(name), "is missing; it is required")
            return False
        return True

    def string(
        self,
        name: str,
        default: T,
        *,
        pattern: re.Pattern[str] | None = None,
        form: str = "a string",
    ) -> str | T:
        value = self.typed(name, str, form)
        if value is None:
            return default
        if pattern is not None and not pattern.fullmatch(value):
            self.problems.add(self.key(name), f"{show(value)} is not {form}")
            return default
        return str(value)

    def integer(self, name: str, default: int, low: int, high: int) -> int:
        value = self.typed(name, int, f"a whole number from {low} to {high}")
        if value is None:
            return default
        if not low <= value <= high:
            self.problems.add(self.key(name), f"{value} is not a whole number from {low} to {high}")
            return default
        return int(value)

    def choice(self, name: str, default: T, options: tuple[T, ...]) -> T:
        self.used.add(name)
        if name not in self.data:
            return default
        value = self.data[name]
        if isinstance(value, str):
            value = self._substitute(name, value)
            if value is None:
                return default
        # `1.0 in (0, 1, 2)` is true in Python: compare types too.
        if isinstance(value, bool) or not any(
            value == o and type(value) is type(o) for o in options
        ):
            listed = ", ".join(show(o) for o in options)
            self.problems.add(self.key(name), f"{show(value)} is not one of {listed}")
            return default
        return value  # type: ignore[no-any-return]

    def _parsed(self, name: str, default: T, parse: Callable[[str], T], form: str) -> T:
        value = self.typed(name, str, form)
        if value is None:
            return default
        try:
            return parse(value)
        except ValueError:
            self.problems.add(self.key(name), f"{show(value)} is not {form}")
            return default

    def duration(self, name: str, default: float, low: float, high: float) -> float:
        seconds = self._parsed(name, default, parse_duration, DURATION_FORM)
        if not low <= seconds <= high:
            self.problems.add(
                self.key(name),
                f"{show(self.data[name])} is out of range; expected from "
                f"{format_duration(low)} to {format_duration(high)}",
            )
            return default
        return seconds

    def size(self, name: str, default: int, low: int, high: int) -> int:
        if isinstance(self.data.get(name), int) and not isinstance(self.data.get(name), bool):
            self.used.add(name)
            size = int(self.data[name])
        else:
            size = self._parsed(name, default, parse_size, SIZE_FORM)
        if not low <= size <= high:
            self.problems.add(
                self.key(name),
                f"{show(self.data[name])} is out of range; expected from "
                f"{format_size(low)} to {format_size(high)}",
            )
            return default
        return size

    def strings(self, name: str) -> tuple[str, ...]:
        value = self.typed(name, list, "a list of strings")
        if value is None:
            return ()
        out = []
        for i, item in enumerate(value):
            if not isinstance(item, str):
                self.problems.add(f"{self.key(name)}[{i}]", f"{show(item)} is not a string")
                continue
            text = self._substitute(f"{name}[{i}]", item)
            if text is not None:
                out.append(text)
        return tuple(out)

    def tables(self, name: str) -> list[Table]:
        """An array of tables (`[[mqtt]]`); a single table is accepted as a list of one."""
        self.used.add(name)
        value = self.data.get(name)
        if value is None:
            return []
        if isinstance(value, dict):
            value = [value]
        if not isinstance(value, list):
            self.problems.add(self.key(name), f"{show(value)} is not a list of tables")
            return []
        out = []
        for i, item in enumerate(value):
            path = f"{self.key(name)}[{i}]"
            if not isinstance(item, dict):
                self.problems.add(path, f"{show(item)} is not a table")
                continue
            out.append(Table(item, path, self.problems))
        return out

    def table(self, name: str) -> Table:
        self.used.add(name)
        value = self.data.get(name, {})
        if not isinstance(value, dict):
            self.problems.add(self.key(name), f"{show(value)} is not a table")
            value = {}
        return Table(value, self.key(name), self.problems)

    def finish(self) -> None:
        """Report every key nobody asked for, with the nearest known key."""
        for name in self.data:
            if name in self.used:
                continue
            hint = difflib.get_close_matches(name, sorted(self.used), n=1)
            what = "section" if not self.path else "key"
            known = (
                f"did you mean {hint[0]!r}?"
                if hint
                else f"known {what}s: " + ", ".join(sorted(self.used))
            )
            self.problems.add(self.key(name), f"unknown {what}; {known}")


def check_globs(
    t: Table, name: str, patterns: tuple[str, ...], *, what: str = "series ids", like: str = ""
) -> bool:
    """Whether every glob of `name` is 1 to MAX_PATTERN characters (each bad one named)."""
    ok = True
    for i, pattern in enumerate(patterns):
        if not pattern or len(pattern) > MAX_PATTERN:
            t.problems.add(
                f"{t.key(name)}[{i}]",
                f"{show(pattern[:40])} is not a glob on {what} of 1 to {MAX_PATTERN} "
                f"characters; expected like {like or show('kitchen/*')}",
            )
            ok = False
    return ok


def unique_names(problems: Problems, tables: list[Table], section: str) -> None:
    """Names in a section must differ; check the entries as written, valid or not."""
    seen: set[str] = set()
    for i, table in enumerate(tables):
        name = table.data.get("name", f"{section}{i}")
        if not isinstance(name, str):
            continue
        if name in seen:
            problems.add(f"{table.path}.name", f"{show(name)} is used twice; names must differ")
        seen.add(name)
