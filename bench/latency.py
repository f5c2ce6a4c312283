"""Latency: from a reading entering the pipeline to a client receiving it.

The project server of the fan-out benchmark (`bench.fanout_server`'s project
mode: an in-process `SimulatedSource` of 50 series, `[server] tick` 100 ms,
started here as `python -m bench.latency project PORT --interval S`) with 20
probe SSE clients in a process of their own (`python -m bench.latency client
...`).  The source stamps each reading with `time.time()` when it generates
it, and a `readings` frame carries per series `[ts, value, ...]` with that
timestamp, so for every point received a probe takes `time.time() - ts` (same
machine, same clock).  After a warm-up, every point of a window counts.  The
frame's own `t` (the server's clock when the tick published it) splits that
into the wait for the tick and the delivery.

Load: before the probes connect, a third process (`python -m bench.latency
sinks ...`) opens "sinks", connections with the same subscription that take
the bytes off the socket and drop them, until the server is busy the given
CPU-seconds per second.  The server's capacity is what one core delivers, so
0.5 is half of it.  The sinks live apart from the probes: in one process, the
probes' receipt times would include the client's own turn through thousands
of sockets.  A sink's bytes per second against a probe's show it kept up, and
the server's `/api/series` counters show nothing was coalesced or cut.

The source generates all its series together on a grid of its own; at exactly
10 Hz that grid is locked to the hub's 100 ms tick, at a phase set by start-up,
and every reading would wait the same time.  So the interval is a little over
100 ms (0.1 × (1 + 1/N), N the readings per series in the window, ~9.95 Hz in
a full run): the phase slides through one whole tick during the window and the
figures are those of readings arriving at random phases.

A tick coalesces the readings of one series into one point carrying the last
one's timestamp; at ~10 Hz that is about one reading per point.  With per-tick
batching a reading waits for the next tick, half a tick on average, plus the
inbox's 5 ms batch window, plus the delivery: the tick's fan-out is one burst
of work on one core, and a server busy a fraction f of the time spends about
f × tick writing each frame out (the hub starts each frame at a different
client, so the probes see every place in that order).  Target (the issue):
p99 ≤ one tick + 20 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from bench import fanout, fanout_server, procs
from bench.fanout_server import HOST, SERIES, Stream, client_arguments, open_streams
from bench.model import BenchError, Options, Report

NAME = "latency"
CLIENTS = 20
TICK_MS = 100.0  # the project server's `[server] tick`, its default
SLACK_MS = 20.0
LOADS = (0.0, 0.25, 0.5)  # server CPU-s/s: probes alone, a quarter and half of a core
MAX_SINKS = 6000


class LatencyError(BenchError):
    """The client run failed or received nothing."""


class Timed(Stream):
    """An SSE connection that records receipt time - reading time per point, in ms."""

    def __init__(self, headed: asyncio.Future[None]) -> None:
        super().__init__(True, headed)
        self.latencies: list[float] = []
        self.delivery: list[float] = []  # publish → receipt per frame, ms
        self.recording = False
        self.received = 0  # body bytes

    def data_received(self, data: bytes) -> None:
        now = time.time()
        body = self.body(data)
        if body is None:
            return
        self.received += len(body)
        for frame in self.project_events(body):
            series = frame["series"]
            self.readings += len(series)
            if self.recording:
                self.latencies.extend((now - p[0]) * 1000 for p in series.values())
                # The frame's `t` is the server's clock when the tick published it.
                self.delivery.append((now - frame["t"]) * 1000)


class Sink(Stream):
    """An SSE connection that only takes the bytes off the socket: the load."""

    def __init__(self, headed: asyncio.Future[None]) -> None:
        super().__init__(True, headed)
        self.received = 0

    def data_received(self, data: bytes) -> None:
        body = self.body(data)
        if body is not None:
            self.received += len(body)


def _server(interval: float) -> contextlib.AbstractContextManager[tuple[int, int]]:
    """The project server with a sensor interval; yields (pid, port)."""
    return fanout.server_process(
        "project", ["-m", "bench.latency", "project"], ["--interval", repr(interval)]
    )


async def _busy(pid: int, seconds: float) -> float:
    """The server's CPU-seconds per second over the next `seconds`."""
    cpu0, t0 = fanout_server.cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(seconds)
    return (fanout_server.cpu_seconds(pid) - cpu0) / (time.perf_counter() - t0)


async def _streams_counters(port: int) -> dict[str, Any]:
    """The server's own stream counters (`/api/series` → `streams`)."""
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(f"GET /api/series HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
    raw = await asyncio.wait_for(reader.read(), 10)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    if b"chunked" in head.lower():
        raise LatencyError("/api/series answered chunked; expected a Content-Length body")
    streams: dict[str, Any] = json.loads(body)["streams"]
    return streams


async def sinks(args: argparse.Namespace) -> dict[str, Any]:
    """Open sinks until the server is about `--load` busy; print that; hold until stdin
    says stop (or closes); return each sink's bytes per second since then (the slowest)."""
    pid: int = args.server_pid
    loop = asyncio.get_running_loop()
    ramp = [(0, await _busy(pid, args.step))]
    opened: list[Sink] = []
    # Each step opens (or closes) the sinks that a straight line through the
    # first and last points says the target needs; it is re-drawn every step.
    for _ in range(args.steps):
        (n0, u0), (n1, u1) = ramp[0], ramp[-1]
        if abs(u1 - args.load) <= 0.05 * args.load:
            break
        per = (u1 - u0) / (n1 - n0) if n1 > n0 else 0.0
        want = int((args.load - u0) / per) if per > 0 else args.first
        want = max(0, min(args.max_sinks, want, 4 * max(n1, args.first)))
        if want == n1:
            break
        if want > n1:
            opened += await open_streams(args.port, Sink, want - n1)
        else:
            for stream in opened[want:]:
                if stream.transport is not None:
                    stream.transport.abort()
            del opened[want:]
        await asyncio.sleep(args.settle)
        ramp.append((len(opened), await _busy(pid, args.step)))
    print(json.dumps({"sinks": len(opened), "ramp": ramp}), flush=True)
    got0, t0 = [s.received for s in opened], time.perf_counter()
    await loop.run_in_executor(None, sys.stdin.readline)
    wall = time.perf_counter() - t0
    rates = sorted((s.received - g) / wall for s, g in zip(opened, got0, strict=True))
    for stream in opened:
        if stream.transport is not None:
            stream.transport.abort()
    return {"sinks": len(opened), "ramp": ramp, "slowest_bytes_per_s": rates[0] if rates else None}


async def client(args: argparse.Namespace) -> dict[str, Any]:
    """The probes: open, warm up, record every point of the window."""
    pid: int = args.server_pid
    probes: list[Timed] = await open_streams(args.port, Timed, args.clients)
    await asyncio.sleep(args.settle)
    before = sum(s.readings for s in probes)
    bytes0 = sum(s.received for s in probes)
    for s in probes:
        s.recording = True
    cpu0, t0 = fanout_server.cpu_seconds(pid), time.perf_counter()
    await asyncio.sleep(args.window)
    cpu, wall = fanout_server.cpu_seconds(pid) - cpu0, time.perf_counter() - t0
    for s in probes:
        s.recording = False
    points_per_probe = (sum(s.readings for s in probes) - before) / len(probes)
    counters = await _streams_counters(args.port)
    for stream in probes:
        if stream.transport is not None:
            stream.transport.abort()
    latencies = sorted(x for s in probes for x in s.latencies)
    delivery = sorted(x for s in probes for x in s.delivery)
    result: dict[str, Any] = {
        "points": len(latencies),
        "clients": len(probes),
        "cpu": cpu,
        "wall": wall,
        "busy": cpu / wall,
        "points_per_probe_per_s": points_per_probe / wall,
        "probe_bytes_per_s": (sum(s.received for s in probes) - bytes0) / len(probes) / wall,
        "streams": counters,
    }
    if not latencies:
        return result

    def q(xs: list[float], f: float) -> float:
        return xs[min(len(xs) - 1, int(f * len(xs)))]

    result.update(
        mean=sum(latencies) / len(latencies),
        min=latencies[0],
        p50=q(latencies, 0.50),
        p99=q(latencies, 0.99),
        max=latencies[-1],
        delivery_p50=q(delivery, 0.50),
        delivery_p99=q(delivery, 0.99),
    )
    return result


def _measure(
    interval: float, window: float, warm: float, load: float, max_sinks: int
) -> dict[str, Any]:
    """One server; a sinks process brings it to `load`; then the probes' process."""
    head = [sys.executable, "-m", "bench.latency"]
    with _server(interval) as (pid, port), contextlib.ExitStack() as stack:
        loaded: dict[str, Any] = {"sinks": 0, "ramp": [], "slowest_bytes_per_s": None}
        sink_process = None
        if load > 0:
            sink_process = stack.enter_context(
                subprocess.Popen(
                    [
                        *[*head, "sinks", str(port), str(pid), "--load", str(load)],
                        *["--max-sinks", str(max_sinks), "--settle", str(warm)],
                    ],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                    start_new_session=True,
                )
            )
            stack.callback(sink_process.kill)
            assert sink_process.stdout is not None and sink_process.stdin is not None
            line = sink_process.stdout.readline()  # the sinks' process prints when loaded
            if not line:
                raise LatencyError(f"the sinks' process exited {sink_process.wait()}")
        argv = [
            *[*head, "client", str(port), str(pid)],
            *["--clients", str(CLIENTS), "--window", str(window), "--settle", str(warm)],
        ]
        done = procs.run_measured(argv, 60 + 2 * window)
        if sink_process is not None:
            assert sink_process.stdout is not None and sink_process.stdin is not None
            out, _ = sink_process.communicate("stop\n", timeout=60)
            loaded = json.loads(out)
    if done.returncode != 0:
        raise LatencyError(f"client: exit {done.returncode}\n{done.stderr[-2000:]}")
    r: dict[str, Any] = json.loads(done.stdout)
    if r["points"] == 0:
        raise LatencyError("the clients received no readings in the window")
    r.update(loaded, client_cpu=done.cpu, interval=interval, load=load)
    r["delivered_per_s"] = r["points_per_probe_per_s"] * (r["clients"] + r["sinks"])
    return r


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    window, warm = (4.0, 1.0) if options.quick else (20.0, 2.0) if options.long else (10.0, 2.0)
    # One tick's phase slide over the window (see the module's docstring).
    interval = TICK_MS / 1000 * (1 + 1 / round(window * 10))
    report = Report(NAME)
    target = TICK_MS + SLACK_MS
    for load in LOADS:
        progress(
            f"latency: {CLIENTS} probes × {SERIES} series at ~10 Hz, "
            f"sinks to {load:.0%} server CPU, {window:g} s"
        )
        r = _measure(interval, window, warm, load, MAX_SINKS)
        report.details.append({"test": "latency", **r})
        holds = "holds" if r["p99"] <= target else "FAILS"
        report.notes.append(
            f"latency at {r['busy']:.2f} CPU-s/s of the server ({r['clients']} probes + "
            f"{r['sinks']:,} sinks, {r['delivered_per_s']:,.0f} readings/s delivered, "
            f"{r['delivered_per_s'] / r['busy']:,.0f} per CPU-s): {r['points']:,} points, "
            f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms, max {r['max']:.1f} ms "
            f"(min {r['min']:.1f}, mean {r['mean']:.1f}); target p99 ≤ tick + "
            f"{SLACK_MS:g} ms = {target:g} ms: {holds}.  Tick published → probe received: "
            f"p50 {r['delivery_p50']:.1f} ms, p99 {r['delivery_p99']:.1f} ms.  Streams: "
            f"coalesced {r['streams']['coalesced']}, cut {r['streams']['cut']}; "
            f"slowest sink / probe bytes: {_share(r)}."
        )
    report.notes.append(
        f"latency: the source's interval is {interval * 1000:.1f} ms, so the readings' "
        f"phase against the {TICK_MS:g} ms tick slides through one tick in the window; "
        f"per-tick batching makes about half a tick (+ the 5 ms inbox batch window) the "
        f"expected average.  Warm-up {warm:g} s, window {window:g} s.  Load: a second "
        f"client process opens sinks (connections that read and drop the bytes) until the "
        f"server is busy the given CPU-seconds per second; its capacity is what one core "
        f"delivers, so 0.5 is half of it."
    )
    return report


def _share(r: dict[str, Any]) -> str:
    slowest = r["slowest_bytes_per_s"]
    return "n/a (no sinks)" if slowest is None else f"{slowest / r['probe_bytes_per_s']:.0%}"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.latency")
    sub = parser.add_subparsers(dest="role", required=True)
    p = sub.add_parser("project")
    p.add_argument("port", type=int)
    p.add_argument("--interval", type=float, required=True)
    c = sub.add_parser("client")
    client_arguments(c, settle=1.0)
    k = sub.add_parser("sinks")
    k.add_argument("port", type=int)
    k.add_argument("server_pid", type=int)
    k.add_argument("--load", type=float, required=True, help="server CPU-s/s to reach")
    k.add_argument("--max-sinks", type=int, required=True)
    k.add_argument("--settle", type=float, default=1.0)
    k.add_argument("--first", type=int, default=200, help="sinks of the first step")
    k.add_argument("--steps", type=int, default=6)
    k.add_argument("--step", type=float, default=2.0, help="seconds per ramp measurement")
    args = parser.parse_args(argv)
    if args.role == "project":
        fanout_server.RATE = 1 / args.interval  # read by `fanout_server.sensors()`
        fanout_server.serve_project(args.port, idle=False, max_clients=MAX_SINKS + 200)
        return
    if args.role == "sinks":
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        if soft < args.max_sinks + 100:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, args.max_sinks + 1000), hard))
        print(json.dumps(procs.run_loop(sinks(args))))
        return
    print(json.dumps(procs.run_loop(client(args))))


if __name__ == "__main__":
    main()
