"""The rows and notes of `bench.loads`, from what its windows and bursts measured."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from bench.loads import BASELINE, LOADS, NAME, NO_ALERTS, PLAIN, Load
from bench.model import Report, Row

CPU = "server CPU: % of a core, lower is better"
MS = "ms, lower is better"
# The loads whose latencies get rows (the others' are in the notes).
LATENCY_ROWS = ("20-spread-1", "20-together-5")


def summary(load: Load, r: dict[str, Any]) -> str:
    """One line of progress: each server's CPU and latency in one window."""
    parts = []
    for kind in load.servers:
        s = r[kind]
        part = f"{kind} {s['percent']:.3f}%"
        if load.sensors:
            part += f", p50 {s.get('p50', 0):.1f} / p99 {s.get('p99', 0):.1f} ms"
        parts.append(part)
    return f"{load.key}: " + "; ".join(parts)


def _median(xs: Sequence[float]) -> float:
    return float(statistics.median(xs))


def report(
    runs: dict[str, list[dict[str, Any]]],
    bursts: dict[str, list[dict[str, Any]]],
    *,
    window: float,
    messages: int,
) -> Report:
    out = Report(NAME)
    for load in LOADS:
        rs = runs[load.key]

        def values(kind: str, key: str, rs: list[dict[str, Any]] = rs) -> list[float]:
            return [float(r[kind][key]) for r in rs]

        if load.alerts:  # the ratio: with the rules / without
            ours, theirs, name = "alerts", "project", NO_ALERTS
        else:
            ours, theirs, name = "project", "baseline", BASELINE
        out.rows.append(
            Row.compare(
                NAME,
                load.title,
                CPU,
                project=values(ours, "percent"),
                baseline_name=name,
                baseline=values(theirs, "percent"),
            )
        )
        if load.plain:
            out.rows.append(
                Row.compare(
                    NAME,
                    f"{load.title}, MQTT fast path",
                    CPU,
                    project=values("project", "percent"),
                    baseline_name=PLAIN,
                    baseline=values("plain", "percent"),
                )
            )
        if load.key in LATENCY_ROWS:
            for q in ("p50", "p99"):
                out.rows.append(
                    Row.compare(
                        NAME,
                        f"{load.title}: publish → client {q}",
                        MS,
                        project=values("project", q),
                        baseline_name=BASELINE,
                        baseline=values("baseline", q),
                    )
                )
        out.notes.append(_note(load, rs))
        out.details += [{"load": load.key, "repeat": i, **r} for i, r in enumerate(rs)]
    title = f"reconnect burst, {messages:,} QoS 1 messages"
    for key, unit in (
        ("cpu_drain", "CPU-s to drain, lower is better"),
        ("wall", "s to drain, lower is better"),
    ):
        out.rows.append(
            Row.compare(
                NAME,
                title,
                unit,
                project=[b[key] for b in bursts["project"]],
                baseline_name=BASELINE,
                baseline=[b[key] for b in bursts["baseline"]],
            )
        )
        out.rows.append(
            Row.compare(
                NAME,
                f"{title}, MQTT fast path",
                unit,
                project=[b[key] for b in bursts["project"]],
                baseline_name=PLAIN,
                baseline=[b[key] for b in bursts["plain"]],
            )
        )
    out.details += [{"burst": kind, **b} for kind, bs in bursts.items() for b in bs]
    out.notes.append(
        f"{NAME}: windows of {window:g} s, servers side by side (one broker, one publisher, "
        f"one client process); CPU: every thread's time on a CPU (schedstat), as a share "
        f"of one core; medians over repeats, ratio project / baseline (below 1× the "
        f"project costs less)."
    )
    return out


def _note(load: Load, rs: list[dict[str, Any]]) -> str:
    parts = []
    for kind in load.servers:
        got = [r[kind] for r in rs]

        def m(key: str, got: list[dict[str, Any]] = got) -> float:
            return _median([float(g.get(key, 0.0)) for g in got])

        part = f"{kind} {m('percent'):.3f}% ({m('wakeups_per_s'):.1f} wake-ups/s"
        if load.sensors:
            part += (
                f", {m('messages') / m('wall'):.0f} msg/s in, {m('frames_per_s'):.1f} frames/s "
                f"and {m('points_per_s'):.0f} points/s to the slowest client, latency p50 "
                f"{m('p50'):.1f} ms, p99 {m('p99'):.1f} ms"
            )
        if "alert_states" in got[0]:
            part += (
                f", {m('alert_states'):.0f} alert states, {m('alert_changes'):.0f} changes in "
                f"the window of which {m('alert_fired'):.0f} to firing, {m('alert_firing'):.0f} "
                f"firing at its end"
            )
        parts.append(part + ")")
    return f"{NAME}, {load.title}: " + "; ".join(parts) + "."
