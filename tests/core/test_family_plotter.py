"""The `plotter` family: Arduino Serial Plotter lines."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core._serial_helpers import feed, reasons, sane, second, values


def test_plotter_labelled_pairs_with_any_separator() -> None:
    for fmt in ("plotter", "auto"):  # `auto` reads them with the text family, the same
        for line in ("a:1,b:2", "a:1 b:2", "a:1\tb:2", "a:1, b:2"):
            out = second(line, fmt)
            assert values(out) == {"a": 1.0, "b": 2.0}


def test_plotter_label_is_a_series_from_its_second_line() -> None:
    first, again, more = feed(["a:1,b:2", "a:1.5,c:3", "c:4"], fmt="plotter")
    assert first.readings == [] and reasons(first) == ["not_a_reading"]
    assert values(again) == {"a": 1.5} and reasons(again) == ["not_a_reading"]
    assert values(more) == {"c": 4.0} and more.errors == []


def test_plotter_unlabelled_values_are_named_like_the_plotter() -> None:
    (out,) = feed(["10 20\t30,"])
    assert values(out) == {"value 1": 10.0, "value 2": 20.0, "value 3": 30.0}


def test_plotter_number_with_text_is_read_like_parsefloat_without_unit() -> None:
    out = second("temp:21.5C", "plotter")
    assert values(out) == {"temp": 21.5}
    assert out.readings[0].unit is None


def test_plotter_label_with_space_splits_as_in_ide2() -> None:
    out = second("Label 1:10", "plotter")
    assert values(out) == {"1": 10.0}


def test_plotter_space_after_colon_pairs_with_next_number() -> None:
    out = second("Temperature: 23.64, Humidity: 43.89", "plotter")
    assert values(out) == {"Temperature": 23.64, "Humidity": 43.89}


def test_plotter_unlabelled_value_in_labelled_line_is_dropped() -> None:
    out = second("a:1 7", "plotter")
    assert values(out) == {"a": 1.0}


def test_plotter_nan_and_text_are_counted() -> None:
    out = second("a:nan b:ERR c:3", "plotter")
    assert values(out) == {"c": 3.0}
    assert reasons(out) == ["not_a_number", "not_finite"]


def test_plotter_label_only_line_is_counted_when_format_is_plotter() -> None:
    (out,) = feed(["var1:,var2:"], fmt="plotter")
    assert reasons(out) == ["no_values"]


def test_plotter_single_number_stays_with_number_family() -> None:
    (out,) = feed(["21.5 °C"])
    assert [(r.sensor, r.unit) for r in out.readings] == [("value", "°C")]


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_plotter_arbitrary_bytes_never_raise(payload: bytes) -> None:
    for out in feed([payload], fmt="plotter") + feed([payload]):
        sane(out)
        assert all(e.reason != "parser_error" for e in out.errors)


_LABEL = st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,10}", fullmatch=True)
_VALUE = st.floats(allow_nan=False, allow_infinity=False, width=32)


@given(st.dictionaries(_LABEL, _VALUE, min_size=1, max_size=8), st.sampled_from([",", " ", "\t"]))
def test_plotter_round_trip(data: dict[str, float], sep: str) -> None:
    line = sep.join(f"{k}:{v!r}" for k, v in data.items())
    out = second(line, "plotter")
    assert values(out) == {k: float(repr(v)) for k, v in data.items()}
