"""The `number` payload family and the normalizer that names devices and sensors."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.model import Outcome, RawMessage, Reading, Route
from telemetry.normalize import Normalizer
from telemetry.normalize.base import Emit, Named
from telemetry.remember import REMEMBERED_KEY_LENGTH, Remembered

MQTT = Route("home", "mqtt", "number")
TEMPLATED = Route("home", "mqtt", "number", template="{device}/{sensor...}")


def normalize(
    payload: bytes, topic: str = "kitchen/temp", route: Route = MQTT, **limits: int
) -> Outcome:
    normalizer = Normalizer(
        max_payload=limits.get("max_payload", 65536),
        max_id_length=limits.get("max_id_length", 200),
    )
    return normalizer.normalize(RawMessage(route, topic, payload, 1700000000.0))


def only_reading(outcome: Outcome) -> Reading:
    assert outcome.errors == []
    assert len(outcome.readings) == 1
    return outcome.readings[0]


def only_reason(outcome: Outcome) -> str:
    assert outcome.readings == []
    assert len(outcome.errors) == 1
    return outcome.errors[0].reason


@pytest.mark.parametrize(
    ("payload", "value", "unit"),
    [
        (b"21.5", 21.5, None),
        (b" -3e2 ", -300.0, None),
        (b"+7", 7.0, None),
        (b".5", 0.5, None),
        (b"0", 0.0, None),
        (b"21.5\n", 21.5, None),
        ("21.5 °C".encode(), 21.5, "°C"),
        (b"1013hPa", 1013.0, "hPa"),
        (b"21.5 degC", 21.5, "°C"),
        (b"\xef\xbb\xbf21.5", 21.5, None),
        ("\ufeff42 %".encode(), 42.0, "%"),
    ],
)
def test_number_payload_gives_one_reading(payload: bytes, value: float, unit: str | None) -> None:
    reading = only_reading(normalize(payload))
    assert reading.value == value
    assert type(reading.value) is float
    assert reading.unit == unit


def test_number_reading_carries_the_receive_time_not_a_device_time() -> None:
    reading = only_reading(normalize(b"1"))
    assert reading.ts == reading.recv_ts == 1700000000.0
    assert reading.device_ts is False


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"nan", "not_a_number"),
        (b"NaN", "not_a_number"),
        (b"inf", "not_a_number"),
        (b"-inf", "not_a_number"),
        (b"Infinity", "not_a_number"),
        (b"1e309", "not_finite"),
        (b"-1e309", "not_finite"),
        (b"true", "not_a_number"),
        (b"21,5", "comma_decimal"),
        (b"unavailable", "not_a_number"),
        (b"unknown", "not_a_number"),
        (b"", "empty"),
        (b"   \n", "empty"),
        (b"\xef\xbb\xbf", "empty"),
        (b"\xff\xfe", "not_utf8"),
        (b"\xed\xa0\x80", "not_utf8"),
        (b"21.5 furlongs", "unknown_unit"),
        (b'{"temp": 21.5}', "not_a_number"),
    ],
)
def test_number_payload_that_is_not_a_reading_is_rejected_with_a_reason(
    payload: bytes, reason: str
) -> None:
    assert only_reason(normalize(payload)) == reason


def test_normalizer_rejects_an_oversized_payload_before_parsing() -> None:
    outcome = normalize(b"1" * 65, max_payload=64)
    assert only_reason(outcome) == "payload_too_large"
    assert "65 bytes" in outcome.errors[0].detail


def test_normalizer_accepts_a_payload_at_the_size_limit() -> None:
    assert only_reading(normalize(b"1" * 64, max_payload=64)).value == float("1" * 64)


def test_normalizer_rejects_an_over_long_series_id() -> None:
    assert only_reason(normalize(b"1", topic="d/" + "s" * 20, max_id_length=21)) == "id_too_long"
    assert only_reading(normalize(b"1", topic="d/" + "s" * 19, max_id_length=21))


def test_normalizer_rejects_a_topic_that_does_not_fit_the_template() -> None:
    route = Route("home", "mqtt", "number", template="tele/{device}/SENSOR")
    outcome = normalize(b"1", topic="stat/kitchen/POWER", route=route)
    assert only_reason(outcome) == "topic_mismatch"
    assert "stat/kitchen/POWER" in outcome.errors[0].detail


def test_normalizer_names_each_topic_by_its_own_route_however_often_it_comes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Template matches are remembered per (template, topic), up to REMEMBERED topics:
    the same names every time, a mismatch refused every time, routes kept apart."""
    from telemetry import remember  # noqa: PLC0415

    monkeypatch.setattr(remember, "REMEMBERED", 3)
    normalizer = Normalizer()
    tele = Route("home", "mqtt", "number", template="tele/{device}/{sensor}")
    fixed = Route("shed", "mqtt", "number", template="tele/{ignore}/{sensor}", device="shed")
    swapped = Route("back", "mqtt", "number", template="tele/{sensor}/{device}")

    def names(route: Route, topic: str) -> tuple[str, str] | str:
        out = normalizer.normalize(RawMessage(route, topic, b"1", 1700000000.0))
        if out.errors:
            return out.errors[0].reason
        return out.readings[0].device, out.readings[0].sensor

    for _ in range(2):
        for n in range(6):  # more topics than are remembered
            assert names(tele, f"tele/dev{n}/temp") == (f"dev{n}", "temp")
            assert names(fixed, f"tele/dev{n}/temp") == ("shed", "temp")
            assert names(swapped, f"tele/dev{n}/temp") == ("temp", f"dev{n}")
            assert names(tele, f"stat/dev{n}/temp") == "topic_mismatch"
    assert 0 < len(normalizer._named) <= 3


def test_normalizer_without_template_takes_the_first_level_as_device() -> None:
    reading = only_reading(normalize(b"1", topic="kitchen/climate/temp"))
    assert (reading.device, reading.sensor) == ("kitchen", "climate/temp")
    assert reading.series == "kitchen/climate/temp"


def test_normalizer_without_template_names_a_single_level_sensor_value() -> None:
    reading = only_reading(normalize(b"1", topic="kitchen"))
    assert (reading.device, reading.sensor) == ("kitchen", "value")


def test_normalizer_without_device_in_topic_rejects_with_no_device() -> None:
    assert only_reason(normalize(b"1", topic="/temp")) == "no_device"


def test_normalizer_with_template_names_device_and_sensor_from_the_topic() -> None:
    route = Route("home", "mqtt", "number", template="shellies/{device}/{sensor...}")
    reading = only_reading(normalize(b"1", topic="shellies/plug-1/relay/0/power", route=route))
    assert (reading.device, reading.sensor) == ("plug-1", "relay/0/power")


def test_normalizer_with_template_without_sensor_names_the_sensor_value() -> None:
    route = Route("home", "mqtt", "number", template="zigbee2mqtt/{device}")
    reading = only_reading(normalize(b"1", topic="zigbee2mqtt/lamp", route=route))
    assert (reading.device, reading.sensor) == ("lamp", "value")


def test_normalizer_with_fixed_device_uses_it_with_the_template_sensor() -> None:
    route = Route("home", "mqtt", "number", template="garden/{sensor...}", device="garden")
    reading = only_reading(normalize(b"1", topic="garden/soil/moisture", route=route))
    assert (reading.device, reading.sensor) == ("garden", "soil/moisture")


def test_normalizer_with_fixed_device_and_no_template_keeps_the_topic_rest_as_sensor() -> None:
    route = Route("home", "mqtt", "number", device="boiler")
    reading = only_reading(normalize(b"1", topic="heating/flow", route=route))
    assert (reading.device, reading.sensor) == ("boiler", "flow")


def test_normalizer_serial_route_names_the_port_device_and_sensor_value() -> None:
    route = Route("bench", "serial", "number", device="bench")
    reading = only_reading(normalize(b"21.5", topic="/dev/ttyUSB0", route=route))
    assert (reading.device, reading.sensor) == ("bench", "value")


def test_normalizer_device_rest_with_slashes_never_gives_a_device_with_a_slash() -> None:
    route = Route("home", "mqtt", "number", template="x/{device...}")
    reading = only_reading(normalize(b"1", topic="x/a/b/c", route=route))
    assert "/" not in reading.device
    assert reading.device == "a_b_c"


def test_normalizer_fixed_device_with_a_slash_never_gives_a_device_with_a_slash() -> None:
    route = Route("lab", "serial", "number", device="lab/bench")
    reading = only_reading(normalize(b"1", topic="/dev/ttyACM0", route=route))
    assert reading.device == "lab_bench"


_ROUTES = st.sampled_from(
    [
        MQTT,
        TEMPLATED,
        Route("home", "mqtt", "number", template="tele/{device}/SENSOR"),
        Route("home", "mqtt", "auto", template="x/{device...}"),
        Route("home", "mqtt", "number", template="g/{sensor...}", device="g"),
        Route("bench", "serial", "number", device="bench"),
        Route("bench", "serial", "auto"),
    ]
)


@settings(max_examples=300)
@given(st.binary(max_size=200), st.text(max_size=40), _ROUTES)
def test_normalizer_never_raises_and_gives_only_finite_readings(
    payload: bytes, topic: str, route: Route
) -> None:
    outcome = Normalizer(max_payload=100, max_id_length=30).normalize(
        RawMessage(route, topic, payload, 1.0)
    )
    assert isinstance(outcome, Outcome)
    assert len(outcome.readings) + len(outcome.errors) == 1
    for reading in outcome.readings:
        assert math.isfinite(reading.value)
        assert "/" not in reading.device
        assert len(reading.series) <= 30


@settings(max_examples=200)
@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(["", " ", " °C", "hPa"]))
def test_normalizer_reads_back_any_finite_float_it_is_sent(value: float, unit: str) -> None:
    reading = only_reading(normalize(f"{value!r}{unit}".encode()))
    assert reading.value == value


def test_emit_remembers_checked_names_and_gives_what_checking_again_would(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """`Emit.reading` remembers each (device, sensor, unit) it has checked, up to
    REMEMBERED: readings the same as from a fresh check, bad names refused every
    time, units and devices kept apart, a unit that is not text ignored."""
    from telemetry import remember  # noqa: PLC0415
    from telemetry.normalize import base  # noqa: PLC0415

    monkeypatch.setattr(remember, "REMEMBERED", 4)
    limits = base.ParseLimits(max_id_length=12)
    msg = RawMessage(MQTT, "kitchen/temp", b"", 1700000000.0)
    names: Remembered[tuple[str, str, str | None], base.Named] = Remembered()
    calls: list[tuple[str, str, object]] = [
        ("kitchen", "temp", "C"),
        ("kitchen", "temp", "°F"),
        ("kitchen", "temp", None),
        ("kitchen", "temp", ["C"]),  # not text: no unit
        ("a/b", "temp", "C"),  # stored as a_b
        (" a_b ", "temp", "C"),  # the same series, named apart
        ("kitchen", "humidity", "%"),
        ("", "temp", None),  # no_name
        ("kitchen", "t" * 10, None),  # id_too_long
        ("kitchen", "t\ud800", None),  # bad_name
        ("shed", "temp", "furlongs"),  # a unit outside the vocabulary, kept as stated
    ]

    def emitted(emit: base.Emit, call: tuple[str, str, object]) -> tuple[object, ...]:
        device, sensor, unit = call
        added = emit.reading(device, sensor, 21.5, unit)  # type: ignore[arg-type]
        got = emit.outcome.readings[-1] if added else emit.outcome.errors[-1].reason
        return added, got

    for _ in range(3):
        for call in calls:
            fresh = emitted(base.Emit(msg, limits), call)
            assert emitted(base.Emit(msg, limits, names), call) == fresh, call
    assert 0 < len(names) <= 4
    first = base.Emit(msg, limits, names)
    first.reading("a/b", "temp", 1.0, "C")
    reading = first.outcome.readings[0]
    assert (reading.device, reading.series, reading.unit) == ("a_b", "a_b/temp", "°C")
    assert reading == Reading("a_b", "temp", 1.0, "°C", 1700000000.0, 1700000000.0)


def test_normalizer_works_out_long_topics_and_names_each_time_without_remembering() -> None:
    """Topics and names over REMEMBERED_KEY_LENGTH are read right every time, and
    nothing of them is kept."""
    normalizer = Normalizer()
    route = Route("home", "mqtt", "auto", template="tele/{device}/{sensor}/{ignore...}")
    topic = "tele/dev/temp/" + "x" * REMEMBERED_KEY_LENGTH
    for value in (b"1", b"2"):
        reading = only_reading(normalizer.normalize(RawMessage(route, topic, value, 1.7e9)))
        assert (reading.series, reading.value) == ("dev/temp", float(value))
    assert normalizer._named == {}
    assert normalizer._plans == {}
    long_unit = "u" * REMEMBERED_KEY_LENGTH
    names: Remembered[tuple[str, str, str | None], Named] = Remembered()
    for _ in range(2):
        emit = Emit(RawMessage(MQTT, "t", b"", 1.7e9), normalizer.limits, names)
        assert emit.reading(" " * 60 + "dev ", "s" * 196, 1.0)  # a 200-character id
        assert emit.reading("dev", "temp", 1.0, long_unit)
        assert [(r.series, r.unit) for r in emit.outcome.readings] == [
            ("dev/" + "s" * 196, None),
            ("dev/temp", long_unit[:24]),
        ]
    assert names == {}
