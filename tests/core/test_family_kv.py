"""The `kv` family: `key=value` serial lines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core._serial_helpers import RECV, feed, reasons, sane, second, values


def test_kv_pairs_with_each_separator() -> None:
    for line in ("temp=21.5 hum=40", "temp=21.5,hum=40", "temp=21.5;hum=40", "temp=21.5&hum=40"):
        out = second(line)
        assert values(out) == {"temp": 21.5, "hum": 40.0}


def test_kv_known_unit_attached_or_after_a_space() -> None:
    out = second("T=21.5C H=40 % P=1013hPa")
    assert {r.sensor: r.unit for r in out.readings} == {"T": "°C", "H": "%", "P": "hPa"}
    assert out.errors == []


def test_kv_unknown_unit_is_counted_and_not_read() -> None:
    out = second("Ua=60.8P Ta=21.0C")
    assert values(out) == {"Ta": 21.0}
    assert reasons(out) == ["unknown_unit"]


def test_kv_text_values_are_skipped_and_nan_counted() -> None:
    out = second("state=ON temp=nan hum=40")
    assert values(out) == {"hum": 40.0}
    assert reasons(out) == ["not_finite"]


def test_kv_comma_decimal_is_counted() -> None:
    out = second("T=21,5 H=40")
    assert values(out) == {"H": 40.0}
    assert reasons(out) == ["comma_decimal"]


def test_kv_time_key_is_device_time() -> None:
    out = second(f"ts={int(RECV) - 60} temp=21.5")
    assert values(out) == {"temp": 21.5}
    assert out.readings[0].ts == RECV - 60


def test_kv_key_is_a_series_from_its_second_line() -> None:
    first, again = feed(["temp=21.5 hum=40", "temp=21.6 hum=41"])
    assert first.readings == [] and reasons(first) == ["not_a_reading"]
    assert values(again) == {"temp": 21.6, "hum": 41.0} and again.errors == []


def test_kv_key_may_state_its_unit() -> None:
    out = second("temp_C=21.5 co2(ppm)=400 hum_pct=40 motor_A=1 motor_B=2 v_mV=3.3V")
    assert {r.sensor: (r.value, r.unit) for r in out.readings} == {
        "temp": (21.5, "°C"),
        "co2": (400.0, "ppm"),
        "hum": (40.0, "%"),
        "motor_A": (1.0, None),  # motor_B: these are names, not amperes
        "motor_B": (2.0, None),
        "v": (3.3, "V"),  # the unit after the value wins
    }


def test_kv_no_pairs_counted_with_explicit_format() -> None:
    (out,) = feed(["0TX,Start-up"], fmt="kv")
    assert reasons(out) == ["no_values"]


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_kv_arbitrary_bytes_never_raise(payload: bytes) -> None:
    for out in feed([payload], fmt="kv") + feed([payload]):
        sane(out)
        assert all(e.reason != "parser_error" for e in out.errors)


# no `_`: `temp_C` states a unit (see test_kv_key_may_state_its_unit)
_KEY = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,10}", fullmatch=True).filter(
    lambda k: k.lower() not in {"time", "timestamp", "ts", "datetime", "date_time"}
)


@given(
    st.dictionaries(_KEY, st.floats(allow_nan=False, allow_infinity=False)),
    st.sampled_from([" ", ";", "&"]),
)
def test_kv_round_trip(data: dict[str, float], sep: str) -> None:
    line = sep.join(f"{k}={v!r}" for k, v in data.items())
    out = second(line, "kv")
    if data:
        assert values(out) == data
