"""What a republished reading costs a central instance, against a plain number.

    python -m bench.federation [--messages 100000] [--repeat 3]

`Pipeline.ingest` alone ("pipeline alone" in bench/README.md, ingest), in
batches of 500 with a tick every 5,000 messages, over 200 series: messages in
the `[[output.mqtt]]` wire contract read with `format = "telemetry"` (one
reading each, its unit and device time in the JSON), against plain numbers
with a unit (`21.37 °C`) read by the `number` family, the ingest benchmark's
first kind.  The two alternate within each repeat; prints µs a message and
the ratio, so the ingest row's figure for plain numbers can be carried over
to the `telemetry` format (deploy/README.md, "How many instances").
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Sequence

import orjson

from telemetry.config import Config, Subscription
from telemetry.model import RawMessage
from telemetry.pipeline import Pipeline

SERIES = 200
BATCH = 500


def messages(kind: str, count: int, t0: float) -> list[RawMessage]:
    if kind == "number":
        route = Subscription("bench/#", template="bench/{device}/{sensor...}").route("b")
        payload = "21.37 °C".encode()
        return [
            RawMessage(route, f"bench/dev{i % SERIES}/temperature", payload, t0 + i * 0.002)
            for i in range(count)
        ]
    route = Subscription("telemetry/+/#", format="telemetry").route("b")
    out = []
    for i in range(count):
        ts = round(t0 + i * 0.002 - 5.0, 3)
        payload = orjson.dumps({"v": 21.37, "u": "°C", "ts": ts, "kind": "number"})
        topic = f"telemetry/site{i % 5}/dev{i % SERIES}/temperature"
        out.append(RawMessage(route, topic, payload, t0 + i * 0.002))
    return out


def cost(kind: str, count: int) -> float:
    """µs of CPU a message, building the messages excluded."""
    batch = messages(kind, count, time.time() - 600.0)
    pipeline = Pipeline(Config())
    start = time.process_time()
    for i in range(0, count, BATCH):
        pipeline.ingest(batch[i : i + BATCH])
        if i % (10 * BATCH) == 0:
            pipeline.take_tick()
    spent = time.process_time() - start
    if pipeline.accepted != count:
        raise RuntimeError(f"{kind}: {pipeline.accepted} of {count} stored")
    return spent / count * 1e6


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.federation", description=__doc__)
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    kinds = ("number", "telemetry")
    spent: dict[str, list[float]] = {kind: [] for kind in kinds}
    ratios = []
    for repeat in range(args.repeat):
        order = kinds if repeat % 2 == 0 else kinds[::-1]
        got = {kind: cost(kind, args.messages) for kind in order}
        for kind in kinds:
            spent[kind].append(got[kind])
        ratios.append(got["telemetry"] / got["number"])
    for kind in kinds:
        values = spent[kind]
        print(
            f"{kind}: {statistics.median(values):.2f} µs a message "
            f"({min(values):.2f}-{max(values):.2f})"
        )
    print(
        f"telemetry / number: {statistics.median(ratios):.2f}x "
        f"({min(ratios):.2f}-{max(ratios):.2f}), {args.repeat} repeats"
    )


if __name__ == "__main__":
    main()
