"""Hostile bytes through the normalizer for a while: `python -m bench.fuzz [SECONDS] [SEED]`.

Payloads are the corpus's real ones, mutated (bytes flipped, inserted, cut,
repeated) or replaced by random bytes, sent on the topics each family
recognises with `format = "auto"`, and as serial lines.  It reports messages
handled, parser bugs (a `parser_error` rejection: an exception other than the
project's own escaped a parser), messages slower than 0.5 s, and peak memory
early and at the end.  Exit status 1 when it found a bug or a slow message.
"""

from __future__ import annotations

import json
import random
import resource
import sys
import time
from pathlib import Path

from telemetry.config import LimitsConfig, make_normalizer
from telemetry.model import RawMessage, Route

CORPUS = Path(__file__).resolve().parent.parent / "tests" / "corpus"
TOPICS = (
    "tele/d/SENSOR", "zigbee2mqtt/lamp", "homie/d/n/p", "homie/d/n/p/$unit",
    "homeassistant/sensor/x/config", "shellies/d/emeter/0/power", "d/sensor/t/state",
    "v3/a@t/devices/d/up", "home/gw/BTtoMQTT/AA", "senml/d", "influx/d", "a/b",
    "d/events/rpc", "rtl_433/x/events", "d/status/switch:0", "zigbee2mqtt/bridge/devices",
    "zigbee2mqtt/lamp/availability", "zigbee2mqtt/z1/power", "rtl_433/h/devices/m/1/temperature_C",
    "homeassistant/binary_sensor/x/config", "stat/d/POWER", "shellies/d/info",
)  # fmt: skip
SLOW = 0.5


def _seeds() -> list[tuple[str, str, bytes]]:
    seeds = []
    for path in sorted(CORPUS.glob("*.json")):
        for case in json.loads(path.read_text(encoding="utf-8"))["cases"]:
            item = case["input"]
            payload = item.get("payload", "")
            if isinstance(payload, str):
                seeds.append(
                    (item.get("transport", "mqtt"), item.get("topic") or "a/b",
                     payload.encode("utf-8", "surrogatepass"))
                )  # fmt: skip
    return seeds


def _mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        op = rng.randrange(5)
        if op == 0 and out:
            out[rng.randrange(len(out))] = rng.randrange(256)
        elif op == 1:
            out.insert(rng.randint(0, len(out)), rng.choice(b'{}[]",:.-e0123456789 \n\\=;$*'))
        elif op == 2 and out:
            del out[rng.randrange(len(out))]
        elif op == 3:
            out += rng.randbytes(rng.randint(0, 20))
        elif op == 4 and len(out) > 2:
            at = rng.randrange(len(out))
            out[at:at] = out[at : at + rng.randint(1, 40)] * rng.randint(1, 50)
    return bytes(out)


def main(argv: list[str]) -> int:
    seconds = float(argv[0]) if argv else 60.0
    rng = random.Random(int(argv[1]) if len(argv) > 1 else 1)
    normalizer = make_normalizer(LimitsConfig())
    seeds = _seeds()
    serial = Route("port", "serial", "auto", device="port")
    mqtt = Route("broker", "mqtt", "auto")
    count = bugs = slow = 0
    early_rss = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        transport, topic, payload = rng.choice(seeds)
        if rng.random() < 0.9:
            payload = _mutate(payload, rng)
        else:
            payload = rng.randbytes(rng.randint(0, 200))
        if transport != "serial" and rng.random() < 0.5:
            topic = rng.choice(TOPICS)
        route = serial if transport == "serial" else mqtt
        started = time.monotonic()
        outcome = normalizer.normalize(RawMessage(route, topic, payload, time.time()))
        if time.monotonic() - started > SLOW:
            slow += 1
            print(f"slow: {topic!r} {payload[:120]!r}")
        if any(e.reason == "parser_error" for e in outcome.errors):
            bugs += 1
            print(f"bug: {topic!r} {payload[:200]!r}")
        count += 1
        if count == 20_000:
            early_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(f"{count} messages, {bugs} parser bugs, {slow} slow; peak RSS {early_rss} KB "
          f"after 20k messages, {peak} KB at the end")  # fmt: skip
    return 1 if bugs or slow else 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
