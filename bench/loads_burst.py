"""The reconnect burst of `bench.loads`: a persistent session's backlog, drained.

For each server in turn, alone on the measured core (a burst takes the core):

1. the harness opens the reader's persistent session on a private mosquitto
   that keeps sessions on disk (`PersistentBroker`): the reader's client id,
   clean_session false, the loads' two filters at QoS 1;
2. it publishes `messages` QoS 1 messages into it (the 20 sensors' payloads of
   `bench.loads_publisher`, each stamped with its number; the last one of each
   sensor stamped `FINAL + n`) and waits for every PUBACK;
3. the broker stops (saving the session and its queue) and the server starts,
   its reader failing to connect and retrying; one SSE client connects;
4. once that has settled (its quiet CPU rate measured), the broker starts again;
   the reader's next attempt connects and the backlog arrives;
5. the client notes when it has seen every sensor's final stamp (the broker keeps
   the order, so then every message has been through the server) and samples the
   server's CPU at that moment.

Wall time to drain: from the reader's connection (the server's own record of it:
the project's `/api/series` source `since`, the baseline's `/stats`) to the last
final on the client.  CPU-seconds to drain: the server's CPU from the broker's
start to then, less its quiet rate over the wait for its reader's next attempt.
The session is deleted afterwards.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from bench import wire
from bench.loads import TOPICS, LoadsError, server
from bench.loads_publisher import burst
from simulators.broker import Broker, find_mosquitto, free_port

SENSORS = 20
ACKED_AT_ONCE = 500  # QoS 1 PUBLISHes sent before waiting for their PUBACKs


class PersistentBroker(Broker):
    """A private mosquitto that keeps sessions and their queues across a restart,
    up to `queue` messages each (Debian's default is 1,000)."""

    def __init__(self, folder: Path, queue: int) -> None:
        program = find_mosquitto()
        if program is None:
            raise LoadsError("mosquitto is needed: sudo apt-get install mosquitto")
        options = (f"max_queued_messages {queue}", "max_queued_bytes 0")
        super().__init__(program, folder, free_port(), options)
        text = self.config.read_text().replace(
            "persistence false\n", f"persistence true\npersistence_location {folder}/\n"
        )
        self.config.write_text(text)


def _queue(broker: Broker, client_id: str, messages: int) -> None:
    """The reader's session with `messages` QoS 1 messages waiting in it."""
    with wire.Connection(broker.host, broker.port, client_id, clean=False) as session:
        for topic_filter in TOPICS:
            session.subscribe(topic_filter, qos=1)
    backlog = burst(SENSORS, messages)
    acked = 0
    with wire.Connection(broker.host, broker.port, f"{client_id}-pub", clean=True) as pub:
        for first in range(0, messages, ACKED_AT_ONCE):
            part = backlog[first : first + ACKED_AT_ONCE]
            pub.send(
                b"".join(
                    wire.publish_packet(t, p, packet_id=1 + (first + k) % 65535)
                    for k, (t, p) in enumerate(part)
                )
            )
            acked += pub.sync()
    if acked != messages:
        raise LoadsError(f"burst: {acked} of {messages} QoS 1 messages acknowledged")


def _connected_at(kind: str, port: int) -> float:
    """When the server's reader last connected, as the server recorded it."""
    path = "/stats" if kind == "baseline" else "/api/series"
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
        said = json.load(answer)
    if kind == "baseline":
        return float(said["connected_at"])
    (source,) = said["sources"]
    if source["state"] != "connected":
        raise LoadsError(f"burst: the {kind} reader is {source['state']}")
    return float(source["since"])


def measure(
    kind: str, broker: Broker, folder: Path, *, messages: int, settle: float, limit: float
) -> dict[str, Any]:
    """One burst of `messages` drained by the server of `kind`."""
    client_id = f"bench-burst-{kind}-{os.getpid()}-{time.monotonic_ns()}"
    _queue(broker, client_id, messages)
    broker.stop()
    try:
        with server(kind, broker, folder, client_id=client_id, qos=1) as (pid, port):
            counts = "baseline" if kind == "baseline" else "project"
            argv = [
                *[sys.executable, "-m", "bench.loads_clients"],
                *["--server", kind, counts, str(port), str(pid), "1"],
                *["--finals", str(SENSORS), "--settle", str(settle), "--timeout", str(limit)],
            ]
            clients = subprocess.Popen(
                argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
            )
            try:
                assert clients.stdout is not None
                if clients.stdout.readline().strip() != b"ready":
                    raise LoadsError(f"burst: the clients of {kind} did not start")
                broker.start()
                out, err = clients.communicate(timeout=limit + 30)
            finally:
                if clients.poll() is None:
                    clients.kill()
                    clients.wait()
            said = json.loads(out).get(kind)
            if clients.returncode != 0 or said is None:
                raise LoadsError(f"burst: {kind} did not drain within {limit:g} s\n{err[-2000:]!r}")
            connected = _connected_at(kind, port)
    finally:
        broker.start()
        wire.Connection(broker.host, broker.port, client_id, clean=True).close()
    waited = max(0.0, connected - said["started"])
    return {
        **said,
        "connected": connected,
        "wall": said["finished"] - connected,
        "cpu_drain": said["cpu"] - said["quiet_cpu_per_s"] * waited,
        "waited": waited,
    }
