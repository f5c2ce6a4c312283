"""The values benchmarks return: options in, rows of medians and ratios out.

A `Row` compares one figure of the project with one baseline measured in the
same run on the same machine.  Figures are "higher is better" rates, so a
ratio (project / baseline) below 1 means the project does less per second,
unless the unit says "lower is better" (the browser's main-thread busy time:
there a ratio above 1 means the project costs more).
The ratio's median is taken over per-repeat ratios: repeats alternate the
consumers, so pairing them by repeat cancels some of the machine's drift.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any


class BenchError(Exception):
    """The root of the harness's errors: a run that cannot give a valid figure.

    BenchError
    ├── procs.ChildError   a child ran out of time or exited non-zero
    ├── wire.WireError     the broker answered what the set-up did not expect
    └── ingest.IngestError a consumer did not get exactly the messages published
    """


@dataclass(frozen=True, slots=True)
class Options:
    """What the command line says, for every benchmark.

    `repeat`: measurements per figure.  `quick`: smaller inputs.  `long`: longer
    windows (the default sizes keep every benchmark together under 10 minutes).
    `messages`: the ingest benchmark's message count (None: its default).
    """

    repeat: int = 3
    quick: bool = False
    long: bool = False
    messages: int | None = None

    def __post_init__(self) -> None:
        if self.quick and self.long:
            raise ValueError("--quick and --long contradict each other")
        if self.repeat < 1:
            raise ValueError(f"repeat {self.repeat!r} must be at least 1")
        if self.messages is not None and self.messages < 1:
            raise ValueError(f"messages {self.messages!r} must be at least 1")


@dataclass(frozen=True, slots=True)
class Stat:
    """The median of some samples and their range."""

    median: float
    low: float
    high: float
    samples: tuple[float, ...]

    @classmethod
    def of(cls, samples: Sequence[float]) -> Stat:
        if not samples:
            raise ValueError("a statistic needs at least one sample")
        return cls(statistics.median(samples), min(samples), max(samples), tuple(samples))

    def as_json(self) -> dict[str, Any]:
        return {
            "median": self.median,
            "min": self.low,
            "max": self.high,
            "samples": list(self.samples),
        }


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the table: `figure` of the project against `baseline`."""

    benchmark: str
    figure: str
    unit: str
    project: Stat
    baseline_name: str
    baseline: Stat
    ratio: Stat

    @classmethod
    def compare(
        cls,
        benchmark: str,
        figure: str,
        unit: str,
        *,
        project: Sequence[float],
        baseline_name: str,
        baseline: Sequence[float],
    ) -> Row:
        if len(project) != len(baseline):
            raise ValueError(f"{figure}: {len(project)} project samples, {len(baseline)} baseline")
        ratios = [p / b for p, b in zip(project, baseline, strict=True)]
        return cls(
            benchmark,
            figure,
            unit,
            Stat.of(project),
            baseline_name,
            Stat.of(baseline),
            Stat.of(ratios),
        )

    def as_json(self) -> dict[str, Any]:
        return {
            "benchmark": self.benchmark,
            "figure": self.figure,
            "unit": self.unit,
            "project": self.project.as_json(),
            "baseline_name": self.baseline_name,
            "baseline": self.baseline.as_json(),
            "ratio": self.ratio.as_json(),
        }


@dataclass(slots=True)
class Report:
    """What one benchmark measured: its rows, notes for the reader, raw details."""

    name: str
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    details: list[dict[str, Any]] = field(default_factory=list)
