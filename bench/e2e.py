"""End to end: server CPU per reading from MQTT to 20 SSE clients, and latency.

The whole path at a steady load: a publisher sends 1,000 messages a second to a
private mosquitto, a server reads them and streams them to 20 SSE clients, and
the figures are the server's CPU per reading taken in and the time from
publish to a client's receipt.  Against the bare way of doing the same: paho's
loop + Starlette + sse-starlette, one event per reading per client.

The processes, all on 127.0.0.1, each ended on every exit path:

- a private mosquitto (`bench.ingest`'s, default options), one for the run;
- the publisher (`python -m bench.e2e_publisher`): QoS 0, hand-encoded, 1,000
  messages a second in batches every 10 ms, in turn on `bench/dev0/temperature`
  ... `bench/dev49/temperature` (20 a second on each), for the whole
  measurement.  Each payload is a plain number, the publish time
  `time.time() % 100000` with three decimals (`81234.567`), which the `number`
  family reads as the value and every server passes on unchanged;
- the server, on the measured cores (`procs.measured`):
  - project: the real one, `python -m telemetry serve --config FILE` with a
    generated config: one `[[mqtt]]` reader subscribed to `bench/+/temperature`
    with template `bench/{device}/{sensor}`, format `auto`, the default
    `[server] tick` (100 ms) and history; `[limits]` raised to let 20 clients
    in from one host;
  - baseline (`python -m bench.e2e_server baseline`): a paho-mqtt client in its
    own network thread, `on_message` → `call_soon_threadsafe` → one
    `json.dumps` event per reading into every client's `asyncio.Queue`,
    streamed by sse-starlette's `EventSourceResponse` (as in
    `bench.fanout_server`'s baseline);
- the clients (`python -m bench.e2e_server client`): 20 SSE connections in one
  process, all subscribed to everything (50 series).

After a warm-up (2 s), over a window (10 s; `--quick` 4 s), the client process
records the latency of everything it receives, its own `time.time() % 100000`
minus the value (same machine, same clock; modulo 100,000 for the wrap; the
stamp's rounding makes it ±0.5 ms).  At both ends of the window it reads the
server's utime + stime from /proc and the server's own count of messages taken
in (the project: `telemetry_messages_received_total` from `GET /metrics`; the
baseline: `GET /count`, paho's `on_message` calls), so readings and CPU cover
the same window.  One message is one reading here.

What the latency is taken on: the baseline sends every reading, so every
reading has one.  The project sends a frame per tick with one point per series
(`[ts, value, min, max]` when, as here at 20 readings a second a series, two
readings fell in one tick): the figure is the point's value, the newest
reading of its series in that tick.  The oldest reading folded into the point
(its `min`, since the stamps only grow) waited longer; its p50/p99 are in the
notes, with the split of the figure into publish → server receipt → tick →
client.  Per-tick batching means about half a tick of waiting is the design,
not a cost to remove: the rows show what it costs against the per-reading way.

"The sum of the bare baselines" is the baseline server itself: paho's loop
(the floor of any paho reader, measured alone by `bench.ingest`) plus
sse-starlette's per-client fan-out (`bench.fanout`), composed in one process
the way one would write it by hand.

Repeats: 2 (3 with `--long`), servers in alternating order.  The publisher, the broker
and the clients share the machine with the server, as they would on a Pi; on
two cores, another benchmark running at the same time moves the latencies
more than the CPU figures.
"""

from __future__ import annotations

import contextlib
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import fanout, procs
from bench.ingest import private_broker
from bench.model import BenchError, Options, Report, Row
from bench.table import rate
from simulators.broker import Broker

NAME = "e2e"
SERVERS = ("project", "baseline")
BASELINE = "paho loop + sse-starlette"
CLIENTS = 20
RATE = 1000  # messages (readings) per second
TOPICS = 50
TOPIC_FILTER = "bench/+/temperature"
TEMPLATE = "bench/{device}/{sensor}"


class E2EError(BenchError):
    """A process of the end-to-end run failed or the run received nothing."""


def project_config(broker: Broker, clients: int = CLIENTS) -> str:
    """The project server's config: one MQTT reader on the publisher's topics on
    `broker`, room for `clients` streams from one host."""
    return f"""\
[server]
host = "127.0.0.1"

[[mqtt]]
name = "bench"
url = "mqtt://{broker.host}:{broker.port}"

[[mqtt.subscribe]]
topic = "{TOPIC_FILTER}"
template = "{TEMPLATE}"
format = "auto"

[limits]
max_clients = {clients + 10}
max_clients_per_host = {clients + 10}
"""


@contextlib.contextmanager
def _server(kind: str, broker: Broker, folder: Path) -> Iterator[tuple[int, int]]:
    """One server on the measured cores; yields (pid, port) once it listens."""
    if kind == "project":
        config = folder / "e2e.toml"
        config.write_text(project_config(broker), encoding="utf-8")
        # `server_process` appends the port: it lands after `--port`.
        module = ["-m", "telemetry", "serve", "--config", str(config), "--port"]
        with fanout.server_process(kind, module, []) as running:
            yield running
    else:
        module = ["-m", "bench.e2e_server", "baseline"]
        extra = ["--broker-port", str(broker.port), "--topic", TOPIC_FILTER]
        with fanout.server_process(kind, module, extra) as running:
            yield running


def publisher(
    broker: Broker, rate: float = RATE, topics: int = TOPICS
) -> contextlib.AbstractContextManager[dict[str, Any]]:
    """The publisher (`rate` messages a second over `topics` topics), running until
    the block ends; then the dict holds what it says."""
    argv = [
        *[sys.executable, "-m", "bench.e2e_publisher", str(broker.port)],
        *["--rate", str(rate), "--topics", str(topics)],
    ]
    return procs.background(argv, "publisher")


def _measure(kind: str, broker: Broker, folder: Path, window: float, warm: float) -> dict[str, Any]:
    with _server(kind, broker, folder) as (pid, port), publisher(broker) as published:
        argv = [
            *[sys.executable, "-m", "bench.e2e_server", "client", kind, str(port), str(pid)],
            *["--clients", str(CLIENTS), "--window", str(window), "--settle", str(warm)],
        ]
        done = procs.run_measured(argv, 60 + 2 * window)
    if done.returncode != 0:
        raise E2EError(f"{kind} client: exit {done.returncode}\n{done.stderr[-2000:]}")
    r: dict[str, Any] = json.loads(done.stdout)
    readings = r["counts"]["messages"]
    if readings <= 0 or r["cpu"] <= 0 or not r["latencies"]:
        raise E2EError(
            f"{kind}: {readings} readings taken in, {r['cpu']} CPU-s, "
            f"{r['latencies']} latencies in the window"
        )
    r.update(readings=readings, published=published, client_cpu=done.cpu)
    return r


def _order(i: int) -> tuple[str, ...]:
    return SERVERS if i % 2 == 0 else SERVERS[::-1]


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    window, warm = (4.0, 2.0) if options.quick else (20.0, 2.0) if options.long else (10.0, 2.0)
    # Each repeat runs two servers for a window: at most 3 (--long), 2 by default.
    repeat = min(options.repeat, 3 if options.long else 2)
    runs: dict[str, list[dict[str, Any]]] = {k: [] for k in SERVERS}
    report = Report(NAME)
    with private_broker() as broker, tempfile.TemporaryDirectory(prefix="bench-e2e-") as folder:
        for i in range(repeat):
            for kind in _order(i):
                progress(
                    f"{NAME}: {kind}, {RATE:,} readings/s → {CLIENTS} clients, "
                    f"{window:g} s ({i + 1}/{repeat})"
                )
                r = _measure(kind, broker, Path(folder), window, warm)
                runs[kind].append(r)
                report.details.append({"server": kind, "repeat": i, **r})
                progress(
                    f"{NAME}: {kind}: {r['readings'] / r['cpu']:,.0f} readings/CPU-s, "
                    f"p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms"
                )

    def per_cpu(kind: str) -> list[float]:
        return [r["readings"] / r["cpu"] for r in runs[kind]]

    def key(kind: str, name: str) -> list[float]:
        return [float(r[name]) for r in runs[kind]]

    load = f"{RATE:,} readings/s from MQTT to {CLIENTS} SSE clients"
    report.rows.append(
        Row.compare(
            NAME,
            load,
            "readings/server CPU-s",
            project=per_cpu("project"),
            baseline_name=BASELINE,
            baseline=per_cpu("baseline"),
        )
    )
    for q in ("p50", "p99"):
        report.rows.append(
            Row.compare(
                NAME,
                f"{load}: publish → client {q}",
                "ms, lower is better",
                project=key("project", q),
                baseline_name=BASELINE,
                baseline=key("baseline", q),
            )
        )
    report.notes = _notes(runs, window, warm, repeat)
    return report


def _median(runs: list[dict[str, Any]], name: str) -> float:
    return float(statistics.median(float(r[name]) for r in runs))


def _notes(
    runs: dict[str, list[dict[str, Any]]], window: float, warm: float, repeat: int
) -> list[str]:
    notes = [
        f"{NAME}: a publisher sends {RATE:,} QoS 0 messages/s (batches every 10 ms, "
        f"{TOPICS} topics `bench/devN/temperature`, {RATE // TOPICS}/s each) to a private "
        f"mosquitto; the server reads them and streams to {CLIENTS} SSE clients in another "
        f"process, each subscribed to all {TOPICS} series.  Warm-up {warm:g} s, window "
        f"{window:g} s, {repeat} repeat(s), servers alternating; CPU: the server process "
        f"only (/proc utime + stime); readings: the server's own count of messages taken in "
        f"over the window (project: /metrics `telemetry_messages_received_total`; baseline: "
        f"paho's on_message calls).",
        f"{NAME}: the baseline is paho's loop + sse-starlette in one process: the 'sum of "
        f"the bare baselines' as one would write it (paho's loop alone is `ingest`'s paho "
        f"loop baseline; sse-starlette's fan-out alone is `fanout`'s baseline).",
    ]
    for kind in SERVERS:
        rs = runs[kind]
        cpu_us = statistics.median(r["cpu"] / r["readings"] * 1e6 for r in rs)
        taken = statistics.median(r["readings"] / r["wall"] for r in rs)
        notes.append(
            f"{NAME} {kind}: {cpu_us:.0f} µs of server CPU per reading "
            f"({rate(1e6 / cpu_us)} readings/CPU-s, {_median(rs, 'cpu') / window:.2f} CPU-s/s); "
            f"{taken:,.0f} readings/s taken in; the slowest client received "
            f"{_median(rs, 'received_per_client_per_s'):,.0f} "
            f"{'points' if kind == 'project' else 'events'}/s; publish → client "
            f"p50 {_median(rs, 'p50'):.1f} ms, p99 {_median(rs, 'p99'):.1f} ms, "
            f"max {_median(rs, 'max'):.1f} ms (medians over runs)."
        )
    p = runs["project"]
    counts = p[-1]["counts"]
    clock_tick = 1 / os.sysconf("SC_CLK_TCK")
    notes.append(
        f"{NAME}: /proc counts CPU in clock ticks of {clock_tick * 1000:g} ms: "
        f"±{clock_tick / _median(p, 'cpu'):.0%} on the project's CPU per window.  The "
        f"client process (not counted; it shares the machine) used "
        f"{_median(p, 'client_cpu'):.2f} CPU-s a run with the project, "
        f"{_median(runs['baseline'], 'client_cpu'):.2f} with the baseline (it parses "
        f"every event)."
    )
    notes += [
        f"{NAME} project: latency taken on each point's value, the newest reading of its "
        f"series in the tick; the oldest reading folded into a point (its min): p50 "
        f"{_median(p, 'oldest_p50'):.1f} ms, p99 {_median(p, 'oldest_p99'):.1f} ms.  Split "
        f"of the figure (p50 / p99): publish → server receipt {_median(p, 'to_server_p50'):.1f}"
        f" / {_median(p, 'to_server_p99'):.1f} ms, receipt → tick "
        f"{_median(p, 'to_tick_p50'):.1f} / {_median(p, 'to_tick_p99'):.1f} ms, tick → "
        f"client {_median(p, 'delivery_p50'):.1f} / {_median(p, 'delivery_p99'):.1f} ms.",
        f"{NAME} project, last run's window: {counts['messages']:,.0f} messages, "
        f"{counts['readings']:,.0f} readings stored, inbox dropped "
        f"{counts['inbox_dropped']:,.0f}, streams coalesced {counts['coalesced']:,.0f}, cut "
        f"{counts['cut']:,.0f}.  Baseline: longest client queue "
        f"{max(r['queue_max'] for r in runs['baseline']):,.0f} events.",
    ]
    return notes
