"""A running process's CPU time and wake-ups, read from /proc.

`on_cpu` sums every thread's time on a CPU from the scheduler's nanosecond count
(`/proc/<pid>/task/*/schedstat`).  utime and stime (`ticks`) are sampled at the
clock tick, and a process that wakes on whole seconds, as an idle server does,
can be charged a whole tick each time it happens to be running then.  A thread
that ends takes its schedstat with it (utime and stime keep it): `Sample` keeps
both, and the thread ids, so a window whose threads changed can say so.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path


def _tasks(pid: int) -> list[str]:
    return os.listdir(f"/proc/{pid}/task")


def on_cpu(pid: int) -> float:
    """Seconds on a CPU, every thread's, from the scheduler's nanosecond count."""
    total = 0
    for task in _tasks(pid):
        with contextlib.suppress(OSError):  # a thread may end between listing and reading
            total += int(Path(f"/proc/{pid}/task/{task}/schedstat").read_text().split()[0])
    return total / 1e9


def ticks(pid: int) -> float:
    """utime + stime of the whole process (ended threads included), in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def switches(pid: int) -> int:
    """Context switches of every thread, voluntary and not: each is a wake-up."""
    total = 0
    for task in _tasks(pid):
        with contextlib.suppress(OSError):  # a thread may end between listing and reading
            for line in Path(f"/proc/{pid}/task/{task}/status").read_text().splitlines():
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    total += int(line.split()[1])
    return total


@dataclass(frozen=True, slots=True)
class Sample:
    """One reading of a process: its CPU both ways, its wake-ups and its threads."""

    on_cpu: float
    ticks: float
    switches: int
    threads: frozenset[str]

    @classmethod
    def of(cls, pid: int) -> Sample:
        return cls(on_cpu(pid), ticks(pid), switches(pid), frozenset(_tasks(pid)))

    def since(self, before: Sample) -> dict[str, float]:
        """What happened between `before` and this sample."""
        return {
            "cpu": self.on_cpu - before.on_cpu,
            "cpu_ticks": self.ticks - before.ticks,
            "switches": self.switches - before.switches,
            "threads_changed": float(self.threads != before.threads),
        }
