"""The Pi column: the project's per-CPU-second figures as a Raspberry Pi would give them.

A figure per CPU-second (readings, lines, messages) is CPU-bound Python, so it
scales with how fast the CPU runs CPython.  A board's factor is how many times
longer it takes than this machine's measured core to run the same pure-Python
program, so the Pi column is the project's figure divided by the factor: what
one core of that board would do.  A Pi 4 has four cores; the server uses about
one (its event loop, plus reader threads that mostly wait).

The program, and the one published timing of it on a Pi found: "simplebench"
(the primes below 100,000 by trial division, floats and a loop: `REFERENCE`),
Salwan, "Benchmarking using simplebench script", 2019-10-03,
https://github.com/Salwan/salwan.github.io/blob/master/_posts/2019-10-03-simplebench.md
- Raspberry Pi 4, Cortex-A72, Raspbian, Python 2.7: 4.3 s, the best of more
  than ten runs.

This run times the same program, best of five, on the measured core (see
`procs`), with CPython 2.7 when the machine has one (pyenv's, or `python2.7` on
the PATH), as on the Pi; else with this Python, converted with
`PY27_OVER_THIS`, the 2.7 / 3.11 ratio on this program measured on the
benchmark machine (0.54 s / 0.335 s).  Machines run interpreters in about the
same proportion whatever the version, so the factor carries over to the
project's Python 3.

Raspberry Pi Zero 2 W: no published CPython timing was found.  Its Cortex-A53
at 1.0 GHz is the Pi 3B+'s core at a lower clock; sysbench's single-core CPU
test gives the Pi 3B+ (1.4 GHz) 687 events/s and the Pi 4 1,478
(https://leoncode.co.uk/articles/raspberry-pi-benchmarks), so the Zero 2 W is
taken as 1478 / 687 x 1.4 / 1.0 = 3.0 times slower than the Pi 4.  That is C,
not Python: an in-order A53 likely loses more on an interpreter's branches, so
treat the Zero 2 W column as an upper bound.

How far to trust the factors: a 2019 Raspbian (32-bit) Python 2.7 on a 1.5 GHz
Pi 4 (later boards run at 1.8 GHz, and a 64-bit OS is faster); one program, of
floats and loops, where the project is dicts, strings and small objects.  Read
the columns as "about": within a third either way.
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass

from bench import procs

PI4_SECONDS = 4.3  # simplebench on a Raspberry Pi 4, Python 2.7 (see above)
ZERO2W_OVER_PI4 = 1478 / 687 * 1.4 / 1.0  # sysbench single core and clock: 3.0
PY27_OVER_THIS = 0.54 / 0.335  # simplebench, CPython 2.7.18 / 3.11.7, benchmark machine
RUNS = 5

# Written to run unchanged on Python 2.7 and 3; prints its best time of RUNS runs.
REFERENCE = """
import math, time, json, sys
def simplebench():
    all_primes = []
    t1 = time.time()
    for i in range(2, 100000):
        skip = False
        k = math.floor(math.sqrt(float(i))) + 1.0
        for j in range(2, int(k)):
            k1 = i / float(j)
            k2 = int(k1)
            if k1 == k2:
                skip = True
                break
        if skip:
            continue
        all_primes.append(i)
    assert len(all_primes) == 9592
    return time.time() - t1
print(json.dumps(min(simplebench() for _ in range(int(sys.argv[1])))))
"""


@dataclass(frozen=True, slots=True)
class Calibration:
    seconds: float  # this machine's best time, in the Pi's Python 2.7 terms
    python: str  # what ran it
    boards: dict[str, float]  # board -> factor (how many times slower)

    def note(self) -> str:
        each = ", ".join(f"{name} ÷{factor:.1f}" for name, factor in self.boards.items())
        return (
            f"Pi columns: the project's per-CPU-second figures divided by how many times "
            f"slower the board runs CPython ({each}): simplebench here {self.seconds:.3f} s "
            f"({self.python}) against 4.3 s on a Pi 4; the Zero 2 W from sysbench, "
            f"{ZERO2W_OVER_PI4:.1f}x the Pi 4.  Sources and caveats: bench/pi.py; "
            "about ±1/3."
        )


def _python27() -> str | None:
    root = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
    found = sorted(glob.glob(os.path.join(root, "versions", "2.7*", "bin", "python2.7")))
    on_path = shutil.which("python2.7")
    for candidate in [*found, *([on_path] if on_path else [])]:
        ok = subprocess.run(
            [candidate, "-c", "import sys; assert sys.version_info[:2] == (2, 7)"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        if ok.returncode == 0:
            return candidate
    return None


def calibrate(progress: Callable[[str], None] = lambda _: None) -> Calibration:
    python27 = _python27()
    python = python27 or sys.executable
    out = subprocess.run(
        procs.measured([python, "-c", REFERENCE, str(RUNS)]),
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    )
    best = float(json.loads(out.stdout))
    seconds = best if python27 else best * PY27_OVER_THIS
    what = "CPython 2.7" if python27 else f"this Python, x{PY27_OVER_THIS:.2f} for 2.7"
    pi4 = PI4_SECONDS / seconds
    progress(f"pi: simplebench {best:.3f} s ({what}); a Pi 4 is {pi4:.1f}x slower")
    return Calibration(seconds, what, {"Pi 4": pi4, "Zero 2 W": pi4 * ZERO2W_OVER_PI4})
