"""The `senml` family: RFC 8428 SenML JSON packs."""

from __future__ import annotations

import json
import math
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.model import Outcome, RawMessage, Route
from telemetry.normalize import Normalizer
from telemetry.normalize.base import Context, ParseLimits, State
from telemetry.normalize.families.senml import FAMILY

NOW = 1_700_000_000.0
SENML = Route("lab", "mqtt", "senml")
AUTO = Route("lab", "mqtt", "auto")
TEMPLATED = Route("lab", "mqtt", "senml", template="lab/{device}/senml")


def normalize(pack: Any, route: Route = SENML, topic: str = "lab/x") -> Outcome:
    payload = pack if isinstance(pack, bytes) else json.dumps(pack).encode()
    return Normalizer().normalize(RawMessage(route, topic, payload, NOW))


def series(outcome: Outcome) -> list[tuple[str, str, float, str | None, float]]:
    return [(r.device, r.sensor, r.value, r.unit, r.ts) for r in outcome.readings]


def reasons(outcome: Outcome) -> list[str]:
    return sorted(e.reason for e in outcome.errors)


def test_senml_base_name_and_name_split_into_device_and_sensor() -> None:
    out = normalize([{"bn": "urn:dev:ow:1:", "n": "voltage", "u": "V", "v": 120.1}])
    assert series(out) == [("urn:dev:ow:1", "voltage", 120.1, "V", NOW)]


def test_senml_base_fields_carry_over_until_changed() -> None:
    out = normalize(
        [
            {"bn": "a/", "bt": 1_699_999_900, "bu": "Cel", "bv": 10, "n": "t", "v": 1},
            {"n": "t", "t": 5, "v": 2},
            {"bn": "b/", "n": "t", "u": "W", "v": 3},
        ]
    )
    assert series(out) == [
        ("a", "t", 11.0, "°C", 1_699_999_900.0),
        ("a", "t", 12.0, "°C", 1_699_999_905.0),
        ("b", "t", 13.0, "W", 1_699_999_900.0),
    ]


def test_senml_relative_times_are_seconds_before_the_receive_time() -> None:
    out = normalize([{"bn": "d:", "n": "x", "t": -5, "v": 1}, {"n": "x", "v": 2}])
    assert [(r.ts, r.device_ts) for r in out.readings] == [(NOW - 5, True), (NOW, False)]


def test_senml_time_at_two_to_the_28_is_absolute() -> None:
    out = normalize([{"bn": "d:", "n": "x", "t": 2**28, "v": 1}])
    assert reasons(out) == ["clock_unsynced"]  # 1978: a real absolute time, refused as too old
    out = normalize([{"bn": "d:", "n": "x", "t": 2**28 - 1, "v": 1}])
    assert reasons(out) == ["clock_ahead"]  # relative: 8.5 years after now


def test_senml_text_boolean_and_data_values_are_skipped_silently() -> None:
    out = normalize(
        [{"bn": "d:", "n": "a", "vs": "x"}, {"n": "b", "vb": True}, {"n": "c", "vd": "aA"}]
    )
    assert out.readings == [] and out.errors == []


def test_senml_sum_is_its_own_reading_in_unit_seconds() -> None:
    out = normalize([{"bn": "d:", "n": "p", "u": "W", "v": 5, "s": 100}])
    assert series(out) == [("d", "p", 5.0, "W", NOW), ("d", "p.sum", 100.0, "W·s", NOW)]


def test_senml_invalid_records_are_counted_one_by_one() -> None:
    out = normalize(
        [
            {"bn": "d:", "n": "ok", "v": 1},
            {"n": "two", "v": 1, "vs": "x"},
            {"n": "none"},
            {"n": "bad name", "v": 1},
            {"n": "x", "v": "21"},
            {"n": "x", "v": 1, "new_": 1},
            "not a record",
            {"n": 5, "v": 1},
        ]
    )
    assert series(out) == [("d", "ok", 1.0, None, NOW)]
    assert reasons(out) == sorted(
        ["bad_record"] * 3 + ["no_value", "bad_name", "not_a_number", "must_understand"]
    )


def test_senml_newer_version_rejects_the_pack() -> None:
    assert reasons(normalize([{"bver": 11, "n": "a", "v": 1}])) == ["senml_version"]


def test_senml_unsplit_name_is_the_device_and_unit_the_sensor() -> None:
    out = normalize(
        [{"n": "urn:dev:ow:1", "u": "%RH", "v": 20}, {"n": "urn:dev:ow:1", "u": "lat", "v": 60}]
    )
    assert series(out) == [
        ("urn:dev:ow:1", "%RH", 20.0, "%", NOW),
        ("urn:dev:ow:1", "lat", 60.0, "°", NOW),
    ]


def test_senml_template_device_makes_the_whole_name_the_sensor() -> None:
    out = normalize([{"bn": "/3303/0/", "n": "5700", "v": 21.5}], TEMPLATED, "lab/node-7/senml")
    assert series(out) == [("node-7", "/3303/0/5700", 21.5, None, NOW)]


def test_senml_sniff_claims_packs_but_not_other_json() -> None:
    def sniff(payload: bytes) -> bool:
        msg = RawMessage(AUTO, "t/x", payload, NOW)
        return FAMILY.sniff(Context(msg, None, None, State(), ParseLimits()))

    assert sniff(b'[{"n":"urn:dev:ow:1","v":1}]')
    assert not sniff(b'{"n":"a","v":1}')
    assert not sniff(b"[1, 2]")
    assert not sniff(b'[{"temperature": 21}]')
    assert not sniff(b"[{")


NAME = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9\-.]{0,10}", fullmatch=True)
VALUE = st.one_of(st.integers(-(10**9), 10**9), st.floats(-1e9, 1e9, allow_nan=False))


@settings(max_examples=150, deadline=None)
@given(
    NAME,
    # times within `max_clock_skew` of the receive time: further behind is not used
    st.lists(st.tuples(NAME, VALUE, st.integers(-300, 0)), min_size=1, max_size=8),
    st.one_of(st.none(), st.integers(1_699_999_700, 1_700_000_000)),
    st.sampled_from([None, "Cel", "%RH", "W"]),
)
def test_senml_generated_packs_parse_back(
    bn: str, records: list[tuple[str, float, int]], bt: int | None, bu: str | None
) -> None:
    pack: list[dict[str, Any]] = []
    for index, (n, v, t) in enumerate(records):
        record: dict[str, Any] = {"n": n, "v": v, "t": t}
        if index == 0:
            record |= {"bn": bn + ":"} | ({"bt": bt} if bt is not None else {})
            record |= {"bu": bu} if bu else {}
        pack.append(record)
    out = normalize(pack)
    assert out.errors == []
    base = NOW if bt is None else float(bt)
    want = [(bn, n, float(v), base + t if (bt or t) else NOW) for n, v, t in records]
    assert [(r.device, r.sensor, r.value, r.ts) for r in out.readings] == want


JSONISH = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                ["n", "bn", "v", "bt", "bu", "t", "s", "bs", "bv", "u", "vs", "bver", "x_"]
            ),
            inner,
            max_size=5,
        )
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.lists(JSONISH, max_size=6))
def test_senml_arbitrary_packs_never_raise(pack: list[Any]) -> None:
    text = json.dumps(pack, allow_nan=True).encode()
    for route in (SENML, AUTO):
        out = normalize(text, route)
        assert not any(e.reason == "parser_error" for e in out.errors)
        for reading in out.readings:
            assert math.isfinite(reading.value)
            assert len(reading.series) <= 201


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=200))
def test_senml_arbitrary_bytes_never_raise(payload: bytes) -> None:
    out = normalize(b"[" + payload)
    assert not any(e.reason == "parser_error" for e in out.errors)
