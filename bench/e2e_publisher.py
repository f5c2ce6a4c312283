"""The publisher of the end-to-end benchmark: paced QoS 0 messages, stamped.

    python -m bench.e2e_publisher BROKER_PORT --rate 1000 --topics 50

Publishes `--rate` messages a second on `bench/dev0/temperature` ...
`bench/dev{N-1}/temperature` in turn, in batches every `--batch` seconds (10 ms),
until SIGTERM; then prints one JSON object (messages sent, the seconds it ran,
the most it was ever late for a batch).  Each batch sends the messages due by
then, so a late wake-up is made up at once and the rate holds over any window.

Each payload is the publish time as a plain number, `time.time() % 100000`
with three decimals (`81234.567`): the `number` family reads it as a value, and
a client on the same machine subtracts it from its own `time.time() % 100000`
(modulo 100,000, for the wrap every 27.8 hours) for the latency, to ±0.5 ms.
A float64 holds such a number exactly enough to round-trip its three decimals
through the server's JSON.

The messages are encoded by hand (`bench.wire`, one `sendall` a batch) rather
than by paho, so the publisher costs little and is the same for both servers.
"""

from __future__ import annotations

import argparse
import json
import signal
import time
from collections.abc import Sequence
from types import FrameType

from bench import wire

HOST = "127.0.0.1"
WRAP = 100_000.0  # seconds: the payload is time.time() modulo this


def topic(i: int) -> str:
    return f"bench/dev{i}/temperature"


def stamp() -> bytes:
    """The publish time as the payload: `time.time() % WRAP`, millisecond precision."""
    return f"{time.time() % WRAP:.3f}".encode()


class _Stop(Exception):
    pass


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop


def publish(port: int, rate: float, topics: int, batch: float) -> dict[str, float]:
    names = [topic(i) for i in range(topics)]
    sent = 0
    late = 0.0
    with wire.Connection(HOST, port, f"bench-e2e-pub-{time.monotonic_ns()}", clean=True) as conn:
        start = time.monotonic()
        due = start
        try:
            while True:
                now = time.monotonic()
                late = max(late, now - due)
                owed = int((now - start) * rate) - sent
                if owed > 0:
                    t = stamp()  # one stamp per batch: they leave in one sendall
                    conn.send(
                        b"".join(
                            wire.publish_packet(names[(sent + k) % topics], t) for k in range(owed)
                        )
                    )
                    sent += owed
                due += batch
                time.sleep(max(0.0, due - time.monotonic()))
        except _Stop:
            pass
    return {"sent": sent, "seconds": time.monotonic() - start, "late_max": late}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.e2e_publisher")
    parser.add_argument("port", type=int, help="the broker's port on 127.0.0.1")
    parser.add_argument("--rate", type=float, default=1000.0, help="messages per second")
    parser.add_argument("--topics", type=int, default=50)
    parser.add_argument("--batch", type=float, default=0.01, help="seconds between batches")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    result = publish(args.port, args.rate, args.topics, args.batch)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
