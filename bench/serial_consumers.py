"""The processes of the serial benchmark: the device that writes, the readers measured.

`python -m bench.serial_consumers writer --fd FD --lines N --kind K` is the device:
it owns the pty's master end (FD, inherited), waits for the reader's `!` (so no
line is written before the reader has opened the port, which flushes what is
waiting), then writes the N lines with blocking writes: it never drops, the
reader's pace is its pace.

`python -m bench.serial_consumers project|pyserial --port PATH --lines N --kind K`
opens the port, writes `!`, reads until N lines have arrived and prints one JSON
line: lines, readings, and the CPU and wall seconds from just before it opened the
port until the N-th line was handled (interpreter start and imports excluded, as
a long-running server pays them once).

- `project`: the server's path: `SerialSource` (its own thread) into the
  `Runtime`'s `Inbox`, drained in batches on the event loop into `Pipeline.ingest`.
- `pyserial`: a bare `Serial.readline()` loop that counts, the least a reader
  written with pyserial's own line reading does.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import time
from typing import Any

import serial

from bench import procs
from bench.consumers import measure_pipeline
from devices.serial import SerialSource
from telemetry.config import Config, SerialConfig

BAUDRATE = 115200  # a pty ignores it; the figure is CPU per line, not the wire's speed
CHUNK = 200  # lines per write of the device


def line(kind: str, i: int) -> bytes:
    """Line `i` of a kind: a plain number, or the Arduino plotter's three values."""
    t = 15 + i % 1500 / 100
    if kind == "number":
        return f"{t:.2f}\n".encode()
    h, p = 30 + i % 400 / 10, 990 + i % 500 / 10
    return f"temperature:{t:.2f},humidity:{h:.1f},pressure:{p:.1f}\n".encode()


def readings_per_line(kind: str) -> int:
    return 1 if kind == "number" else 3


def _writer(args: argparse.Namespace) -> int:
    fd: int = args.fd
    os.set_blocking(fd, True)
    while os.read(fd, 1) != b"!":  # the reader has the port open
        pass
    for start in range(0, args.lines, CHUNK):
        data = b"".join(line(args.kind, i) for i in range(start, min(args.lines, start + CHUNK)))
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    # Hold the master open until the reader has read everything: closing it would hang
    # up the port under it.
    with contextlib.suppress(OSError):
        while os.read(fd, 1):
            pass
    return 0


async def _project(args: argparse.Namespace) -> dict[str, Any]:
    cfg = SerialConfig(name="bench", port=args.port, baudrate=BAUDRATE)
    config = Config(serial=(cfg,))
    source = SerialSource(cfg, config.limits)

    async def ready() -> None:
        # The reader opens the port in its thread: say "ready" once it has.
        while source.status().state != "connected":  # noqa: ASYNC110 (a thread sets it)
            await asyncio.sleep(0.001)
        with serial.Serial(args.port, BAUDRATE) as port:  # a second opener, only to write
            port.write(b"!")

    m = await measure_pipeline(config, source, args.lines, args.timeout, ready)
    return {
        "lines": m.handled,
        "readings": m.runtime.pipeline.accepted,
        "cpu": m.cpu,
        "wall": m.wall,
        "source_rejected": dict(source.rejected),
        **m.counts(),
    }


def _pyserial(args: argparse.Namespace) -> dict[str, Any]:
    n: int = args.lines
    count = 0
    cpu0, wall0 = time.process_time(), time.perf_counter()
    deadline = time.monotonic() + args.timeout
    with serial.Serial(args.port, BAUDRATE, timeout=1.0) as port:
        port.write(b"!")
        while count < n and time.monotonic() < deadline:
            if port.readline().endswith(b"\n"):  # not the half a timeout returns
                count += 1
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    return {"lines": count, "readings": count, "cpu": cpu, "wall": wall}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.serial_consumers")
    parser.add_argument("role", choices=("writer", "project", "pyserial"))
    parser.add_argument("--fd", type=int)
    parser.add_argument("--port")
    parser.add_argument("--lines", type=int, required=True)
    parser.add_argument("--kind", choices=("number", "plotter"), required=True)
    parser.add_argument("--timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    if args.role == "writer":
        return _writer(args)
    result = procs.run_loop(_project(args)) if args.role == "project" else _pyserial(args)
    print(json.dumps(result), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
