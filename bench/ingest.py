"""Ingest: messages and readings per CPU-second, MQTT broker to pipeline.

The figure is the cost of taking a message from the broker to the history, in
CPU time of the process that does it, against two consumers that do nothing
with what they receive: paho-mqtt's own loop (the floor for any paho-based
reader, the project's included) and `mosquitto_sub` (C, libmosquitto).

How one measurement goes (`_measure_once`):

1. The harness creates a persistent session for a fresh client id on a private
   mosquitto (a subscription at QoS 0, then disconnect).  The broker is
   configured to queue QoS 0 messages for offline sessions, without limit.
2. It publishes the N messages (encoded once per kind and identical for every
   consumer and repeat) on a connection of its own and waits until the broker
   has routed them all into the session's queue (PINGREQ after the last one).
3. Only then the consumer process starts, connects with that client id, drains
   the backlog and reports when the N-th message is handled.
4. The harness checks that exactly N arrived and deletes the session.

Why a backlog rather than a publisher running alongside: on two cores, a
publisher competing with the broker and the consumer changes how each
consumer's reads are batched.  A consumer that keeps up (mosquitto_sub) gets a
few messages per wake-up and pays a system call for each few; one that falls
behind (Python) finds big batches waiting and pays less per message.  That
would flatter the slow consumer and make the ratios depend on the publisher's
speed.  With the backlog published beforehand, nothing but the broker and the
consumer runs during the measurement, each can have a core, and every consumer
reads as fast as it can: this is the maximum sustained rate, as after a
reconnect to a persistent session, not the cost at a trickle (where wake-ups
per message dominate, in every consumer alike).

What CPU is counted: the consumer's own process only.  The Python consumers
report `time.process_time()` (all their threads) from just before they connect
until the N-th message is handled, excluding interpreter start and imports, as
a long-running server pays them once; `mosquitto_sub`'s whole run comes from
`wait4` (its start-up is a millisecond or two).  The broker's CPU is the same
for every consumer and counted for none.  CPU time is robust to other load on a
shared machine, but not immune: caches and frequency are shared, hence repeats
in alternating order and medians.  Wall time is reported, secondarily.

The Tasmota JSON messages are read by the `tasmota` family, three readings
each; the figure for them is messages per CPU-second.
"""

from __future__ import annotations

import json
import logging
import shutil
import statistics
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import procs, wire
from bench.model import BenchError, Options, Report, Row
from bench.table import rate
from simulators.broker import Broker, find_mosquitto, free_port

logger = logging.getLogger(__name__)

NAME = "ingest"
MESSAGES = 100_000
QUICK_MESSAGES = 20_000
LONG_MESSAGES = 200_000
DEVICES = 50

# Queue QoS 0 messages for an offline persistent session, as many as we send.
BROKER_OPTIONS = (
    "max_queued_messages 0",
    "max_queued_bytes 0",
    "queue_qos0_messages true",
    "max_inflight_messages 0",
)

CONSUMERS = ("project", "paho", "mosquitto_sub")
BASELINES = {"paho": "paho loop", "mosquitto_sub": "mosquitto_sub"}


@dataclass(frozen=True, slots=True)
class Kind:
    """One sort of message: how it is published and how the project subscribes."""

    name: str
    title: str
    unit: str
    topic_filter: str
    template: str
    make: Callable[[int], tuple[str, bytes]]
    # Readings the project makes of one message today (for the figure's label).
    readings_today: int


def _number(i: int) -> tuple[str, bytes]:
    return f"bench/dev{i % DEVICES}/temperature", f"{15 + i % 1500 / 100:.2f} °C".encode()


_T0 = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def _tasmota(i: int) -> tuple[str, bytes]:
    payload = {
        "Time": (_T0 + timedelta(seconds=i)).strftime("%Y-%m-%dT%H:%M:%S"),
        "BME280": {
            "Temperature": round(15 + i % 1500 / 100, 1),
            "Humidity": round(30 + i % 400 / 10, 1),
            "Pressure": round(990 + i % 500 / 10, 1),
        },
        "PressureUnit": "hPa",
        "TempUnit": "C",
    }
    return f"tele/dev{i % DEVICES}/SENSOR", json.dumps(payload, separators=(",", ":")).encode()


KINDS = (
    Kind(
        "number",
        "plain numbers",
        "readings/CPU-s",
        "bench/+/temperature",
        "bench/{device}/{sensor}",
        _number,
        1,
    ),
    Kind(
        "tasmota",
        "Tasmota JSON, 3 readings each",
        "messages/CPU-s",
        "tele/+/SENSOR",
        "tele/{device}/SENSOR",
        _tasmota,
        3,
    ),
)


class IngestError(BenchError):
    """A consumer did not get exactly the messages published; the run is void."""


@dataclass(frozen=True, slots=True)
class Sample:
    consumer: str
    kind: str
    messages: int
    readings: int
    cpu: float
    wall: float
    extra: dict[str, Any]

    @property
    def figure(self) -> float:
        """What the row compares: readings when the kind makes them, else messages."""
        count = self.readings if self.kind == "number" else self.messages
        return count / self.cpu


def _timeout(n: int) -> float:
    return 30.0 + n / 2000


def _consumer_argv(consumer: str, broker: Broker, kind: Kind, client_id: str, n: int) -> list[str]:
    if consumer == "mosquitto_sub":
        # -W: give up (exit 27) rather than wait forever for a missing message.
        return procs.measured(
            [
                *["mosquitto_sub", "-h", broker.host, "-p", str(broker.port)],
                *["-c", "-i", client_id, "-q", "0", "-t", kind.topic_filter],
                *["-C", str(n), "-W", str(round(_timeout(n)))],
            ]
        )
    return procs.measured(
        [
            *[sys.executable, "-m", "bench.consumers", consumer, "--port", str(broker.port)],
            *["--client-id", client_id, "--topic", kind.topic_filter, "--template", kind.template],
            *["--messages", str(n), "--timeout", str(_timeout(n))],
        ]
    )


def _check(consumer: str, kind: Kind, n: int, done: procs.Finished) -> dict[str, Any]:
    where = f"{consumer} on {kind.name} messages"
    if done.returncode != 0:
        raise IngestError(f"{where}: exit status {done.returncode}\n{done.stderr[-2000:]}")
    if consumer == "mosquitto_sub":
        # Exit 0 with -C N means N messages arrived; -W would have exited 27.
        return {"messages": n, "readings": n, "cpu": done.cpu, "wall": done.wall}
    result: dict[str, Any] = json.loads(done.stdout)
    if result["messages"] + result.get("dropped", 0) != n:
        raise IngestError(
            f"{where}: {result['messages']} of {n} messages arrived within "
            f"{_timeout(n):.0f} s\n{done.stderr[-2000:]}"
        )
    if consumer == "project" and result["received"] != n:
        raise IngestError(f"{where}: MqttSource received {result['received']} of {n}")
    return result


def _measure_once(
    broker: Broker, kind: Kind, consumer: str, backlog: bytes, *, n: int, client_id: str
) -> Sample:
    with wire.Connection(broker.host, broker.port, client_id, clean=False) as session:
        session.subscribe(kind.topic_filter)
    try:
        with wire.Connection(broker.host, broker.port, f"{client_id}-pub", clean=True) as pub:
            pub.send(backlog)
            pub.sync()
        done = procs.run_measured(
            _consumer_argv(consumer, broker, kind, client_id, n),
            _timeout(n) + 15,
            discard_stdout=consumer == "mosquitto_sub",
        )
        result = _check(consumer, kind, n, done)
    finally:
        # A clean connect deletes the session and whatever it still queues.
        wire.Connection(broker.host, broker.port, client_id, clean=True).close()
    extra = {k: v for k, v in result.items() if k not in ("messages", "readings", "cpu", "wall")}
    return Sample(
        consumer,
        kind.name,
        result["messages"],
        result["readings"],
        result["cpu"],
        result["wall"],
        extra,
    )


@contextmanager
def private_broker() -> Iterator[Broker]:
    program = find_mosquitto()
    if program is None or shutil.which("mosquitto_sub") is None:
        raise IngestError(
            "mosquitto and mosquitto_sub are needed: "
            "sudo apt-get install mosquitto mosquitto-clients"
        )
    with tempfile.TemporaryDirectory(prefix="bench-mosquitto-") as folder:
        broker = Broker(program, Path(folder), free_port(), BROKER_OPTIONS)
        broker.start()
        try:
            yield broker
        finally:
            broker.stop()


def measure(
    n: int, repeat: int, progress: Callable[[str], None] = lambda _: None
) -> dict[str, dict[str, list[Sample]]]:
    """Samples per kind and consumer: `repeat` each, consumers in rotating order."""
    samples: dict[str, dict[str, list[Sample]]] = {
        kind.name: {c: [] for c in CONSUMERS} for kind in KINDS
    }
    with private_broker() as broker:
        for kind in KINDS:
            backlog = wire.encode_backlog(kind.make(i) for i in range(n))
            for rep in range(repeat):
                shift = rep % len(CONSUMERS)
                for consumer in CONSUMERS[shift:] + CONSUMERS[:shift]:
                    client_id = f"bench-{kind.name}-{consumer}-{rep}"
                    sample = _measure_once(
                        broker, kind, consumer, backlog, n=n, client_id=client_id
                    )
                    samples[kind.name][consumer].append(sample)
                    progress(
                        f"{NAME} {kind.name} #{rep + 1} {consumer}: "
                        f"{sample.messages / sample.cpu:,.0f} messages/CPU-s, "
                        f"{sample.wall:.2f} s wall"
                    )
    return samples


def _notes(n: int, repeat: int, samples: dict[str, dict[str, list[Sample]]]) -> list[str]:
    notes = [
        f"{NAME}: {n:,} messages per run from a backlog on a private mosquitto, QoS 0, "
        f"{DEVICES} devices; {repeat} runs per consumer, medians; CPU of the consumer only.",
        f"{NAME}: plain numbers: `bench/devN/temperature` `21.37 °C`, one reading each. "
        "Tasmota JSON: `tele/devN/SENSOR` with three BME280 values, read by the "
        "`tasmota` family: the figure is messages; each gives three readings.",
        f"{NAME}: paho loop: a paho-mqtt client whose on_message only counts, "
        "loop_forever(); mosquitto_sub: -C N, output to /dev/null.",
    ]
    for kind in KINDS:
        for consumer in CONSUMERS:
            runs = samples[kind.name][consumer]
            cpu = statistics.median(s.cpu for s in runs)
            wall = statistics.median(s.wall for s in runs)
            notes.append(
                f"{NAME} {kind.name} {consumer}: median {cpu:.2f} CPU-s, {wall:.2f} s wall "
                f"({rate(n / cpu)} messages/CPU-s, {rate(n / wall)} messages/s)"
            )
        last = samples[kind.name]["project"][-1]
        extra = last.extra
        notes.append(
            f"{NAME} {kind.name} project outcome: {last.readings:,} readings of {n:,} messages"
            f" in {extra.get('series')} series; rejected {extra.get('rejected') or {}}; "
            f"inbox dropped {extra.get('dropped')}, {extra.get('batches')} batches "
            f"({n / max(1, extra.get('batches') or 1):.0f} messages per batch), "
            f"event loop {extra.get('event_loop')}"
        )
    return notes


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    n = options.messages or (
        QUICK_MESSAGES if options.quick else LONG_MESSAGES if options.long else MESSAGES
    )
    samples = measure(n, options.repeat, progress)
    report = Report(NAME)
    for kind in KINDS:
        project = [s.figure for s in samples[kind.name]["project"]]
        for baseline in ("paho", "mosquitto_sub"):
            report.rows.append(
                Row.compare(
                    NAME,
                    kind.title,
                    kind.unit,
                    project=project,
                    baseline_name=BASELINES[baseline],
                    baseline=[s.messages / s.cpu for s in samples[kind.name][baseline]],
                )
            )
    report.notes = _notes(n, options.repeat, samples)
    report.details = [
        {
            "consumer": s.consumer,
            "kind": s.kind,
            "messages": s.messages,
            "readings": s.readings,
            "cpu": s.cpu,
            "wall": s.wall,
            **s.extra,
        }
        for by_consumer in samples.values()
        for runs in by_consumer.values()
        for s in runs
    ]
    return report
