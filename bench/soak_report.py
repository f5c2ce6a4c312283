"""The soak run's judgement: slopes per hour, verdicts, the load's accounting, the table.

Pure functions over the samples `bench.soak` took and the counts it gathered.

Tolerances, and why (the README's soak section says the same):

- RSS: the least-squares slope over the samples under load, after the warm-up,
  at most `RSS_MB_PER_HOUR`.  RSS moves in steps (pymalloc arenas of 1 MiB,
  glibc's heap trims), so one step in the middle of an hour reads as about
  1.5 MB/h: 1 MB/h is about the finest a one-hour run resolves.  Spread over
  the run's connections (some 8,700 an hour) it is a leak of about 120 bytes
  a connection, which the run does catch.  A window shorter than
  `MIN_WINDOW` is not judged: a single 1 MiB step in 20 s extrapolates to
  180 MB/h.
- Open files, asyncio tasks, threads: each should come back to where it was,
  so the sample taken with the churn stopped and every client gone at the end
  is compared with the one taken the same way after the warm-up: at most
  `RETURN_SLACK` above it.  Under load they follow the clients open at the
  moment of the sample, so their slope is shown but not judged.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

from bench.soak_clients import Tally

RSS_MB_PER_HOUR = 1.0
MIN_WINDOW = 300.0  # seconds of samples under load before the RSS slope is judged
RETURN_SLACK = 2
PUBLISH_SLACK = 10  # messages a publisher may have sent but not counted (see `accounting`)


@dataclass(frozen=True, slots=True)
class Sample:
    """The server process at one moment of the run."""

    t: float  # seconds since the churn started
    phase: str  # "warmup", "load", or "quiet" (churn stopped, every client gone)
    rss_mb: float
    fds: int
    threads: int
    tasks: int  # asyncio tasks, the server's own gauge (its scrape's task included)
    streams: int  # open /events streams, the server's own gauge
    history_mb: float  # the history's arrays, the server's own gauge
    connected: int  # streams the churn had connected so far


METRICS = (
    ("rss_mb", "RSS", "MB"),
    ("fds", "open files", ""),
    ("tasks", "asyncio tasks", ""),
    ("threads", "threads", ""),
)


def slope_per_hour(points: Sequence[tuple[float, float]]) -> float:
    """The least-squares slope of (seconds, value) pairs, per hour; 0 for fewer than 2."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_t = sum(t for t, _ in points) / n
    mean_v = sum(v for _, v in points) / n
    spread = sum((t - mean_t) ** 2 for t, _ in points)
    if spread == 0:
        return 0.0
    return sum((t - mean_t) * (v - mean_v) for t, v in points) / spread * 3600.0


def verdicts(samples: Sequence[Sample]) -> list[dict[str, Any]]:
    """One verdict per metric: its quiet start and end, range and slope under load."""
    load = [s for s in samples if s.phase == "load"]
    quiet = [s for s in samples if s.phase == "quiet"]
    if len(quiet) != 2 or len(load) < 2:
        raise ValueError(f"{len(quiet)} quiet and {len(load)} loaded samples: need 2 and 2+")
    start, end = quiet
    window = load[-1].t - load[0].t
    out = []
    for key, name, unit in METRICS:
        values = [float(getattr(s, key)) for s in load]
        slope = slope_per_hour([(s.t, float(getattr(s, key))) for s in load])
        first, last = float(getattr(start, key)), float(getattr(end, key))
        extra: dict[str, Any] = {}
        if key == "rss_mb":
            # What the slope means per connection, to set it against a leak's size.
            connections = load[-1].connected - load[0].connected
            grown = slope * window / 3600 * 2**20
            extra["bytes_per_connection"] = round(grown / connections) if connections else None
            tolerance = f"slope ≤ {RSS_MB_PER_HOUR:g} MB/h"
            judged = window >= MIN_WINDOW
            ok = not judged or slope <= RSS_MB_PER_HOUR
            verdict = "ok" if judged and ok else "OVER" if judged else "not judged (short)"
        else:
            tolerance = f"quiet end ≤ start + {RETURN_SLACK}"
            ok = last <= first + RETURN_SLACK
            verdict = "ok" if ok else "OVER"
        out.append(
            {
                "metric": key,
                "name": name,
                "unit": unit,
                "quiet_start": first,
                "quiet_end": last,
                "load_min": min(values),
                "load_max": max(values),
                "slope_per_hour": slope,
                "window_s": window,
                "tolerance": tolerance,
                "ok": ok,
                "verdict": verdict,
                **extra,
            }
        )
    return out


def accounting(
    tally: Tally, streams: dict[str, Any], inbox: dict[str, int], published: int
) -> list[dict[str, Any]]:
    """Checks that the load ran as planned, each against the server's own counters.

    The publisher counts a batch after writing it, so when SIGTERM lands between
    the two the server may have received up to a batch more than counted: the
    received count may exceed the published one by `PUBLISH_SLACK`, never fall short.
    """
    resets = {k: v for k, v in streams["resets"].items() if v}
    refused = {k: v for k, v in streams["refused"].items() if v}
    extra = inbox["received"] - published
    checks = [
        ("streams connected", tally.connected > 0, f"{tally.connected}"),
        (
            "readers left half by reset",
            tally.clean > 0 and tally.reset > 0 and abs(tally.clean - tally.reset) <= 1,
            f"{tally.clean} clean, {tally.reset} reset",
        ),
        (
            "no stream refused or failed",
            not (tally.refused or tally.failed or refused),
            f"refused {tally.refused} (server {refused or 0}), failed {tally.failed}",
        ),
        ("no reader's stream ended by the server", tally.ended_early == 0, f"{tally.ended_early}"),
        ("every stream released", streams["clients"] == 0, f"server: {streams['clients']} open"),
        (
            "resumes = server's resumed",
            tally.resumed == streams["resumed"] and tally.resumed_reset == 0,
            f"{tally.resumed} sent, server {streams['resumed']}, {tally.resumed_reset} reset",
        ),
        (
            "malformed cursors each reset",
            tally.malformed == tally.malformed_reset == resets.get("malformed", 0)
            and set(resets) <= {"malformed"},
            f"{tally.malformed} sent, {tally.malformed_reset} seen, server {resets or 0}",
        ),
        (
            "sleepers cut = server's cut",
            tally.cut > 0
            and tally.cut == streams["cut"]
            and tally.not_cut == 0
            and tally.woke_no_eof == 0,
            f"{tally.stalled} stalled, {tally.cut} cut (server {streams['cut']}), "
            f"{tally.interrupted} interrupted, {tally.not_cut} not cut",
        ),
        (
            "every reading published received",
            0 <= extra <= PUBLISH_SLACK and published > 0 and inbox["dropped"] == 0,
            f"{published} published, {inbox['received']} received, {inbox['dropped']} dropped",
        ),
        (
            "every API call answered 200",
            bool(tally.api) and all(k.endswith(" 200") for k in tally.api),
            f"{tally.api}",
        ),
    ]
    return [{"check": name, "ok": bool(ok), "detail": detail} for name, ok, detail in checks]


def _number(value: float, unit: str) -> str:
    return f"{value:.1f}" if unit == "MB" else f"{value:.0f}"


def table(rows: list[dict[str, Any]]) -> str:
    """The verdicts as a Markdown table."""
    lines = [
        "| metric | quiet start | quiet end | under load | slope under load | tolerance "
        "| verdict |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        unit = r["unit"]
        suffix = f" {unit}" if unit else ""
        per_hour = f"{r['slope_per_hour']:+.2f}{suffix}/h"
        lines.append(
            f"| {r['name']} | {_number(r['quiet_start'], unit)}{suffix} | "
            f"{_number(r['quiet_end'], unit)}{suffix} | {_number(r['load_min'], unit)}–"
            f"{_number(r['load_max'], unit)}{suffix} | {per_hour} | {r['tolerance']} | "
            f"{r['verdict']} |"
        )
    return "\n".join(lines)


def samples_json(samples: Sequence[Sample]) -> list[dict[str, Any]]:
    return [asdict(s) for s in samples]
