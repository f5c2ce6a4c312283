"""Child processes the benchmarks start: timed, measured, and always ended.

`run_measured` starts one program in its own session (so a Ctrl-C in the
terminal reaches only the harness, which then ends its children in order),
waits for it with a deadline and reaps it with `os.wait4`, which gives the
CPU time of that child alone: nothing else the harness runs is counted.
Whatever happens in between (a timeout, an exception, a KeyboardInterrupt) the
child is killed and reaped before the call returns.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import tempfile
import time
from collections.abc import Coroutine, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from bench.model import BenchError

POLL = 0.005

# The cores of the two roles, when `python -m bench --cores M,O` assigns them:
# "measured" (the project's processes and the baselines they are compared
# with) and "other" (brokers, publishers, clients, the harness itself).  Empty:
# the kernel places every process.
MEASURED: tuple[int, ...] = ()
OTHER: tuple[int, ...] = ()


class ChildError(BenchError):
    """A child failed: it ran out of time or exited non-zero; says which and why."""


@dataclass(frozen=True, slots=True)
class Finished:
    """A child that exited: its output, its own CPU time and wall time."""

    returncode: int
    stdout: str
    stderr: str
    cpu: float
    wall: float


def assign_cores(measured: tuple[int, ...], other: tuple[int, ...]) -> None:
    """Pin the harness (and so every child it starts) to `other`; `measured()`
    moves a measured child to `measured`."""
    global MEASURED, OTHER
    MEASURED, OTHER = measured, other
    os.sched_setaffinity(0, other)


def measured(argv: Sequence[str]) -> list[str]:
    """`argv` run on the measured cores (with `taskset`, which execs it: same pid)."""
    if not MEASURED:
        return list(argv)
    return ["taskset", "-c", ",".join(map(str, MEASURED)), *argv]


def measured_executable(program: str, folder: str) -> str:
    """A script in `folder` that runs `program` on the measured cores (for a program
    another one starts, as Playwright starts Chromium); `program` itself when no
    cores are assigned."""
    if not MEASURED:
        return program
    path = os.path.join(folder, os.path.basename(program) + "-pinned")
    cores = ",".join(map(str, MEASURED))
    with open(path, "w", encoding="utf-8") as f:
        f.write(f'#!/bin/sh\nexec taskset -c {cores} {program} "$@"\n')
    os.chmod(path, 0o755)
    return path


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.returncode is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, 9)  # the child leads its own session: take its group
    with contextlib.suppress(ChildProcessError):
        os.waitpid(process.pid, 0)
    process.returncode = -9


def run_measured(argv: Sequence[str], timeout: float, *, discard_stdout: bool = False) -> Finished:
    """Run `argv` to completion; its user+system CPU seconds come from wait4."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        start = time.perf_counter()
        process = subprocess.Popen(
            list(argv),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL if discard_stdout else out,
            stderr=err,
            start_new_session=True,
        )
        try:
            deadline = start + timeout
            while True:
                pid, status, usage = os.wait4(process.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() > deadline:
                    raise ChildError(f"{argv[0]} did not finish within {timeout:.0f} s")
                time.sleep(POLL)
            wall = time.perf_counter() - start
            # wait4 reaped it: tell Popen, or it would try again.
            process.returncode = os.waitstatus_to_exitcode(status)
        except BaseException:
            _kill(process)
            raise
        out.seek(0)
        err.seek(0)
        return Finished(
            process.returncode,
            out.read().decode("utf-8", "replace"),
            err.read().decode("utf-8", "replace"),
            usage.ru_utime + usage.ru_stime,
            wall,
        )


@contextlib.contextmanager
def background(argv: Sequence[str], label: str) -> Iterator[dict[str, Any]]:
    """`argv` running in its own session while the block runs; then SIGTERM, and the
    dict holds the one JSON object it printed (a ChildError if it printed none)."""
    process = subprocess.Popen(
        list(argv),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    said: dict[str, Any] = {}
    try:
        yield said
        process.terminate()
        out, err = process.communicate(timeout=10)
        if process.returncode != 0 or not out.strip():
            raise ChildError(f"{label}: exit {process.returncode}\n{err.decode()[-2000:]}")
        said.update(json.loads(out))
    finally:
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def run_loop(main: Coroutine[Any, Any, dict[str, Any]]) -> dict[str, Any]:
    """Run on uvloop when it is installed, as uvicorn runs the server."""
    try:
        import uvloop  # noqa: PLC0415 (optional, as for the server)
    except ImportError:
        return asyncio.run(main)
    return uvloop.run(main)
