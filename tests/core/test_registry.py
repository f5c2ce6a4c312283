"""`auto` skips the JSON-only families for a payload that does not start like JSON,
and remembers per topic what the sniffs that read only the topic said; neither
may change which family `auto` picks."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from telemetry.config import Subscription
from telemetry.errors import PayloadError
from telemetry.model import RawMessage
from telemetry.normalize import Normalizer, registry
from telemetry.normalize.base import Context

# Topics each family claims, so their sniffs get past the topic to the payload.
TOPICS = [
    "tele/dev/SENSOR",
    "zigbee2mqtt/lamp",
    "shellyplus1pm-a8032ab1/status/switch:0",
    "rtl_433/dev",
    "home/OMG/BTtoMQTT/AA",
    "home/OMG/RTL_433toMQTT",
    "v3/app@ttn/devices/dev/up",
    "sensors/dev/temperature",
    "homie/dev/node/prop",
    "shellies/dev/temperature",
    "dev/sensor/temp/state",
]
HEADS = st.sampled_from([b"", b" ", b"\xef\xbb\xbf", b"\xef\xbb\xbf ", b"\n"])
BODIES = st.one_of(
    st.binary(max_size=80),
    st.sampled_from([b"21.5", b'"model": 1', b"t=1 x=2", b"ON", b'\x7b"model":"x"}', b'["a"]']),
)


@given(topic=st.sampled_from(TOPICS), head=HEADS, body=BODIES)
def test_json_only_families_refuse_what_does_not_start_like_json(
    topic: str, head: bytes, body: bytes
) -> None:
    payload = head + body
    route = Subscription("#").route("test")
    normalizer = Normalizer()
    ctx = Context(
        RawMessage(route, topic, payload, time.time()),
        "dev",
        "s",
        normalizer.state,
        normalizer.limits,
    )
    starts_like_json = payload[:64].removeprefix(b"\xef\xbb\xbf").lstrip()[:1] in (b"{", b"[")
    everyone = registry.auto("mqtt")
    json_only = [f for f in everyone if f not in registry.auto("mqtt", False)]
    # (tasmota also reads the plain ON/OFF of `stat/<dev>/POWER`, zigbee2mqtt its
    # attribute topics)
    assert {f.name for f in json_only} >= {"json", "senml"}
    if not starts_like_json:
        assert [f.name for f in json_only if f.sniff(ctx)] == []


def _context(normalizer: Normalizer, topic: str, payload: bytes) -> Context:
    route = Subscription("#").route("test")
    msg = RawMessage(route, topic, payload, time.time())
    return Context(msg, None, None, normalizer.state, normalizer.limits)


HA_CONFIG = (
    "homeassistant/sensor/dev/temp/config",
    b'{"state_topic": "sensors/dev/temperature", "unit_of_measurement": "C"}',
)


# Payloads that start alike and that a sniff reading more than the first byte tells
# apart: rtl_433's, SenML's, InfluxDB lines, and others.
ALIKE = [
    b'{"model": "Acurite-Tower", "id": 5, "temperature_C": 21.5}',
    b'{"temperature": 21.5}',
    b'[{"n": "temp", "v": 21.5}]',
    b"[1, 2]",
    b"weather,site=x temp=21.5",
    b"weather",
]


@given(head=HEADS, bodies=st.lists(BODIES, max_size=3))
def test_topic_sniffs_read_only_the_topic_and_first_byte(head: bytes, bodies: list[bytes]) -> None:
    """A family marked `topic_sniff` answers alike, on any topic, for every payload
    that starts alike (after a BOM and blanks), whatever the run has learned (here
    a Home Assistant discovery config): `auto` remembers its answer per topic and
    first byte."""
    learned = Normalizer()
    learned.normalize(RawMessage(Subscription("#").route("test"), *HA_CONFIG, time.time()))
    marked = [f for f in registry.auto("mqtt") if getattr(f, "topic_sniff", False)]
    assert {f.name for f in marked} >= {"tasmota", "homie", "shelly", "json", "number"}
    for topic in TOPICS:
        by_head: dict[bytes, list[bool]] = {}
        for body in [*ALIKE, *bodies]:
            for normalizer in (Normalizer(), learned):
                ctx = _context(normalizer, topic, head + body)
                answers = [f.sniff(ctx) for f in marked]
                assert by_head.setdefault(ctx.head(), answers) == answers, (topic, body)


@given(
    st.lists(
        st.tuples(st.sampled_from([*TOPICS, HA_CONFIG[0]]), HEADS | st.just(b"{"), BODIES),
        max_size=30,
    )
)
def test_auto_picks_the_first_family_whose_sniff_says_yes(
    messages: list[tuple[str, bytes, bytes]],
) -> None:
    """Whatever `auto` remembers, it picks what asking every sniff in order picks,
    as the run learns (a discovery config first, then its state topic)."""
    normalizer = Normalizer()
    for topic, head, body in [(HA_CONFIG[0], b"", HA_CONFIG[1]), *messages]:
        for _ in range(2):  # the second time from what it remembered
            ctx = _context(normalizer, topic, head + body)
            families = registry.auto("mqtt", ctx.looks_like_json())
            want = next((f for f in families if f.sniff(ctx)), None)
            try:
                got = normalizer._family(_context(normalizer, topic, head + body))
            except PayloadError as exc:
                assert exc.reason == "unrecognised"
                got = None
            assert got is want, (topic, head + body)
        normalizer.normalize(RawMessage(ctx.msg.route, topic, head + body, time.time()))
