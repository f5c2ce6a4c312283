"""The Pi column: the project's per-CPU-second figures as a Raspberry Pi would give them.

A figure per CPU-second (readings, lines, messages) is CPU-bound Python, so it
scales with how fast the CPU runs CPython.  A board's factor is how many times
longer it takes than this machine's measured core to run the same pure-Python
program; the Pi column is the project's figure divided by it: what one core of
that board would do.  A Pi has four cores; the server uses about one (its event
loop, plus reader threads that mostly wait).

The program is the workload of alexdedyura/cpu-benchmark (`WORKLOAD`: float
multiplications by big powers of two and float divisions in tight loops), for
which users have published timings on Raspberry Pis with Python 3:
- Raspberry Pi 4 (Cortex-A72), Ubuntu 22.04.3 (Python 3.10): 79.216 s for
  10,000 rounds, the README's results table,
  https://github.com/alexdedyura/cpu-benchmark#benchmark-results
- Raspberry Pi 3B+ (Cortex-A53, 1.4 GHz), Raspberry Pi OS, Python 3.11.2:
  245 s, https://github.com/alexdedyura/cpu-benchmark/issues/20
The Zero 2 W has the 3B+'s core at 1.0 GHz: 245 s x 1.4 / 1.0 = 343 s (clock
scaling, the only step not measured by someone).

This run times `ROUNDS` rounds, the best of `RUNS`, on the measured core (see
`procs`) with this Python, and scales to 10,000 (every round is the same work).
3.10 and 3.11 run this loop within 5 % of each other.

How far to trust the factors: one user's run per board, clock and governor not
stated (a Pi 4 runs at 1.5 or 1.8 GHz by revision); one program of floats and
loops, where the project is dicts, strings and small objects; this machine's
Python is a pyenv build without PGO (Debian's, as on the Pi, is ~15 % faster
here, which the factor then understates).  Read the columns as "about": within
a third either way.  A second source agrees within a fifth: Salwan's
"simplebench" (primes below 100,000 by trial division, 2019-10-03,
https://github.com/Salwan/salwan.github.io/blob/master/_posts/2019-10-03-simplebench.md)
took 4.3 s on a Pi 4 with Python 2.7 on Raspbian, and 0.54 s on the benchmark
machine with CPython 2.7.18: 8.0, where this workload gives 6.8.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from bench import procs

PUBLISHED_ROUNDS = 10_000
BOARDS = {
    "Pi 4": 79.216,  # seconds for PUBLISHED_ROUNDS, see above
    "Zero 2 W": 245.0 * 1.4 / 1.0,  # the Pi 3B+'s, scaled to the Zero 2 W's clock
}
ROUNDS = 1000  # about 1.2 s here; 10,000 rounds took 11.6 s, so it scales
RUNS = 3

# The workload; prints the best time of `RUNS` runs of `ROUNDS` rounds.
WORKLOAD = """
import json, sys, time
rounds, runs = int(sys.argv[1]), int(sys.argv[2])
def once():
    start = time.perf_counter()
    for _ in range(rounds):
        for x in range(1, 1000):
            3.141592 * 2**x
        for x in range(1, 10000):
            float(x) / 3.141592
        for x in range(1, 10000):
            float(3.141592) / x
    return time.perf_counter() - start
print(json.dumps(min(once() for _ in range(runs))))
"""


@dataclass(frozen=True, slots=True)
class Calibration:
    seconds: float  # this machine's time for PUBLISHED_ROUNDS
    boards: dict[str, float]  # board -> factor (how many times slower)

    def note(self) -> str:
        each = ", ".join(f"{name} ÷{factor:.1f}" for name, factor in self.boards.items())
        return (
            f"Pi columns: the project's per-CPU-second figures divided by how many times "
            f"slower the board runs CPython ({each}): alexdedyura/cpu-benchmark's workload "
            f"here {self.seconds:.1f} s against 79.2 s published for a Pi 4 and 343 s for a "
            f"Zero 2 W (a Pi 3B+'s 245 s at its clock).  Sources and caveats: bench/pi.py; "
            "about ±1/3."
        )


def calibrate(progress: Callable[[str], None] = lambda _: None) -> Calibration:
    out = subprocess.run(
        procs.measured([sys.executable, "-c", WORKLOAD, str(ROUNDS), str(RUNS)]),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    seconds = float(json.loads(out.stdout)) * PUBLISHED_ROUNDS / ROUNDS
    boards = {name: published / seconds for name, published in BOARDS.items()}
    progress(
        f"pi: cpu-benchmark workload {seconds:.1f} s here for {PUBLISHED_ROUNDS:,} rounds; "
        + ", ".join(f"{name} {factor:.1f}x slower" for name, factor in boards.items())
    )
    return Calibration(seconds, boards)
