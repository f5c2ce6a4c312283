"""The unit vocabulary and the spellings devices use for it."""

from __future__ import annotations

import pytest

from telemetry import units
from telemetry.units import UNITS, canonical_unit


@pytest.mark.parametrize(
    "spelling", ["C", "*C", "degC", "\u00baC", "\u2103", "Cel", "°C", " degC "]
)
def test_canonical_unit_maps_celsius_spellings_to_degree_c(spelling: str) -> None:
    assert canonical_unit(spelling) == "\u00b0C"


@pytest.mark.parametrize("spelling", ["F", "degF", "\u2109"])
def test_canonical_unit_maps_fahrenheit_spellings_to_degree_f(spelling: str) -> None:
    assert canonical_unit(spelling) == "\u00b0F"


@pytest.mark.parametrize("spelling", ["ohm", "Ohm", "\u03a9"])
def test_canonical_unit_maps_ohm_spellings_to_greek_omega(spelling: str) -> None:
    assert canonical_unit(spelling) == "\u03a9"


def test_canonical_unit_maps_the_ohm_sign_to_greek_omega() -> None:
    assert canonical_unit("\u2126") == "\u03a9"


@pytest.mark.parametrize(
    "spelling", ["ug/m3", "\u03bcg/m\u00b3", "\u03bcg/m3", "\u00b5g/m3", "\u00b5g/m\u00b3"]
)
def test_canonical_unit_maps_micrograms_per_cubic_metre_to_the_micro_sign(spelling: str) -> None:
    assert canonical_unit(spelling) == "\u00b5g/m\u00b3"


@pytest.mark.parametrize("spelling", ["furlongs", "", "c", "DEGC", "m/s²", "degrees c", "rH"])
def test_canonical_unit_gives_none_for_an_unknown_spelling(spelling: str) -> None:
    assert canonical_unit(spelling) is None


@pytest.mark.parametrize(
    ("spelling", "unit"),
    [("degrees C", "°C"), ("degrees F", "°F"), ("% rH", "%"), ("KOhms", "kΩ"), ("pct", "%")],
)
def test_canonical_unit_knows_what_sensor_library_examples_print(spelling: str, unit: str) -> None:
    # Adafruit SCD30, AHTX0 and SHT4x print `degrees C` and `% rH`; the BME680 `KOhms`
    assert canonical_unit(spelling) == unit


@pytest.mark.parametrize("unit", UNITS)
def test_canonical_unit_maps_every_canonical_unit_to_itself(unit: str) -> None:
    assert canonical_unit(unit) == unit


@pytest.mark.parametrize(
    ("spelling", "unit"),
    [
        ("deg C", "°C"),
        ("°c", "°C"),
        ("%RH", "%"),
        ("VAr", "var"),
        ("uA", "µA"),
        ("\u03bcA", "µA"),
        ("m3/h", "m³/h"),
        ("l/min", "L/min"),
        ("LUX", "lx"),
        ("kph", "km/h"),
        ("hr", "h"),
        ("W/m2", "W/m²"),
        ("k\u2126", "kΩ"),
    ],
)
def test_canonical_unit_maps_firmware_spellings(spelling: str, unit: str) -> None:
    assert canonical_unit(spelling) == unit


@pytest.mark.parametrize("spelling", ["/", "Wmin", "MW h", "mw"])
def test_canonical_unit_leaves_ambiguous_spellings_unknown(spelling: str) -> None:
    # SenML's "/" is a fraction of 1, not a percentage; "mw" could be mW or MW.
    assert canonical_unit(spelling) is None


def test_every_alias_maps_into_the_vocabulary() -> None:
    assert set(units._ALIASES.values()) <= set(UNITS)
