"""Durations and sizes as people write them in a config: `"250ms"`, `"10m"`, `"64KiB"`.

Parsing raises `ValueError` with the expected form; the config loader turns
that into a message naming the key.
"""

from __future__ import annotations

import re

_DURATION_UNITS = {
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)\s*(us|µs|ms|s|m|h|d)")
_SIZE = re.compile(r"(\d+)\s*(B|KiB|MiB|GiB|kB|KB|MB|GB)?")
_SIZE_UNITS = {
    None: 1,
    "B": 1,
    "KiB": 1024,
    "MiB": 1024**2,
    "GiB": 1024**3,
    "kB": 1000,
    "KB": 1000,
    "MB": 1000**2,
    "GB": 1000**3,
}

DURATION_FORM = 'a duration such as "250ms", "10s", "10m", "1h30m" or "30d"'
SIZE_FORM = 'a size such as "512B", "64KiB" or "1MiB"'


def parse_duration(text: str) -> float:
    """Seconds in `text`: one or more number-unit parts (`"1h30m"`)."""
    compact = text.strip()
    pos = 0
    total = 0.0
    while pos < len(compact):
        match = _DURATION_PART.match(compact, pos)
        if match is None:
            raise ValueError(DURATION_FORM)
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
        while pos < len(compact) and compact[pos] == " ":
            pos += 1
    if not compact:
        raise ValueError(DURATION_FORM)
    return total


def parse_size(text: str) -> int:
    """Bytes in `text` (`"64KiB"` is 65536; `"64kB"` is 64000)."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ValueError(SIZE_FORM)
    return int(match.group(1)) * _SIZE_UNITS[match.group(2)]


def format_duration(seconds: float) -> str:
    """The shortest exact spelling of `seconds` for summaries: 0.1 -> `100ms`."""
    for unit, scale in (("d", 86400.0), ("h", 3600.0), ("m", 60.0), ("s", 1.0)):
        if seconds >= scale and (seconds / scale).is_integer():
            return f"{int(seconds / scale)}{unit}"
    millis = seconds * 1000
    if abs(millis - round(millis)) < 1e-9 and (round(millis) > 0 or seconds == 0):
        return f"{round(millis)}ms"
    return f"{round(seconds * 1e6)}us"


def format_size(size: int) -> str:
    for unit, scale in (("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if size >= scale and size % scale == 0:
            return f"{size // scale}{unit}"
    return f"{size}B"
