"""What the serial line family tests share: a port route and one normalizer per test."""

from __future__ import annotations

import math
from collections.abc import Sequence

from telemetry.model import Outcome, RawMessage, Route
from telemetry.normalize import Normalizer

RECV = 1_700_000_000.0


def port(fmt: str = "auto", name: str = "bench") -> Route:
    return Route(name, "serial", fmt, device=name)


def feed(
    lines: Sequence[str | bytes], fmt: str = "auto", normalizer: Normalizer | None = None
) -> list[Outcome]:
    normalizer = normalizer or Normalizer()
    route = port(fmt)
    out = []
    for line in lines:
        payload = line if isinstance(line, bytes) else line.encode("utf-8")
        out.append(normalizer.normalize(RawMessage(route, "bench", payload, RECV)))
    return out


def second(line: str | bytes, fmt: str = "auto") -> Outcome:
    """What `line` gives when the port prints it a second time: a label becomes a
    series only once seen on two lines, so a first line gives no reading."""
    _, again = feed([line, line], fmt)
    return again


def values(outcome: Outcome) -> dict[str, float]:
    return {r.sensor: r.value for r in outcome.readings}


def reasons(outcome: Outcome) -> list[str]:
    return sorted(e.reason for e in outcome.errors)


def sane(outcome: Outcome, max_id: int = 200) -> None:
    for r in outcome.readings:
        assert math.isfinite(r.value)
        assert len(r.device) + 1 + len(r.sensor) <= max_id
