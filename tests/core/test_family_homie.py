"""The `homie` family: attributes learned first, values read with them (v4 and v5)."""

from __future__ import annotations

import json
import math

from hypothesis import given
from hypothesis import strategies as st

from telemetry.model import Outcome, RawMessage, Route
from telemetry.normalize import Normalizer

AUTO = Route("test", "mqtt")


def feed(n: Normalizer, topic: str, payload: str | bytes, route: Route = AUTO) -> Outcome:
    data = payload.encode() if isinstance(payload, str) else payload
    return n.normalize(RawMessage(route, topic, data, 1000.0))


def test_homie_applies_a_unit_and_datatype_seen_earlier() -> None:
    n = Normalizer()
    assert not feed(n, "homie/car/engine/temp/$unit", "°F").readings
    feed(n, "homie/car/engine/temp/$datatype", "float")
    [r] = feed(n, "homie/car/engine/temp", "70.5").readings
    assert (r.device, r.sensor, r.value, r.unit) == ("car", "engine/temp", 70.5, "°F")


def test_homie_skips_non_numeric_datatypes_without_an_error() -> None:
    n = Normalizer()
    feed(n, "homie/lamp/light/color/$datatype", "color")
    out = feed(n, "homie/lamp/light/color", "255,0,0")
    assert not out.readings and not out.errors


def test_homie_counts_a_declared_integer_that_is_not_a_number() -> None:
    n = Normalizer()
    feed(n, "homie/d/n/p/$datatype", "integer")
    assert [e.reason for e in feed(n, "homie/d/n/p", "-").errors] == ["not_a_number"]


def test_homie_reads_an_undeclared_number_and_ignores_undeclared_text() -> None:
    n = Normalizer()
    [r] = feed(n, "homie/d/n/p", "3").readings
    assert r.unit is None
    out = feed(n, "homie/d/n/q", "hello")
    assert not out.readings and not out.errors


def test_homie_v5_description_teaches_every_property() -> None:
    n = Normalizer()
    doc = {
        "homie": "5.0",
        "nodes": {
            "env": {
                "properties": {
                    "hum": {"datatype": "float", "unit": "%"},
                    "mode": {"datatype": "enum", "format": "a,b"},
                }
            }
        },
    }
    assert not feed(n, "homie/5/dev/$description", json.dumps(doc)).errors
    [r] = feed(n, "homie/5/dev/env/hum", "41.5").readings
    assert (r.device, r.sensor, r.unit) == ("dev", "env/hum", "%")
    assert not feed(n, "homie/5/dev/env/mode", "2").readings


def test_homie_v5_description_in_the_draft_list_shape() -> None:
    n = Normalizer()
    doc = {"nodes": [{"id": "e", "properties": [{"id": "t", "datatype": "float", "unit": "degC"}]}]}
    feed(n, "homie/5/dev/$description", json.dumps(doc))
    [r] = feed(n, "homie/5/dev/e/t", "1").readings
    assert r.unit == "°C"


def test_homie_attributes_and_set_commands_are_not_readings() -> None:
    n = Normalizer()
    for topic, payload in [
        ("homie/d/$stats/uptime", "120"),
        ("homie/d/n/p/set", "5"),
        ("homie/5/d/n/p/$target", "5"),
        ("homie/$broadcast/alert", "x"),
    ]:
        out = feed(n, topic, payload)
        assert not out.readings and not out.errors, topic


def test_homie_a_v4_device_named_5_still_reads() -> None:
    [r] = feed(Normalizer(), "homie/5/node/prop", "2").readings
    assert (r.device, r.sensor) == ("5", "node/prop")


@given(
    st.lists(
        st.tuples(
            st.sampled_from(
                [
                    "homie/d/n/p",
                    "homie/d/n/p/$unit",
                    "homie/d/n/p/$datatype",
                    "homie/5/d/$description",
                    "homie/5/d/n/p",
                    "homie/",
                    "homie//",
                    "homie/5/",
                    "homie/d/n/p/q/r",
                ]
            ),
            st.binary(max_size=200),
        ),
        max_size=8,
    )
)
def test_homie_never_raises_on_arbitrary_bytes(messages: list[tuple[str, bytes]]) -> None:
    n = Normalizer()
    for topic, payload in messages:
        out = feed(n, topic, payload)
        assert "parser_error" not in [e.reason for e in out.errors]
        for r in out.readings:
            assert math.isfinite(r.value) and len(r.device) + len(r.sensor) < 200


json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.text(max_size=8) | st.integers(),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_homie_v5_description_of_any_shape_never_raises(doc: object) -> None:
    out = feed(Normalizer(), "homie/5/d/$description", json.dumps(doc))
    assert "parser_error" not in [e.reason for e in out.errors]


@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["°C", "W", "%", "#"]))
def test_homie_round_trips_a_float_and_its_unit(value: float, unit: str) -> None:
    n = Normalizer()
    feed(n, "homie/d/n/p/$unit", unit)
    feed(n, "homie/d/n/p/$datatype", "float")
    [r] = feed(n, "homie/d/n/p", repr(value)).readings
    assert r.value == value and r.unit == unit
