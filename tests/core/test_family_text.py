"""The `text` family: labelled values as sensor libraries' example sketches print them."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.model import RawMessage, Route
from telemetry.normalize import Normalizer
from telemetry.normalize.base import Context, ParseLimits, State
from telemetry.normalize.families.text import FAMILY
from telemetry.units import canonical_unit
from tests.core._serial_helpers import RECV, feed, reasons, sane, second

Table = dict[str, tuple[float, str | None]]


def table(line: str, fmt: str = "auto") -> Table:
    return {r.sensor: (r.value, r.unit) for r in second(line, fmt).readings}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        # Adafruit BME280 / BMP280 / BME680 bme280test
        ("Temperature = 24.00 *C", {"Temperature": (24.0, "°C")}),
        ("Pressure = 1013.25 hPa", {"Pressure": (1013.25, "hPa")}),
        ("Approx. Altitude = -0.50 m", {"Approx. Altitude": (-0.5, "m")}),
        ("Humidity = 40.12 %", {"Humidity": (40.12, "%")}),
        ("Gas = 12.34 KOhms", {"Gas": (12.34, "kΩ")}),
        # Adafruit SHT31: the unit in the label
        ("Temp *C = 24.51", {"Temp": (24.51, "°C")}),
        ("Hum. % = 41.23", {"Hum.": (41.23, "%")}),
        # Adafruit DHT unified, SCD30, AHTX0, INA219
        ("Temperature: 23.00°C", {"Temperature": (23.0, "°C")}),
        ("Temperature: 24.31 degrees C", {"Temperature": (24.31, "°C")}),
        ("Humidity: 40.12% rH", {"Humidity": (40.12, "%")}),
        ("eCO2: 412.345 ppm", {"eCO2": (412.345, "ppm")}),
        ("Bus Voltage:   3.30 V", {"Bus Voltage": (3.3, "V")}),
        ("Current:       12.30 mA", {"Current": (12.3, "mA")}),
        # a unit the vocabulary lacks, ending a `label: value` field, kept as written
        ("Heart rate: 72 bpm", {"Heart rate": (72.0, "bpm")}),
        ("Free heap: 123456 bytes", {"Free heap": (123456.0, "bytes")}),
        # the issue's own
        ("Temp: 22.4 C", {"Temp": (22.4, "°C")}),
        ("PM2.5: 12 ug/m3", {"PM2.5": (12.0, "µg/m³")}),
        # Adafruit SGP30: key value unit
        ("TVOC 12 ppb\teCO2 412 ppm", {"TVOC": (12.0, "ppb"), "eCO2": (412.0, "ppm")}),
        (
            "Raw H2 13447 \tRaw Ethanol 18336",
            {"Raw H2": (13447.0, None), "Raw Ethanol": (18336.0, None)},
        ),
        ("humidity    40.2 %", {"humidity": (40.2, "%")}),
        # Adafruit PM2.5 AQI
        (
            "PM 1.0: 2\t\tPM 2.5: 3\t\tPM 10: 3",
            {"PM 1.0": (2.0, None), "PM 2.5": (3.0, None), "PM 10": (3.0, None)},
        ),
        ("Particles > 0.3um / 0.1L air:552", {"Particles > 0.3um / 0.1L air": (552.0, None)}),
        # SparkFun BME280 and SCD30
        (
            "Humidity: 41 Pressure: 101325 Alt: 12.3 Temp: 75.20",
            {
                "Humidity": (41.0, None),
                "Pressure": (101325.0, None),
                "Alt": (12.3, None),
                "Temp": (75.2, None),
            },
        ),
        (
            "co2(ppm):412 temp(C):24.3 humidity(%):38.9",
            {"co2": (412.0, "ppm"), "temp": (24.3, "°C"), "humidity": (38.9, "%")},
        ),
        # DallasTemperature
        (
            "Temperature for the device 1 (index 0) is: 23.50",
            {"Temperature for the device 1 (index 0)": (23.5, None)},
        ),
        # a Sharp dust sensor library: `;` between fields
        (
            "Dust density: 12.30 ug/m3; Running average: 11.90 ug/m3",
            {"Dust density": (12.3, "µg/m³"), "Running average": (11.9, "µg/m³")},
        ),
    ],
)
def test_text_reads_the_lines_of_sensor_library_examples(line: str, expected: Table) -> None:
    assert table(line) == expected


def test_text_a_new_label_is_a_series_from_its_second_line() -> None:
    banner, first, again, both = feed(
        [
            "BME280 test",
            "Temperature = 24.00 *C",
            "Temperature = 24.03 *C",
            "Temperature = 24.05 *C",
        ]
    )
    assert banner.readings == [] and reasons(banner) == ["not_a_reading"]
    assert first.readings == [] and reasons(first) == ["not_a_reading"]
    assert [(r.sensor, r.value) for r in again.readings] == [("Temperature", 24.03)]
    assert again.errors == [] and len(both.readings) == 1


def test_text_a_second_unit_of_a_value_is_a_series_of_its_own() -> None:
    # Adafruit DHTtester: each temperature in °C, then in °F
    line = "Humidity: 45.00%  Temperature: 23.00°C 73.40°F  Heat index: 22.92°C 73.26°F"
    assert table(line) == {
        "Humidity": (45.0, "%"),
        "Temperature": (23.0, "°C"),
        "Temperature °F": (73.4, "°F"),
        "Heat index": (22.92, "°C"),
        "Heat index °F": (73.26, "°F"),
    }
    # DallasTemperature Multiple: one name twice, told apart by the unit
    line = "Device Address: 28FF4A1C04000028 Temp C: 23.50 Temp F: 74.30"
    assert table(line) == {"Temp": (23.5, "°C"), "Temp °F": (74.3, "°F")}


def test_text_axes_belong_to_their_quantity_and_share_its_unit() -> None:
    # Adafruit MPU6050 and LIS3DH
    assert table("Acceleration X: 0.12, Y: 0.34, Z: 9.81 m/s^2") == {
        "Acceleration X": (0.12, "m/s^2"),
        "Acceleration Y": (0.34, "m/s^2"),
        "Acceleration Z": (9.81, "m/s^2"),
    }
    assert table("X:  -144  \tY:  208  \tZ:  16400\t\tX: -0.05 \tY: 0.09 \tZ: 9.81 m/s^2 ") == {
        "X": (-144.0, None),
        "Y": (208.0, None),
        "Z": (16400.0, None),
        "X m/s^2": (-0.05, "m/s^2"),
        "Y m/s^2": (0.09, "m/s^2"),
        "Z m/s^2": (9.81, "m/s^2"),
    }


def test_text_tags_in_brackets_before_the_values_are_skipped() -> None:
    # Adafruit TSL2591: `[ millis ms -> duration ms ]`, then the values
    line = "[ 1534 ms -> 501 ms ] IR: 123  Full: 456  Visible: 333  Lux: 12.345678"
    assert table(line) == {
        "IR": (123.0, None),
        "Full": (456.0, None),
        "Visible": (333.0, None),
        "Lux": (12.345678, None),
    }
    (bare,) = feed(["[ 1534 ms ] 12.35 lux"])  # a number alone: read at once
    assert [(r.sensor, r.value, r.unit) for r in bare.readings] == [("value", 12.35, "lx")]
    assert not _sniff("[1, 2, 3]") and not _sniff('[{"t": 21.5}]')  # JSON arrays


def test_text_a_label_printed_again_in_another_unit_is_a_series_of_its_own() -> None:
    # an ozone sensor sketch printing one label in three units, three lines a loop
    loop = [
        "Concentration O3 : 21 ppb",
        "Concentration O3 : 0.04 mg/m3",
        "Concentration O3 : 42 ug/m3",
    ]
    *_, ppb, mg, ug = feed(loop + loop)
    assert [(r.sensor, r.unit) for r in ppb.readings + mg.readings + ug.readings] == [
        ("Concentration O3", "ppb"),
        ("Concentration O3 mg/m³", "mg/m³"),
        ("Concentration O3 µg/m³", "µg/m³"),
    ]


def test_text_one_unit_after_a_list_is_the_unit_of_all_and_a_leading_time_is_the_device_time() -> (
    None
):
    # PyPMS's default format: the local time, then a list sharing one unit
    stamp = "2023-11-14 22:05:00"  # UTC here (the tests' zone): 500 s before RECV
    out = second(f"{stamp}: PM1 1.0, PM2.5 11.0, PM10 12.0 μg/m3")
    assert {r.sensor: (r.value, r.unit, r.ts) for r in out.readings} == {
        "PM1": (1.0, "µg/m³", RECV - 500),
        "PM2.5": (11.0, "µg/m³", RECV - 500),
        "PM10": (12.0, "µg/m³", RECV - 500),
    }
    # a unit not after the last: no sharing (CCS811's `CO2: 400ppm, TVOC: 0`)
    assert table("CO2: 400ppm, TVOC: 0") == {"CO2": (400.0, "ppm"), "TVOC": (0.0, None)}


def test_text_a_time_label_is_the_device_time_when_it_is_a_clock_and_a_reading_otherwise() -> None:
    clock = second(f"ts: {int(RECV) - 60} temp: 21.5")
    assert [(r.sensor, r.ts) for r in clock.readings] == [("temp", RECV - 60)]
    # SparkFun HTU21D: `Time:` millis() since boot, a counter
    uptime = second("Time:1002 Temperature:24.5C Humidity:45.2%")
    assert {r.sensor: (r.value, r.unit) for r in uptime.readings} == {
        "Time": (1002.0, None),
        "Temperature": (24.5, "°C"),
        "Humidity": (45.2, "%"),
    }
    assert {r.ts for r in uptime.readings} == {RECV} and uptime.errors == []


@pytest.mark.parametrize(
    "line",
    [
        "BME280 test",
        "Could not find a valid BME280 sensor, check wiring!",
        "Failed to read from DHT sensor!",
        "---------------------------------------",
        "Concentration Units (standard)",
        "Requesting temperatures...DONE",
        "Restarting in 10 seconds...",
        "****Baseline values: eCO2: 0x8A2B & TVOC: 0x8C4D",
        "Parasite power is: OFF",
    ],
)
def test_text_prose_decoration_and_text_values_are_not_readings(line: str) -> None:
    out = second(line)
    assert out.readings == [] and reasons(out) == ["not_a_reading"]


def test_text_nan_and_comma_decimals_are_counted() -> None:
    out = second("Temp: nan\tHum: 21,5 %\tPres: 1013.2 hPa")
    assert [(r.sensor, r.value, r.unit) for r in out.readings] == [("Pres", 1013.2, "hPa")]
    assert reasons(out) == ["comma_decimal", "not_finite"]


def _sniff(line: str) -> bool:
    """Whether `auto` would give a port's `line` to this family."""
    msg = RawMessage(Route("bench", "serial", device="bench"), "bench", line.encode(), RECV)
    return FAMILY.sniff(Context(msg, "bench", None, State(), ParseLimits()))


@pytest.mark.parametrize(
    "line",
    ["21.5", "23.41 °C", "1 2 3", "nan", "weather,loc=x temp=21 1465839830",
     '{"t": 1}', "$GPHDT,10.0,T*1C", ""],
)  # fmt: skip
def test_text_leaves_numbers_line_protocol_json_and_nmea_to_their_families(
    line: str,
) -> None:
    assert not _sniff(line)


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_text_arbitrary_bytes_never_raise(payload: bytes) -> None:
    normalizer = Normalizer()
    for out in feed([payload, payload], fmt="text", normalizer=normalizer):
        sane(out)
        assert all(e.reason != "parser_error" for e in out.errors)


_LABEL = st.from_regex(r"[A-Z][a-z]{1,8}( [A-Z][a-z]{1,6})?", fullmatch=True).filter(
    lambda label: canonical_unit(label.rpartition(" ")[2]) is None  # `Temp Pa` states a unit
)
_UNIT = st.sampled_from(
    [("°C", "°C"), ("*C", "°C"), ("hPa", "hPa"), ("%", "%"), ("ug/m3", "µg/m³")]
)


@given(
    st.dictionaries(_LABEL, st.tuples(st.floats(-1e6, 1e6, allow_nan=False), _UNIT), max_size=6),
    st.sampled_from([": ", " = "]),
    st.sampled_from(["\t", "  ", ", "]),
)
def test_text_generated_lines_parse_back(
    data: dict[str, tuple[float, tuple[str, str]]], separator: str, between: str
) -> None:
    line = between.join(f"{k}{separator}{v!r} {unit}" for k, (v, (unit, _)) in data.items())
    if not data:
        return
    assert table(line) == {k: (float(repr(v)), known) for k, (v, (_, known)) in data.items()}
