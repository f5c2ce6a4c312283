"""`auto` skips the JSON-only families for a payload that does not start like JSON;
that must never change which family `auto` picks."""

from __future__ import annotations

import time

from hypothesis import given
from hypothesis import strategies as st

from telemetry.config import Subscription
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
    assert {f.name for f in json_only} >= {"tasmota", "json", "senml", "zigbee2mqtt"}
    if not starts_like_json:
        assert [f.name for f in json_only if f.sniff(ctx)] == []
