"""Footprint: the memory of an idle server and what it writes to disk.

The server as a Pi runs it, `python -m telemetry serve --config FILE`: one
`[[mqtt]]` reader on a private mosquitto, 50 series (`bench/devN/temperature`)
published at 1 Hz each by `bench.e2e_publisher`, five `GET /events` streams
open (threads of this harness that read and drop the bytes), history in memory
only (no `[history] file`: persistence off).  After a warm-up, its RSS
(`/proc/PID/status`, the median of samples over the window) is compared with a
process that merely imports what the server imports (the project's packages,
uvicorn with its uvloop and httptools parts) and does nothing.  Target: at most
1.25 times.

Disk writes: `write_bytes` of `/proc/PID/io` (bytes the process caused to be
written to storage) over the window, reported per minute; `wchar` counts every
`write` call, sockets and pipes included, and is given for context.  Any
regular file the server holds open for writing (other than its stdout and
stderr, which systemd sends to the journal) is listed too.  Target: zero.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import fanout
from bench.e2e import project_config
from bench.ingest import private_broker
from bench.model import BenchError, Options, Report, Row

NAME = "footprint"
SERIES = 50
CLIENTS = 5
RSS_TARGET = 1.25
IMPORTS = (
    "telemetry.cli",
    "telemetry.server",
    "uvicorn.loops.uvloop",
    "uvicorn.protocols.http.httptools_impl",
    "uvicorn.lifespan.on",
)


class FootprintError(BenchError):
    """The server did not take the series in, or its /proc files could not be read."""


def _proc(pid: int, name: str) -> dict[str, int]:
    """`key: value` lines of /proc/PID/<name>, numbers only (kB for status)."""
    out = {}
    try:
        with open(f"/proc/{pid}/{name}", encoding="ascii") as f:
            for line in f:
                key, _, value = line.partition(":")
                parts = value.split()
                if parts and parts[0].isdigit():
                    out[key] = int(parts[0])
    except OSError as exc:
        raise FootprintError(f"cannot read /proc/{pid}/{name}: {exc}") from None
    return out


def _files_open_for_writing(pid: int) -> list[str]:
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        if fd in ("1", "2"):  # stdout and stderr: wherever the service manager points them
            continue
        with contextlib.suppress(OSError):
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
            if not target.startswith("/") or target.startswith(("/dev/", "/proc/")):
                continue  # sockets, pipes, anonymous inodes, devices
            with open(f"/proc/{pid}/fdinfo/{fd}", encoding="ascii") as info:
                flags = int(next(x for x in info if x.startswith("flags:")).split()[1], 8)
            if flags & (os.O_WRONLY | os.O_RDWR):
                found.append(target)
    return found


def _series(port: int) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(b"GET /api/series HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n")
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    body = data.partition(b"\r\n\r\n")[2]
    return len(json.loads(body)["series"])


@contextlib.contextmanager
def _streams(port: int, count: int) -> Iterator[list[int]]:
    """`count` open `GET /events` streams read by threads; yields their byte counts."""
    received = [0] * count
    stop = threading.Event()
    sockets = []

    def read(i: int, s: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while not stop.is_set():
                data = s.recv(65536)
                if not data:
                    return
                received[i] += len(data)

    threads = []
    try:
        for i in range(count):
            s = socket.create_connection(("127.0.0.1", port), timeout=5)
            sockets.append(s)
            s.sendall(b"GET /events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n")
            s.settimeout(0.5)
            thread = threading.Thread(target=read, args=(i, s), daemon=True)
            thread.start()
            threads.append(thread)
        yield received
    finally:
        stop.set()
        for s in sockets:
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
            s.close()
        for thread in threads:
            thread.join(2)


@contextlib.contextmanager
def _publisher(broker_port: int) -> Iterator[None]:
    process = subprocess.Popen(
        [
            *[sys.executable, "-m", "bench.e2e_publisher", str(broker_port)],
            *["--rate", str(SERIES), "--topics", str(SERIES), "--batch", "0.1"],
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        yield
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def imports_rss_mb() -> float:
    """RSS of a process that imports what the server imports, and nothing more."""
    code = (
        f"import importlib; [importlib.import_module(m) for m in {IMPORTS!r}]; "
        "print(next(int(l.split()[1]) for l in open('/proc/self/status') "
        "if l.startswith('VmRSS:')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return int(out.stdout) / 1024


def measure_once(warm: float, window: float) -> dict[str, Any]:
    with (
        private_broker() as broker,
        tempfile.TemporaryDirectory(prefix="bench-footprint-") as folder,
    ):
        config = Path(folder) / "footprint.toml"
        config.write_text(project_config(broker, CLIENTS), encoding="utf-8")
        module = ["-m", "telemetry", "serve", "--config", str(config), "--port"]
        with (
            fanout.server_process("project", module, []) as (pid, port),
            _publisher(broker.port),
        ):
            deadline = time.monotonic() + warm + 20
            while _series(port) < SERIES:
                if time.monotonic() > deadline:
                    raise FootprintError(f"the server has {_series(port)} of {SERIES} series")
                time.sleep(0.2)
            with _streams(port, CLIENTS) as received:
                time.sleep(warm)
                io0, t0 = _proc(pid, "io"), time.monotonic()
                rss = []
                while time.monotonic() - t0 < window:
                    rss.append(_proc(pid, "status")["VmRSS"] / 1024)
                    time.sleep(min(1.0, window / 10))
                io1, elapsed = _proc(pid, "io"), time.monotonic() - t0
                writing = _files_open_for_writing(pid)
                series = _series(port)
            if min(received) == 0:
                raise FootprintError(f"a stream received nothing: {received}")
    per_minute = 60 / elapsed
    return {
        "rss_mb": statistics.median(rss),
        "rss_max_mb": max(rss),
        "series": series,
        "clients": CLIENTS,
        "window_s": elapsed,
        "write_bytes_per_min": (io1["write_bytes"] - io0["write_bytes"]) * per_minute,
        "wchar_per_min": (io1["wchar"] - io0["wchar"]) * per_minute,
        "files_open_for_writing": writing,
        "stream_bytes": received,
    }


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    warm, window = (3.0, 10.0) if options.quick else (10.0, 60.0) if options.long else (5.0, 30.0)
    repeat = min(options.repeat, 2) if options.long else 1
    report = Report(NAME)
    runs, bases = [], []
    for i in range(repeat):
        progress(f"{NAME}: idle server, {SERIES} series at 1 Hz, {CLIENTS} streams, {window:g} s")
        runs.append(measure_once(warm, window))
        bases.append(imports_rss_mb())
        report.details.append({"repeat": i, "imports_rss_mb": bases[-1], **runs[-1]})
    report.rows.append(
        Row.compare(
            NAME,
            f"idle server RSS, {SERIES} series, {CLIENTS} streams",
            "MB, lower is better",
            project=[r["rss_mb"] for r in runs],
            baseline_name="imports only",
            baseline=bases,
        )
    )
    writes = max(r["write_bytes_per_min"] for r in runs)
    files = sorted({f for r in runs for f in r["files_open_for_writing"]})
    report.notes.append(
        f"{NAME}: RSS {statistics.median(r['rss_mb'] for r in runs):.1f} MB (at most "
        f"{max(r['rss_max_mb'] for r in runs):.1f}) against {statistics.median(bases):.1f} MB "
        f"for the imports alone (the project's packages, uvicorn with uvloop and httptools); "
        f"target ≤ {RSS_TARGET}x; median over a {window:g} s window after {warm:g} s of warm-up."
    )
    report.notes.append(
        f"{NAME}: disk writes with persistence off: {writes:,.0f} bytes/min written to storage "
        f"(target 0) over {window:g} s; all write() calls incl. sockets: "
        f"{statistics.median(r['wchar_per_min'] for r in runs):,.0f} bytes/min; "
        f"files open for writing: {files or 'none'}."
    )
    return report
