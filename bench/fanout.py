"""Fan-out: readings delivered per server CPU-second, and memory per idle stream.

The project's `GET /events` (a raw ASGI app; the hub encodes each tick once
per distinct subscription) against the usual way: Starlette + sse-starlette's
`EventSourceResponse`, one `asyncio.Queue` per client and a producer that puts
one event per reading, `json.dumps`-ed per client, into every queue.  Both
servers run the same 50 series at 10 Hz, each in a process of its own
(`bench.fanout_server`); all clients run in one more process.

Throughput: 200 clients, each subscribed to all 50 series (the project: no
pattern; the baseline: one stream of everything).  After a warm-up, the client
process counts for a window the readings delivered (the project: the series
entries of each `readings` event; the baseline: its events) and the server's
utime + stime from /proc over the same window.  The project coalesces the
readings of one series within a tick (100 ms) into one point: at 10 Hz that is
about one reading per point, and a point is counted as one reading.

Idle memory: N connections with nothing flowing (the project: no source; the
baseline: no producer).  Server RSS before and after they open; the figure is
connections per MiB of RSS growth, higher is better.  The server's CPU over a
window with no connections and then with all of them open goes in the notes:
an idle stream should cost nothing per tick.
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
import time
from collections.abc import Callable, Iterator
from typing import Any

from bench import procs
from bench.model import BenchError, Options, Report, Row
from simulators.broker import free_port

NAME = "fanout"
SERVERS = ("project", "baseline")
BASELINE = "sse-starlette, queue per client"
CLIENTS = 200


class FanoutError(BenchError):
    """A server did not start or a client run failed."""


@contextlib.contextmanager
def _server(kind: str, idle: bool) -> Iterator[tuple[int, int]]:
    """Start one server; yield (pid, port); end its process group afterwards."""
    extra = ["--idle"] if idle else []
    with server_process(kind, ["-m", "bench.fanout_server", kind], extra) as running:
        yield running


@contextlib.contextmanager
def server_process(
    label: str,
    module: list[str],
    extra: list[str],
    *,
    measured: bool = True,
    cwd: str | None = None,
) -> Iterator[tuple[int, int]]:
    """`python <module> PORT <extra>` in its own process group, on the measured cores
    unless `measured` is False, in `cwd` (another copy of the code) if given; yield
    (pid, port) once it listens on 127.0.0.1; kill the group afterwards."""
    port = free_port()
    argv = [sys.executable, *module, str(port), *extra]
    if measured:
        argv = procs.measured(argv)
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
            cwd=cwd,
        )
        try:
            deadline = time.monotonic() + 20
            while True:
                if process.poll() is not None:
                    err.seek(0)
                    tail = err.read().decode("utf-8", "replace")[-2000:]
                    raise FanoutError(f"{label} server exited {process.returncode}\n{tail}")
                with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port)):
                    break
                if time.monotonic() > deadline:
                    raise FanoutError(f"{label} server did not listen within 20 s")
                time.sleep(0.05)
            yield process.pid, port
        finally:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def _client(kind: str, port: int, pid: int, clients: int, window: float, **kw: Any) -> Any:
    argv = [
        *[sys.executable, "-m", "bench.fanout_server", "client", kind, str(port), str(pid)],
        *["--clients", str(clients), "--window", str(window)],
    ]
    if kw.get("settle") is not None:
        argv += ["--settle", str(kw["settle"])]
    if kw.get("idle"):
        argv.append("--idle")
    done = procs.run_measured(argv, 60 + 3 * window)
    if done.returncode != 0:
        raise FanoutError(f"{kind} client: exit {done.returncode}\n{done.stderr[-2000:]}")
    result = json.loads(done.stdout)
    result["client_cpu"] = done.cpu
    return result


def _order(i: int) -> tuple[str, ...]:
    return SERVERS if i % 2 == 0 else SERVERS[::-1]


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    quick, long = options.quick, options.long
    window, warm = (2.5, 1.0) if quick else (8.0, 2.0) if long else (5.0, 2.0)
    idle_n, idle_window, idle_settle = (200, 1.0, 1.0) if quick else (2000, 5.0, 2.0)
    # Each repeat starts two servers and runs a window: cap them to keep the run short.
    repeat = min(options.repeat, 2 if quick else 3)
    idle_repeat = min(options.repeat, 2) if long else 1
    report = Report(NAME)

    rates: dict[str, list[float]] = {k: [] for k in SERVERS}
    for i in range(repeat):
        for kind in _order(i):
            progress(f"fanout: {kind}, {CLIENTS} clients, {window:.0f} s ({i + 1}/{repeat})")
            with _server(kind, idle=False) as (pid, port):
                r = _client(kind, port, pid, CLIENTS, window, settle=warm)
            if r["readings"] == 0 or r["cpu"] <= 0:
                raise FanoutError(f"{kind}: {r['readings']} readings in {r['cpu']} CPU-s")
            rates[kind].append(r["readings"] / r["cpu"])
            report.details.append({"test": "throughput", "server": kind, "repeat": i, **r})

    per_mib: dict[str, list[float]] = {k: [] for k in SERVERS}
    idle: dict[str, list[dict[str, Any]]] = {k: [] for k in SERVERS}
    for i in range(idle_repeat):
        for kind in _order(i):
            progress(f"fanout: {kind}, {idle_n} idle connections ({i + 1}/{idle_repeat})")
            with _server(kind, idle=True) as (pid, port):
                r = _client(kind, port, pid, idle_n, idle_window, settle=idle_settle, idle=True)
            grown = max(1, r["rss_after"] - r["rss_before"])  # KiB
            per_mib[kind].append(idle_n / (grown / 1024))
            idle[kind].append(r)
            report.details.append({"test": "idle", "server": kind, "repeat": i, **r})

    report.rows.append(
        Row.compare(
            NAME,
            f"{CLIENTS} clients × 50 series at 10 Hz",
            "readings/CPU-s",
            project=rates["project"],
            baseline_name=BASELINE,
            baseline=rates["baseline"],
        )
    )
    report.rows.append(
        Row.compare(
            NAME,
            f"{idle_n} idle connections, per MiB of RSS",
            "connections/MiB",
            project=per_mib["project"],
            baseline_name=BASELINE,
            baseline=per_mib["baseline"],
        )
    )

    def kib(kind: str) -> float:
        grown = [(r["rss_after"] - r["rss_before"]) / idle_n for r in idle[kind]]
        return float(statistics.median(grown))

    def cpu(kind: str, key: str) -> float:
        return float(statistics.median(r[key] for r in idle[kind]))

    report.notes += [
        f"fanout: targets: readings/CPU-s ≥ 5× the baseline; idle RSS per connection "
        f"≤ 1/3 of the baseline's (connections per MiB ≥ 3×); idle CPU flat at {idle_n} "
        f"connections.  Warm-up {warm:g} s then a {window:g} s window, {repeat} repeat(s); "
        f"all on 127.0.0.1, servers and the client process separate.",
        f"fanout: idle RSS per connection: project {kib('project'):.1f} KiB, "
        f"baseline {kib('baseline'):.1f} KiB ({idle_repeat} run(s) of {idle_n}).",
        f"fanout: idle server CPU over {idle_window:g} s, no connections → {idle_n} open: "
        f"project {cpu('project', 'cpu_before'):.2f} → {cpu('project', 'cpu'):.2f} s, "
        f"baseline {cpu('baseline', 'cpu_before'):.2f} → {cpu('baseline', 'cpu'):.2f} s.",
    ]
    return report
