"""The `kv` family: `key=value` serial lines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core._serial_helpers import RECV, feed, reasons, sane, values


def test_kv_pairs_with_each_separator() -> None:
    for line in ("temp=21.5 hum=40", "temp=21.5,hum=40", "temp=21.5;hum=40", "temp=21.5&hum=40"):
        (out,) = feed([line])
        assert values(out) == {"temp": 21.5, "hum": 40.0}


def test_kv_known_unit_attached_or_after_a_space() -> None:
    (out,) = feed(["T=21.5C H=40 % P=1013hPa"])
    assert {r.sensor: r.unit for r in out.readings} == {"T": "°C", "H": "%", "P": "hPa"}
    assert out.errors == []


def test_kv_unknown_unit_is_counted_and_not_read() -> None:
    (out,) = feed(["Ua=60.8P Ta=21.0C"])
    assert values(out) == {"Ta": 21.0}
    assert reasons(out) == ["unknown_unit"]


def test_kv_text_values_are_skipped_and_nan_counted() -> None:
    (out,) = feed(["state=ON temp=nan hum=40"])
    assert values(out) == {"hum": 40.0}
    assert reasons(out) == ["not_finite"]


def test_kv_comma_decimal_is_counted() -> None:
    (out,) = feed(["T=21,5 H=40"])
    assert values(out) == {"H": 40.0}
    assert reasons(out) == ["comma_decimal"]


def test_kv_time_key_is_device_time() -> None:
    (out,) = feed([f"ts={int(RECV) - 60} temp=21.5"])
    assert values(out) == {"temp": 21.5}
    assert out.readings[0].ts == RECV - 60


def test_kv_no_pairs_counted_with_explicit_format() -> None:
    (out,) = feed(["0TX,Start-up"], fmt="kv")
    assert reasons(out) == ["no_values"]


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_kv_arbitrary_bytes_never_raise(payload: bytes) -> None:
    for out in feed([payload], fmt="kv") + feed([payload]):
        sane(out)
        assert all(e.reason != "parser_error" for e in out.errors)


_KEY = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,10}", fullmatch=True).filter(
    lambda k: k.lower() not in {"time", "timestamp", "ts", "datetime", "date_time"}
)


@given(
    st.dictionaries(_KEY, st.floats(allow_nan=False, allow_infinity=False)),
    st.sampled_from([" ", ";", "&"]),
)
def test_kv_round_trip(data: dict[str, float], sep: str) -> None:
    line = sep.join(f"{k}={v!r}" for k, v in data.items())
    (out,) = feed([line], fmt="kv")
    if data:
        assert values(out) == data
