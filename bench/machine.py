"""What the numbers were measured on: CPU, cores, versions, load at the start.

Absolute rates drift between machines and between minutes on a shared one;
the table's ratios are what to compare, and this header says how far to trust
them (a load average near the core count means the run competed for CPU).
"""

from __future__ import annotations

import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path

from simulators.broker import find_mosquitto


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.partition(":")[2].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _version(distribution: str) -> str:
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "not installed"


def _mosquitto_version() -> str:
    program = find_mosquitto()
    if program is None:
        return "not installed"
    try:
        done = subprocess.run(
            [program, "-h"], capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    first = (done.stdout or done.stderr).strip().splitlines()
    return first[0].removeprefix("mosquitto version ") if first else "unknown"


def describe() -> dict[str, str]:
    """The machine as `name: value` pairs, in the order they are printed."""
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "cpu": _cpu_model(),
        "cores": f"{os.cpu_count()} ({usable} usable)",
        "system": f"{platform.system()} {platform.release()} {platform.machine()}",
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "paho-mqtt": _version("paho-mqtt"),
        "uvloop": _version("uvloop"),
        "numpy": _version("numpy"),
        "mosquitto": _mosquitto_version(),
        "loadavg at start": load,
    }
