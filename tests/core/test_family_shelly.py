"""The `shelly` (Gen1) and `esphome` families: one value per topic."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry.model import Outcome, RawMessage, Route
from telemetry.normalize import Normalizer

AUTO = Route("test", "mqtt")


def feed(n: Normalizer, topic: str, payload: str | bytes, route: Route = AUTO) -> Outcome:
    data = payload.encode() if isinstance(payload, str) else payload
    return n.normalize(RawMessage(route, topic, data, 1000.0))


@pytest.mark.parametrize(
    ("path", "payload", "value", "unit"),
    [
        ("relay/0/power", "37.71", 37.71, "W"),
        ("relay/1/energy", "120", 2.0, "Wh"),  # Watt-minutes to Wh
        ("roller/0/pos", "40", 40.0, "%"),
        ("emeter/2/total", "12.34", 12.34, "Wh"),
        ("ext_temperature/0", "20.1", 20.1, "°C"),
        ("ext_temperature_f/0", "68.2", 68.2, "°F"),
        ("sensor/temperature", "21.5", 21.5, "°C"),  # the default; `info` may say °F
        ("adc/0", "3.21", 3.21, "V"),
        ("sensor/tilt", "12", 12.0, "°"),
        ("sensor/concentration", "0", 0.0, "ppm"),
    ],
)
def test_shelly_units_follow_the_gen1_topic_table(
    path: str, payload: str, value: float, unit: str | None
) -> None:
    [r] = feed(Normalizer(), f"shellies/shelly-x/{path}", payload).readings
    assert (r.device, r.sensor, r.value, r.unit) == ("shelly-x", path, value, unit)


def test_shelly_template_names_device_and_sensor() -> None:
    route = Route("t", "mqtt", format="shelly", template="shellies/{device}/{sensor...}")
    [r] = feed(Normalizer(), "shellies/em1/emeter/0/power", "5", route).readings
    assert (r.device, r.sensor, r.unit) == ("em1", "emeter/0/power", "W")


def test_shelly_on_off_topics_are_states() -> None:
    n = Normalizer()
    for topic, payload, value in [
        ("relay/0", "on", 1.0),
        ("sensor/flood", "false", 0.0),
        ("sensor/state", "close", 0.0),
        ("input/1", "1", 1.0),
        ("overtemperature", "0", 0.0),
    ]:
        [r] = feed(n, f"shellies/d/{topic}", payload).readings
        assert (r.sensor, r.value, r.unit, r.kind) == (topic, value, None, "state")


def test_shelly_info_says_the_temperature_unit() -> None:
    n = Normalizer()
    info = '{"tmp": {"value": 70.1, "units": "F", "tC": 21.2, "tF": 70.1, "is_valid": true}}'
    assert not feed(n, "shellies/ht-1/info", info).readings
    [r] = feed(n, "shellies/ht-1/sensor/temperature", "70.1").readings
    assert r.unit == "°F"
    [r] = feed(n, "shellies/ht-2/sensor/temperature", "21.2").readings
    assert r.unit == "°C"


def test_shelly_text_states_are_skipped_but_a_documented_number_is_counted() -> None:
    n = Normalizer()
    for topic, payload in [
        ("roller/0", "stop"),
        ("sensor/gas", "none"),
        ("info", "{}"),
        ("relay/0/command", "off"),
        ("input_event/0", '{"event":"S"}'),
    ]:
        out = feed(n, f"shellies/d/{topic}", payload)
        assert not out.readings and not out.errors, topic
    assert [e.reason for e in feed(n, "shellies/d/relay/0/power", "n/a").errors] == ["not_a_number"]


def test_shelly_announce_is_not_a_reading() -> None:
    out = feed(Normalizer(), "shellies/announce", '{"id":"shelly1-1","fw_ver":"x"}')
    assert not out.readings and not out.errors


def test_esphome_sensor_state_is_a_reading_without_unit() -> None:
    [r] = feed(Normalizer(), "kitchen/sensor/temp/state", "21.25").readings
    assert (r.device, r.sensor, r.value, r.unit) == ("kitchen", "temp", 21.25, None)


def test_esphome_binary_and_switch_states_are_states_and_text_is_skipped() -> None:
    n = Normalizer()
    for topic, value in [("binary_sensor/door/state", 1.0), ("switch/fan/state", 0.0)]:
        [r] = feed(n, f"kitchen/{topic}", "ON" if value else "OFF").readings
        assert (r.device, r.value, r.kind) == ("kitchen", value, "state")
    out = feed(n, "kitchen/text_sensor/ip/state", "10.0.0.2")
    assert not out.readings and not out.errors


def test_esphome_nan_is_counted_not_finite() -> None:
    assert [e.reason for e in feed(Normalizer(), "k/sensor/t/state", "nan").errors] == [
        "not_finite"
    ]


def test_esphome_multi_level_prefix_is_the_device() -> None:
    [r] = feed(Normalizer(), "home/kitchen/sensor/t/state", "1").readings
    assert (r.device, r.sensor) == ("home_kitchen", "t")


@given(
    st.sampled_from(
        [
            "shellies/d/relay/0/energy",
            "shellies/d/sensor/temperature",
            "shellies/announce",
            "shellies/",
            "shellies/d/",
            "k/sensor/t/state",
            "/sensor//state",
            "k/text_sensor/t/state",
        ]
    ),
    st.binary(max_size=100),
)
def test_shelly_and_esphome_never_raise(topic: str, payload: bytes) -> None:
    out = feed(Normalizer(), topic, payload)
    assert "parser_error" not in [e.reason for e in out.errors]
    for r in out.readings:
        assert math.isfinite(r.value) and len(r.device) + len(r.sensor) < 200


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_shelly_round_trips_power_and_energy(value: float) -> None:
    n = Normalizer()
    [p] = feed(n, "shellies/d/relay/0/power", repr(value)).readings
    [e] = feed(n, "shellies/d/relay/0/energy", repr(value)).readings
    assert p.value == value and math.isclose(e.value, value / 60)
