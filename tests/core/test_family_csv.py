"""The `csv` family: CSV serial lines after a header line."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.model import RawMessage, Route
from telemetry.normalize import Normalizer
from tests.core._serial_helpers import RECV, feed, reasons, sane, values


def test_csv_header_then_values() -> None:
    _, out = feed(["temp,hum", "21.5,40"])
    assert values(out) == {"temp": 21.5, "hum": 40.0}


def test_csv_semicolon_and_tab_separators() -> None:
    for sep in (";", "\t"):
        _, out = feed([f"temp{sep}hum", f"21.5{sep}40"])
        assert values(out) == {"temp": 21.5, "hum": 40.0}


def test_csv_header_states_units_in_brackets_or_after_an_underscore() -> None:
    header = "temp (°C),p[hPa],pm25[ug/m3],co2_ppm,hum_pct,temp_h,motor_A,motor_B"
    _, out = feed([header, "21.5,1013,12,400,40,25,1,2"])
    assert {r.sensor: r.unit for r in out.readings} == {
        "temp": "°C",
        "p": "hPa",
        "pm25": "µg/m³",
        "co2": "ppm",
        "hum": "%",
        "temp_h": None,  # `_h` is a name's end (high), not hours
        "motor_A": None,  # and `motor_B` beside it: names, not amperes
        "motor_B": None,
    }


def test_csv_names_that_would_become_one_keep_their_whole_names_and_units() -> None:
    _, out = feed(["temp_C,temp_F,temp", "21.5,70.7,21.4"])
    assert {r.sensor: r.unit for r in out.readings} == {
        "temp_C": "°C",
        "temp_F": "°F",
        "temp": None,
    }


def test_csv_labelled_values_and_prose_are_not_headers() -> None:
    sgp30, prose, later = feed(
        ["TVOC 12 ppb\teCO2 400 ppm", "Could not find a valid BME280 sensor, check wiring!", "1,2"]
    )
    assert reasons(sgp30) == ["not_a_reading"]  # the text family's: new names
    assert reasons(prose) == ["not_a_reading"]
    assert values(later) == {"value 1": 1.0, "value 2": 2.0}  # no header was taken


def test_csv_time_column_is_device_time() -> None:
    _, out = feed(["Timestamp,temp", f"{int(RECV) - 5},21.5"])
    assert values(out) == {"temp": 21.5}
    assert out.readings[0].ts == RECV - 5


def test_csv_new_header_replaces_old() -> None:
    *_, out = feed(["a,b", "1,2", "x,y,z", "1,2,3"])
    assert values(out) == {"x": 1.0, "y": 2.0, "z": 3.0}


def test_csv_no_header_and_column_count_counted() -> None:
    normalizer = Normalizer()
    (first,) = feed(["1,2"], fmt="csv", normalizer=normalizer)
    assert reasons(first) == ["no_header"]
    _, bad = feed(["a,b", "1,2,3"], fmt="csv", normalizer=normalizer)
    assert reasons(bad) == ["column_count"]


def test_csv_headers_are_per_port() -> None:
    normalizer = Normalizer()
    feed(["a,b"], normalizer=normalizer)
    other = Route("other", "serial", "csv", device="other")
    out = normalizer.normalize(RawMessage(other, "other", b"1,2", RECV))
    assert reasons(out) == ["no_header"]


def test_csv_plotter_label_line_is_not_a_header() -> None:
    _, out = feed(["var1:,var2:", "1,2"])
    assert values(out) == {"value 1": 1.0, "value 2": 2.0}


@settings(max_examples=300)
@given(st.lists(st.binary(max_size=80), max_size=5))
def test_csv_arbitrary_bytes_never_raise(lines: list[bytes]) -> None:
    for out in feed(list(lines), fmt="csv") + feed(list(lines)):
        sane(out)
        assert all(e.reason != "parser_error" for e in out.errors)


# no `_`: `temp_C` states a unit
_NAME = st.from_regex(r"[A-Za-z][A-Za-z]{0,8}", fullmatch=True).filter(
    lambda k: (
        k.lower()
        not in {"time", "timestamp", "ts", "datetime", "date_time", "nan", "inf", "infinity", "ovf"}
    )
)


@given(
    st.dictionaries(_NAME, st.floats(allow_nan=False, allow_infinity=False), min_size=2, max_size=8)
)
def test_csv_round_trip(data: dict[str, float]) -> None:
    _, out = feed([",".join(data), ",".join(repr(v) for v in data.values())], fmt="csv")
    assert values(out) == data
