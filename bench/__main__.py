"""`python -m bench`: run the benchmarks, print the machine and one table of ratios.

    python -m bench                      # everything, 3 repeats, about 8 minutes
    python -m bench --cores swap         # the same with the two cores' roles swapped
    python -m bench --quick              # smaller inputs, 2 repeats
    python -m bench --long               # longer windows (the browser's 5-minute heap run)
    python -m bench --only ingest --repeat 5 --messages 50000
    python -m bench --markdown --json results.json

The measured processes (the project and its baselines) run on one core, the
rest (brokers, publishers, clients, this harness) on the other; the table ends
with Raspberry Pi columns (`bench/pi.py`).

Progress goes to stderr; the machine, the table and the notes to stdout.
Ctrl-C or SIGTERM end the run in order: every broker, consumer and publisher it
started is stopped before it exits.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from typing import Any

from bench import pi, procs, suite, table
from bench.machine import describe
from bench.model import BenchError, Options, Report


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench", description="Benchmark the project against its baselines."
    )
    parser.add_argument("--quick", action="store_true", help="smaller inputs, 2 repeats")
    parser.add_argument(
        "--long",
        action="store_true",
        help="longer windows and more messages (the browser's 5-minute heap run; ~25 min)",
    )
    parser.add_argument("--repeat", type=int, help="measurements per figure (default 3)")
    parser.add_argument(
        "--cores",
        choices=("auto", "swap", "none"),
        default="auto",
        help="auto: measured processes on the first usable core, all others on the second; "
        "swap: the other way round; none: the kernel places them",
    )
    parser.add_argument(
        "--only",
        action="append",
        choices=tuple(suite.BENCHMARKS),
        help="run only this benchmark (repeatable)",
    )
    parser.add_argument("--messages", type=int, help="messages per ingest run (default 200000)")
    parser.add_argument(
        "--no-pi", action="store_true", help="leave out the Raspberry Pi columns (bench/pi.py)"
    )
    parser.add_argument("--markdown", action="store_true", help="also print a Markdown table")
    parser.add_argument("--json", metavar="FILE", help="save machine, rows and details as JSON")
    return parser


def _json(machine: dict[str, str], options: Options, reports: list[Report]) -> dict[str, Any]:
    return {
        "machine": machine,
        "options": {
            "repeat": options.repeat,
            "quick": options.quick,
            "long": options.long,
            "messages": options.messages,
        },
        "rows": [row.as_json() for report in reports for row in report.rows],
        "notes": [note for report in reports for note in report.notes],
        "details": {report.name: report.details for report in reports},
    }


def _assign_cores(choice: str) -> str:
    """Pin the roles (see `procs.assign_cores`); say how, for the machine's header."""
    usable = sorted(os.sched_getaffinity(0))
    if choice == "none" or len(usable) < 2:
        return "not pinned" + ("" if choice == "none" else " (fewer than 2 usable cores)")
    measured, other = usable[0], usable[1]
    if choice == "swap":
        measured, other = other, measured
    procs.assign_cores((measured,), (other,))
    return f"measured processes on core {measured}, every other on core {other}"


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    repeat = args.repeat or (2 if args.quick else 3)
    try:
        options = Options(repeat=repeat, quick=args.quick, long=args.long, messages=args.messages)
    except ValueError as exc:
        _parser().error(str(exc))
    names = args.only or list(suite.BENCHMARKS)
    machine = describe()
    machine["cores used"] = _assign_cores(args.cores)
    print(table.machine(machine), end="\n\n", flush=True)

    def progress(line: str) -> None:
        print(line, file=sys.stderr, flush=True)

    # SIGTERM unwinds like Ctrl-C, through every `finally` that stops a child.
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    start = time.monotonic()
    try:
        reports = suite.run(names, options, progress)
        calibration = None if args.no_pi else pi.calibrate(progress)
    except BenchError as exc:
        print(f"benchmark failed: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    rows = [row for report in reports for row in report.rows]
    boards = calibration.boards if calibration else None
    print(table.text(rows, boards))
    notes = [note for report in reports for note in report.notes]
    if calibration:
        notes.append(calibration.note())
    if notes:
        print()
        print("\n".join(notes))
    if args.markdown:
        print()
        print(table.markdown(rows, boards))
    print(f"\n({time.monotonic() - start:.0f} s)", flush=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump({**_json(machine, options, reports), "boards": boards}, f, indent=2)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
