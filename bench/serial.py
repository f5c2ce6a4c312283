"""Serial: lines per CPU-second from a pseudo-terminal into the history.

The project's serial reader (`SerialSource` in the server's `Runtime`, into
`Pipeline.ingest`) against a bare pyserial loop that calls `readline()` and
counts, the least a reader built on pyserial's own line reading does, on the
same device: a pty whose master end a writer process holds (`bench.
serial_consumers writer`).  The writer waits until the reader has the port open
and then writes N lines with blocking writes, so nothing is dropped and the
reader's pace is the writer's; a pty is as fast as the CPU, so this is the
most lines a reader can take, as from a fast USB device.

The CPU counted is the reader's process only (all its threads), from just
before it opens the port until its N-th line is handled (`time.process_time()`,
reported by the reader; its start-up and imports excluded, as a server pays
them once).  Readers run on the measured core, the writer with the rest.

Two kinds of line: plain numbers (`21.37`, one reading each) and the Arduino
Serial Plotter's `temperature:21.37,humidity:45.2,pressure:1013.2` (three).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tty
from collections.abc import Callable
from typing import Any

from bench import procs
from bench.model import BenchError, Options, Report, Row
from bench.serial_consumers import readings_per_line
from bench.table import rate

NAME = "serial"
# Lines a run (--quick: a fifth, --long: twice): pyserial's readline() reads a byte
# per system call, so its plotter lines take it ~0.3 ms each.
LINES = {"number": 50_000, "plotter": 15_000}
KINDS = {"number": "plain numbers, 1 reading each", "plotter": "plotter lines, 3 readings each"}
CONSUMERS = ("project", "pyserial")


class SerialBenchError(BenchError):
    """A reader did not get exactly the lines written; the run is void."""


def _timeout(n: int) -> float:
    return 30.0 + n / 2000


def measure_once(consumer: str, kind: str, n: int) -> dict[str, Any]:
    """One reader over one fresh pty; its JSON result."""
    master, slave = os.openpty()
    try:
        tty.setraw(slave)  # no echo, no line editing: bytes as a USB adapter gives them
        path = os.ttyname(slave)
        head = [sys.executable, "-m", "bench.serial_consumers"]
        common = ["--lines", str(n), "--kind", kind]
        writer = subprocess.Popen(
            [*head, "writer", "--fd", str(master), *common],
            pass_fds=(master,),
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            done = procs.run_measured(
                procs.measured(
                    [*head, consumer, "--port", path, *common, "--timeout", str(_timeout(n))]
                ),
                _timeout(n) + 15,
            )
        finally:
            writer.kill()
            writer.wait()
    finally:
        os.close(master)
        os.close(slave)
    if done.returncode != 0:
        raise SerialBenchError(
            f"{consumer} ({kind}): exit {done.returncode}\n{done.stderr[-2000:]}"
        )
    result: dict[str, Any] = json.loads(done.stdout)
    if result["lines"] + result.get("dropped", 0) != n:
        raise SerialBenchError(
            f"{consumer} ({kind}): {result['lines']} of {n} lines arrived\n{done.stderr[-2000:]}"
        )
    return result


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    scale = 0.2 if options.quick else 2.0 if options.long else 1.0
    report = Report(NAME)
    samples: dict[str, dict[str, list[dict[str, Any]]]] = {
        kind: {c: [] for c in CONSUMERS} for kind in KINDS
    }
    for kind, title in KINDS.items():
        n = round(LINES[kind] * scale)
        for rep in range(options.repeat):
            order = CONSUMERS if rep % 2 == 0 else CONSUMERS[::-1]
            for consumer in order:
                r = measure_once(consumer, kind, n)
                samples[kind][consumer].append(r)
                progress(
                    f"{NAME} {kind} #{rep + 1} {consumer}: {n / r['cpu']:,.0f} lines/CPU-s, "
                    f"{r['wall']:.2f} s wall"
                )
        report.rows.append(
            Row.compare(
                NAME,
                title,
                "lines/CPU-s",
                project=[n / r["cpu"] for r in samples[kind]["project"]],
                baseline_name="pyserial readline()",
                baseline=[n / r["cpu"] for r in samples[kind]["pyserial"]],
            )
        )
        last = samples[kind]["project"][-1]
        wall = {c: statistics.median(r["wall"] for r in samples[kind][c]) for c in CONSUMERS}
        report.notes.append(
            f"{NAME} {kind}: {n:,} lines a run, {options.repeat} runs each; project "
            f"{last['readings']:,} readings of {n * readings_per_line(kind):,} in "
            f"{last['series']} series, rejected {last['rejected'] or {}}, inbox dropped "
            f"{last['dropped']}; wall: project {wall['project']:.2f} s "
            f"({rate(n / wall['project'])} lines/s), pyserial {wall['pyserial']:.2f} s"
        )
        report.details += [
            {"kind": kind, "consumer": c, **r} for c in CONSUMERS for r in samples[kind][c]
        ]
    report.notes.append(
        f"{NAME}: a pty (raw mode) written by a process that waits for the reader; readers' "
        "CPU only.  The target is the project at 1.0x pyserial's readline() or more."
    )
    return report
