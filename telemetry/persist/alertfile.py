"""The firing alerts, kept across a restart in a small JSON file beside the history.

`<file>-alerts`, beside the history's `<file>`, holds
`{"version": 1, "firing": [{"rule", "series", "since", "value"}]}`: what was
firing at the last commit.  It is written only when that set changed (an SD
card is not rewritten every commit for nothing), beside itself, synced and
renamed over the old one, and read once at start: a firing alert comes back
firing, with its time and value, and is not noticed again.  A file that cannot
be read is one warning and no states: alerts then start from `ok`, as without
a file.
"""

from __future__ import annotations

import json
import logging
import math
import os
from collections.abc import Sequence
from pathlib import Path

from telemetry.alerts import Change
from telemetry.persist.log import sync_directory

logger = logging.getLogger(__name__)

VERSION = 1
MAX_BYTES = 4 << 20  # a file larger than the capped states could make is not ours


def encode(firing: Sequence[Change]) -> bytes:
    states = [
        {"rule": c.rule, "series": c.series, "since": c.since, "value": c.value} for c in firing
    ]
    return json.dumps({"version": VERSION, "firing": states}, ensure_ascii=False).encode()


def save(path: Path, data: bytes) -> None:
    """Write `data` beside `path`, sync it, rename it over `path`."""
    new = path.with_name(path.name + ".new")
    fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(new, path)
    sync_directory(path)


def _number(value: object) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def load(path: Path) -> list[Change]:
    """The firing states saved at `path`; none when there is no file or it is unreadable."""
    try:
        if path.stat().st_size > MAX_BYTES:
            raise ValueError(f"larger than {MAX_BYTES} bytes")
        data = json.loads(path.read_bytes())
        if not isinstance(data, dict) or data.get("version") != VERSION:
            raise ValueError("not a version 1 alert file")
        firing = data["firing"]
        if not isinstance(firing, list):
            raise ValueError("no list of firing states")
    except FileNotFoundError:
        return []
    except (OSError, ValueError, KeyError) as exc:
        logger.warning("alerts: %s cannot be read (%s); alerts start from ok", path, exc)
        return []
    out = []
    for item in firing:
        if not isinstance(item, dict):
            continue
        rule, series, since = item.get("rule"), item.get("series"), _number(item.get("since"))
        if isinstance(rule, str) and isinstance(series, str) and since is not None:
            value = _number(item.get("value"))
            out.append(Change(rule, series, "", "firing", "firing", since, value))
    return out
