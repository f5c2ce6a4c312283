"""`python -m bench.soak`: an hour of churn against the real server; does anything grow?

    python -m bench.soak                              # 1 h, a sample a minute
    python -m bench.soak --minutes 10 --json soak.json
    python -m bench.soak --minutes 0.5 --sample 5s --sensors 200   # the CI version

A private mosquitto on a free loopback port; the real server in its own process
(`python -m telemetry serve --config FILE --port P`, one `[[mqtt]]` reader on
that broker, `format = "auto"`); a publisher at a Pi's rate (`--sensors`
topics at 1 Hz, one message per packet: `bench.e2e_publisher`) with a few
bursts of 500 messages a second for 2 s; and the churn of `bench.soak_clients`:
streams that come and go (half of them leaving with a reset), resumes, a
client that stops reading until the send timeout cuts it, API calls.

The server process is sampled every `--sample`: RSS and threads from /proc,
open files (entries of /proc/PID/fd), asyncio tasks (its `/metrics` gauge),
plus its open streams and history bytes.  The run is a warm-up with one
burst (its samples are kept but not judged), a quiet sample (churn stopped,
every client gone), the churn under load with its samples and a burst every
10 minutes, and a quiet sample again.  Verdicts and
their tolerances are `bench.soak_report`'s.  Exit status 1 when a verdict or
a check of the load's accounting fails.

The server's config differs from the defaults where the soak needs it to:
`send_timeout` 2 s (a stalled client is cut soon after its buffers fill),
`max_clients_per_host` 16 (every client comes from 127.0.0.1, where on a LAN
they would be several hosts; at most 7 streams are open at once), and a short
history (`raw_span`, `replay` and the rollups' `keep` of a minute or two), so
that the history and the replay window are full by the end of the warm-up and
then wrap around for the rest of the run: what grows after that is not by
design.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench import e2e, fanout
from bench.e2e_server import metrics, request
from bench.fanout_server import rss_kib
from bench.ingest import private_broker
from bench.model import BenchError
from bench.soak_clients import Churn, Tally
from bench.soak_report import Sample, accounting, samples_json, table, verdicts
from simulators.broker import Broker
from telemetry.quantities import parse_duration

TOPIC_FILTER = "bench/+/temperature"  # bench.e2e_publisher's topics
SEND_TIMEOUT = 2.0
PER_HOST = 16
BURST_RATE = 500
BURST_SECONDS = 2.0
STALL_MAX = 300.0
READY_TIMEOUT = 20.0
QUIET_TIMEOUT = 15.0
SETTLE = 1.0  # after the last stream is released, before a quiet sample


class SoakError(BenchError):
    """The soak could not run: the server never got ready, or never went quiet."""


def config_text(broker: Broker) -> str:
    return f"""\
[server]
host = "127.0.0.1"
replay = "60s"

[[mqtt]]
name = "soak"
url = "mqtt://{broker.host}:{broker.port}"

[[mqtt.subscribe]]
topic = "{TOPIC_FILTER}"
template = "bench/{{device}}/{{sensor}}"
format = "auto"

[history]
raw_span = "60s"
rollups = [{{ bucket = "10s", keep = "2m" }}, {{ bucket = "60s", keep = "2m" }}]

[limits]
send_timeout = "{SEND_TIMEOUT:g}s"
max_clients_per_host = {PER_HOST}
"""


async def _sample(pid: int, port: int, t: float, phase: str, connected: int) -> Sample:
    fds = len(os.listdir(f"/proc/{pid}/fd"))  # before the scrape, which opens one
    threads = len(os.listdir(f"/proc/{pid}/task"))
    rss = rss_kib(pid) / 1024
    gauges = await metrics(port)
    return Sample(
        t=round(t, 3),
        phase=phase,
        rss_mb=round(rss, 3),
        fds=fds,
        threads=threads,
        tasks=int(gauges["telemetry_event_loop_tasks"]),
        streams=int(gauges["telemetry_sse_clients"]),
        history_mb=round(gauges["telemetry_history_bytes"] / 2**20, 3),
        connected=connected,
    )


async def _series(port: int) -> dict[str, Any]:
    status, _, body = await request(port, "/api/series")
    if status != 200:
        raise SoakError(f"GET /api/series answered {status}")
    answer: dict[str, Any] = json.loads(body)
    return answer


async def _ready(port: int) -> None:
    """Until the server's MQTT reader is connected (and its subscription made)."""
    deadline = time.monotonic() + READY_TIMEOUT
    while not any(s["state"] == "connected" for s in (await _series(port))["sources"]):
        if time.monotonic() > deadline:
            raise SoakError(f"the server's MQTT reader did not connect within {READY_TIMEOUT:g} s")
        await asyncio.sleep(0.1)
    await asyncio.sleep(0.5)  # the SUBACK, before anything is published


def _burst(broker: Broker, sensors: int) -> int:
    with e2e.publisher(broker, rate=BURST_RATE, topics=sensors) as said:
        time.sleep(BURST_SECONDS)
    return int(said["sent"])


class Soak:
    """One run: the phases, the samples, the bursts."""

    def __init__(self, args: argparse.Namespace, pid: int, port: int, broker: Broker) -> None:
        self.args = args
        self.pid = pid
        self.port = port
        self.broker = broker
        self.tally = Tally()
        self.churn = Churn(port, self.tally, random.Random(args.seed), args.readers, STALL_MAX)
        self.samples: list[Sample] = []
        self.bursts: list[int] = []
        self.start = time.monotonic()

    def now(self) -> float:
        return time.monotonic() - self.start

    def progress(self, text: str) -> None:
        print(f"soak {self.now():7.1f} s: {text}", file=sys.stderr, flush=True)

    async def _take(self, phase: str) -> None:
        sample = await _sample(self.pid, self.port, self.now(), phase, self.tally.connected)
        self.samples.append(sample)
        self.progress(
            f"{phase}: RSS {sample.rss_mb:.1f} MB, {sample.fds} files, {sample.tasks} tasks, "
            f"{sample.threads} threads, {sample.streams} streams; {self.tally.connected} "
            f"connected, {self.tally.cut} cut so far"
        )

    async def _burst_at(self, at: float) -> None:
        await asyncio.sleep(max(0.0, at - self.now()))
        self.progress(f"burst: {BURST_RATE}/s for {BURST_SECONDS:g} s")
        self.bursts.append(await asyncio.to_thread(_burst, self.broker, self.args.sensors))

    async def phase(self, phase: str, seconds: float, bursts: int = 0) -> None:
        """Churn for `seconds`, a sample every `--sample`; then stop and go quiet."""
        begin = self.now()
        until, step = begin + seconds, self.args.sample
        stop = asyncio.Event()
        churn = asyncio.create_task(self.churn.run(stop), name=f"soak-churn-{phase}")
        extra = [
            asyncio.create_task(
                self._burst_at(begin + (i + 0.5) * seconds / bursts), name=f"soak-burst-{i}"
            )
            for i in range(bursts)
        ]
        try:
            due = begin if phase == "warmup" else begin + step
            while due < until:
                await asyncio.wait({churn}, timeout=max(0.0, due - self.now()))
                if churn.done():
                    churn.result()  # a slot failed: raise it here
                    raise SoakError("the churn stopped by itself")
                await self._take(phase)
                due += step
            await asyncio.wait({churn}, timeout=max(0.0, until - self.now()))
        finally:
            stop.set()
            await asyncio.gather(churn, *extra)
        await self._quiet()

    async def _quiet(self) -> None:
        deadline = time.monotonic() + QUIET_TIMEOUT
        while (await metrics(self.port))["telemetry_sse_clients"] > 0:
            if time.monotonic() > deadline:
                raise SoakError(f"streams still open {QUIET_TIMEOUT:g} s after the churn stopped")
            await asyncio.sleep(0.2)
        await asyncio.sleep(SETTLE)
        await self._take("quiet")

    async def run(self) -> None:
        total, warmup = self.args.minutes * 60, self.args.warmup
        self.progress(f"warm-up {warmup:g} s, then {total - warmup:g} s under load")
        # One burst in the warm-up: the buffers that grow to a burst's size and keep
        # it (the rings hold a span of points, however many) grow before the baseline.
        await self.phase("warmup", warmup, bursts=1)
        await self.phase("load", total - warmup, bursts=max(1, round(self.args.minutes / 10)))


async def _settled(port: int, published: int) -> dict[str, Any]:
    """The server's counters once it has taken in what was published (bounded wait)."""
    deadline = time.monotonic() + 10
    while True:
        series = await _series(port)
        if series["inbox"]["received"] >= published or time.monotonic() > deadline:
            return series
        await asyncio.sleep(0.2)


def soak(args: argparse.Namespace) -> dict[str, Any]:
    """The whole run; its results as one JSON-ready dict."""
    began = time.monotonic()
    with private_broker() as broker, tempfile.TemporaryDirectory(prefix="bench-soak-") as folder:
        config = Path(folder) / "soak.toml"
        config.write_text(config_text(broker), encoding="utf-8")
        module = ["-m", "telemetry", "serve", "--config", str(config), "--port"]
        with fanout.server_process("soak", module, [], measured=False) as (pid, port):
            asyncio.run(_ready(port))
            with e2e.publisher(broker, rate=args.sensors, topics=args.sensors) as steady:
                run = Soak(args, pid, port, broker)
                asyncio.run(run.run())
            published = int(steady["sent"]) + sum(run.bursts)
            series = asyncio.run(_settled(port, published))
    rows = verdicts(run.samples)
    checks = accounting(run.tally, series["streams"], series["inbox"], published)
    return {
        "settings": {
            "minutes": args.minutes,
            "sample_s": args.sample,
            "warmup_s": args.warmup,
            "sensors": args.sensors,
            "readers": args.readers,
            "seed": args.seed,
            "send_timeout_s": SEND_TIMEOUT,
            "max_clients_per_host": PER_HOST,
        },
        "wall_s": round(time.monotonic() - began, 1),
        "samples": samples_json(run.samples),
        "verdicts": rows,
        "accounting": checks,
        "counts": {
            "clients": run.tally.as_json(),
            "published": published,
            "bursts": run.bursts,
            "server": {"streams": series["streams"], "inbox": series["inbox"]},
        },
        "ok": all(r["ok"] for r in rows) and all(c["ok"] for c in checks),
    }


def _seconds(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return parse_duration(text)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.soak", description="Churn against the real server; judge the slopes."
    )
    parser.add_argument("--minutes", type=float, default=60.0, help="churn, warm-up included")
    parser.add_argument("--sample", type=_seconds, default=60.0, help="e.g. 60s, 5s (default 60s)")
    parser.add_argument(
        "--warmup", type=_seconds, help="not judged (default two samples, at most a third)"
    )
    parser.add_argument("--sensors", type=int, default=20, help="topics published at 1 Hz")
    parser.add_argument("--readers", type=int, default=6, help="stream slots (plus one sleeper)")
    parser.add_argument("--seed", type=int, default=17)
    parser.add_argument("--json", type=Path, help="write the results here")
    return parser


def _spread(xs: list[float]) -> str:
    if not xs:
        return "–"
    low, high = min(xs), max(xs)
    return f"{statistics.median(xs):.0f} ({low:.0f}–{high:.0f})" if low != high else f"{low:.0f}"


def print_results(result: dict[str, Any]) -> None:
    tally = result["counts"]["clients"]
    server = result["counts"]["server"]
    print(table(result["verdicts"]))
    print()
    rss = next(row for row in result["verdicts"] if row["metric"] == "rss_mb")
    if rss.get("bytes_per_connection") is not None:
        print(
            f"RSS under load: {rss['slope_per_hour'] * rss['window_s'] / 3600:+.2f} MB over "
            f"{rss['window_s'] / 60:.1f} min, about {rss['bytes_per_connection']:+} bytes a "
            f"stream connected."
        )
    print(
        f"Load: {tally['connected']} streams connected ({tally['clean']} left clean, "
        f"{tally['reset']} by reset; {tally['with_patterns']} with ?series=, {tally['resumed']} "
        f"resumed, {tally['malformed']} malformed cursors); {tally['stalled']} stopped reading, "
        f"{tally['cut']} cut by the server after {_spread(tally['cut_after'])} s asleep "
        f"({tally['woke']} woke, {tally['vanished']} vanished; {tally['interrupted']} interrupted "
        f"uncut); {sum(tally['api'].values())} API calls; "
        f"{result['counts']['published']} readings published, {server['inbox']['received']} "
        f"received; {len(result['samples'])} samples in {result['wall_s']:g} s."
    )
    for check in result["accounting"]:
        print(f"- {'ok  ' if check['ok'] else 'FAIL'} {check['check']}: {check['detail']}")
    print("verdict:", "flat" if result["ok"] else "NOT FLAT or the load did not run as planned")


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.minutes <= 0 or args.sample <= 0 or args.sensors < 1 or args.readers < 1:
        print("--minutes, --sample, --sensors and --readers must be positive", file=sys.stderr)
        return 2
    # Two samples by default, and never more than a third of the run.
    args.warmup = min(2 * args.sample if args.warmup is None else args.warmup, args.minutes * 20)
    # The server and publishers are `python -m ...` children: this checkout first.
    root = str(Path(__file__).resolve().parents[1])
    os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))
    try:
        result = soak(args)
    except BenchError as e:
        print(f"soak: {e}", file=sys.stderr)
        return 1
    if args.json:
        args.json.write_text(json.dumps(result, indent=1, ensure_ascii=False), encoding="utf-8")
    print_results(result)
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
