"""A Pi's life: the server's CPU at the loads a Pi sees, beside the baseline app's.

    python -m bench --only loads            # 60 s windows, 3 repeats (~25 min)
    python -m bench --only loads --quick    # 10 s windows, 2 repeats

Each load runs the project's server (`python -m telemetry serve`, one `[[mqtt]]`
reader with the two subscriptions a user would write, `format = "auto"`) and the
baseline app (`bench.baseline_app`: paho-mqtt + sse-starlette, a frame per tick
encoded once) side by side, at the same time, on the measured core: both
subscribe to one private mosquitto, one publisher feeds both, one client process
on the other core reads both.  Every window is thus a pair measured under the
same conditions; the servers start in alternating order, repeat by repeat.

The loads (`LOADS`), each with its clients (`bench.loads_clients`: real SSE
clients that parse every frame) and its publisher (`bench.loads_publisher`:
Zigbee2MQTT and Tasmota payloads, one message a packet):

- idle: the readers connected, nothing published, no client;
- 20 sensors at 1 Hz, each at its own phase, with 1 client and with 5;
- 20 sensors at 1 Hz all at once, once a second, with 5 clients;
- 200 sensors at 1 Hz, own phases, 5 clients;
- the same 200 sensors, 1 client, and two project servers: one with 100
  `[[alert]]` rules (`bench.loads_alerts`), one without (issue 22's target: the
  rules add at most 5%);
- a live publisher at 1,000 messages a second (100 sensors at 10 Hz, evenly
  spaced, one message a packet), 1 client; here the project also runs without
  its MQTT fast path (`bench.plain_paho`), as a third server;
- the reconnect burst (`bench.loads_burst`): 10,000 QoS 1 messages queued for
  the reader's persistent session while it is away, then it comes back.

Figures: each server's CPU over the window as a share of one core (every
thread's time on a CPU, `bench.cpu`), their ratio, and publish → client latency
(p50, p99) from the stamp each payload carries.
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import fanout, loads_alerts, loads_republish, procs
from bench.ingest import private_broker
from bench.model import BenchError, Options, Report
from simulators.broker import Broker

NAME = "loads"
BASELINE = "paho + sse-starlette app"
PLAIN = "the project without its MQTT fast path"
NO_ALERTS = "the project without alert rules"
BURST_SERVERS = ("project", "baseline", "plain")
TOPICS = ("zigbee2mqtt/+", "tele/+/SENSOR")


class LoadsError(BenchError):
    """A server, the publisher or the clients failed, or a load did not arrive."""


@dataclass(frozen=True, slots=True)
class Load:
    """What runs during one window."""

    key: str
    title: str
    sensors: int = 0  # 0: nothing is published
    mode: str = "spread"  # the publisher's (`bench.loads_publisher`)
    clients: int = 0  # per server
    rate: float = 0.0  # messages a second, mode "rate"
    plain: bool = False  # the project without its fast path runs too
    alerts: bool = False  # the project with alert rules runs instead of the baseline
    republish: bool = False  # the project with an [[output.mqtt]] runs instead of the baseline

    @property
    def servers(self) -> tuple[str, ...]:
        if self.alerts:
            return ("project", "alerts")
        if self.republish:
            return ("project", "republish")
        return ("project", "baseline", "plain") if self.plain else ("project", "baseline")


LOADS = (
    Load("idle", "idle: readers connected, nothing arriving, no client"),
    Load("20-spread-1", "20 sensors at 1 Hz, own phases, 1 client", 20, "spread", 1),
    Load("20-spread-5", "20 sensors at 1 Hz, own phases, 5 clients", 20, "spread", 5),
    Load("20-together-5", "20 sensors at 1 Hz, all at once, 5 clients", 20, "together", 5),
    Load("200-spread-5", "200 sensors at 1 Hz, own phases, 5 clients", 200, "spread", 5),
    Load(
        "live-1000",
        "1,000 msg/s live, one a packet, 100 sensors, 1 client",
        100,
        "rate",
        1,
        1000.0,
        plain=True,
    ),
    Load(
        "200-alerts-1",
        f"200 sensors at 1 Hz, own phases, {loads_alerts.RULES} alert rules, 1 client",
        200,
        "spread",
        1,
        alerts=True,
    ),
)

# Loads run by their own command only (`python -m bench.loads_republish`), not by
# `python -m bench --only loads`.
LOADS_EXTRA = (
    Load(
        "200-republish-1",
        "200 sensors at 1 Hz, own phases, every reading republished to MQTT, 1 client",
        200,
        "spread",
        1,
        republish=True,
    ),
)


def project_config(
    broker: Broker,
    *,
    client_id: str | None = None,
    qos: int = 0,
    alerts: bool = False,
    republish: bool = False,
) -> str:
    """What a user would write for these sensors; a `client_id` makes the session
    persistent (clean_session false); `alerts` adds `bench.loads_alerts`' rules,
    `republish` `bench.loads_republish`'s `[[output.mqtt]]`."""
    reader = f'client_id = "{client_id}"\n' if client_id else ""
    subscriptions = "".join(
        f'[[mqtt.subscribe]]\ntopic = "{topic}"\nqos = {qos}\n\n' for topic in TOPICS
    )
    return (
        '[server]\nhost = "127.0.0.1"\n\n'
        f'[[mqtt]]\nname = "home"\nurl = "mqtt://{broker.host}:{broker.port}"\n{reader}\n'
        f"{subscriptions}"
        "[limits]\nmax_clients_per_host = 16\n"
        + ("\n" + loads_alerts.alert_rules() if alerts else "")
        + ("\n" + loads_republish.OUTPUT if republish else "")
    )


# More kinds of project server: their name, and what is added to `project_config`
# for them (`bench.loads_influx` adds "influx", the project writing to a database).
EXTRA_CONFIG: dict[str, str] = {}


@contextlib.contextmanager
def server(kind: str, broker: Broker, folder: Path, **session: Any) -> Iterator[tuple[int, int]]:
    """One server of `kind` ("project", "plain", "baseline", "alerts": the project
    with alert rules, "republish": with an `[[output.mqtt]]`, or "project@DIR": the
    project from another copy of the code, for before/after runs) on the measured
    cores; yields (pid, port) once it listens.  `session`: `client_id` and `qos`."""
    if kind == "baseline":
        extra = ["--broker-port", str(broker.port)]
        if session.get("client_id"):
            extra += ["--client-id", session["client_id"], "--qos", str(session.get("qos", 0))]
        with fanout.server_process(kind, ["-m", "bench.baseline_app"], extra) as running:
            yield running
        return
    kind, _, elsewhere = kind.partition("@")
    config = folder / f"{kind}-{abs(hash(elsewhere))}.toml"
    rules, republish = kind == "alerts", kind == "republish"
    text = project_config(broker, alerts=rules, republish=republish, **session)
    config.write_text(text + EXTRA_CONFIG.get(kind, ""), encoding="utf-8")
    projects = ("project", "alerts", "republish", *EXTRA_CONFIG)
    module = "telemetry" if kind in projects else "bench.plain_paho"
    argv = ["-m", module, "serve", "--config", str(config), "--port"]
    with fanout.server_process(kind, argv, [], cwd=elsewhere or None) as running:
        yield running


def publisher(broker: Broker, load: Load) -> contextlib.AbstractContextManager[dict[str, Any]]:
    argv = [
        *[sys.executable, "-m", "bench.loads_publisher", str(broker.port)],
        *["--sensors", str(load.sensors), "--mode", load.mode, "--rate", str(load.rate)],
    ]
    return procs.background(argv, "publisher")


def measure(
    load: Load,
    broker: Broker,
    folder: Path,
    *,
    window: float,
    settle: float,
    order: Sequence[str] | None = None,
    twins: Sequence[Broker] = (),
) -> dict[str, Any]:
    """One window of `load` with its servers (in `order`) side by side: by server,
    its CPU, what its clients received and their latencies.  `twins`: a broker per
    server instead of `broker`, each with a publisher of its own (the same sensors,
    the same phases): no server's subscription is served before the other's."""
    kinds = order or load.servers
    brokers = list(twins) or [broker] * len(kinds)
    with contextlib.ExitStack() as stack:
        running = {
            kind: stack.enter_context(server(kind, at, folder))
            for kind, at in zip(kinds, brokers, strict=True)
        }
        said: dict[str, Any] = {}
        if load.sensors:
            for at in dict.fromkeys(brokers):  # one publisher a broker
                said = stack.enter_context(publisher(at, load))
        argv = [sys.executable, "-m", "bench.loads_clients"]
        for kind, (pid, port) in running.items():
            counts = "baseline" if kind == "baseline" else "project"
            argv += ["--server", kind, counts, str(port), str(pid), str(load.clients)]
        argv += ["--window", str(window), "--settle", str(settle)]
        done = procs.run_measured(argv, 60 + 2 * window + settle)
    if done.returncode != 0:
        raise LoadsError(f"{load.key}: clients exited {done.returncode}\n{done.stderr[-2000:]}")
    result: dict[str, Any] = json.loads(done.stdout)
    for r in result.values():
        r["percent"] = 100 * r["cpu"] / r["wall"]
        r["wakeups_per_s"] = r["switches"] / r["wall"]
    result["published"] = said
    return result


def _order(kinds: Sequence[str], i: int) -> tuple[str, ...]:
    """The servers' start order in repeat `i`: each goes first in turn."""
    shift = i % len(kinds)
    return (*kinds[shift:], *kinds[:shift])


def orders(load: Load, i: int) -> list[tuple[str, ...]]:
    """The windows of repeat `i`, by the servers' start order.  The alerts load
    runs both orders every repeat: the server started first (whose subscription
    the broker serves first) cost more in most windows, by as much as the
    difference this load measures."""
    if load.alerts or load.republish:
        return [_order(load.servers, i), _order(load.servers, i + 1)]
    return [_order(load.servers, i)]


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    from bench import loads_burst, loads_report  # noqa: PLC0415 (they import this module)

    quick, long = options.quick, options.long
    window, settle = (10.0, 3.0) if quick else (120.0, 5.0) if long else (60.0, 5.0)
    repeat = min(options.repeat, 2) if quick else options.repeat
    messages = 2_000 if quick else 10_000
    runs: dict[str, list[dict[str, Any]]] = {load.key: [] for load in LOADS}
    bursts: dict[str, list[dict[str, Any]]] = {kind: [] for kind in BURST_SERVERS}
    with tempfile.TemporaryDirectory(prefix="bench-loads-") as name:
        folder = Path(name)
        # The alerts load compares two project servers: each on a broker and a
        # publisher of its own (`measure`'s `twins`), or the one started first pays
        # for being served first (bench/README.md, Alerts).
        with private_broker() as broker, private_broker() as second:
            for i in range(repeat):
                for load in LOADS:
                    twins = (broker, second) if load.alerts else ()
                    for order in orders(load, i):
                        progress(f"{NAME}: {load.title}, {window:g} s ({i + 1}/{repeat})")
                        r = measure(
                            load,
                            broker,
                            folder,
                            window=window,
                            settle=settle,
                            order=order,
                            twins=twins,
                        )
                        runs[load.key].append(r)
                        progress(f"{NAME}: " + loads_report.summary(load, r))
        (folder / "burst").mkdir()
        broker = loads_burst.PersistentBroker(folder / "burst", 2 * messages)
        broker.start()
        try:
            for i in range(repeat):
                for kind in _order(BURST_SERVERS, i):
                    progress(f"{NAME}: burst of {messages:,} messages, {kind} ({i + 1}/{repeat})")
                    b = loads_burst.measure(
                        kind, broker, folder, messages=messages, settle=4.0, limit=120.0
                    )
                    bursts[kind].append(b)
                    progress(f"{NAME}: {kind}: {b['cpu_drain']:.2f} CPU-s, {b['wall']:.2f} s")
        finally:
            broker.stop()
    return loads_report.report(runs, bursts, window=window, messages=messages)
