"""The serial line formats, as text: what each simulated sketch prints."""

from __future__ import annotations

import json
import re
from functools import reduce

import pytest

from simulators import nmea, signals
from simulators.firmware import Quantity, Sample
from simulators.lines import LINE_FORMATS, Plotter, line_format

WALL = 1714557600.25  # 2024-05-01 10:00:00.25 UTC
CHANNELS = [
    Quantity("temperature", "°C", signals.constant(21.456)),
    Quantity("humidity", "%", signals.constant(40.24), 1),
    Quantity("pressure", "hPa", signals.constant(1013.25), 1),
]
SAMPLES = [s for c in CHANNELS if (s := c.sample(0.0)) is not None]

NMEA = re.compile(r"^\$(?P<body>[A-Z]{5},[^*$]*)\*(?P<checksum>[0-9A-F]{2})$")


def lines(name: str, samples: list[Sample] = SAMPLES) -> list[str]:
    return line_format(name, signals.generator(0)).lines(CHANNELS, samples, WALL)


def verify_nmea(sentence: str) -> str:
    """The sentence's body, after recomputing its checksum independently."""
    parsed = NMEA.match(sentence)
    assert parsed, sentence
    computed = reduce(lambda acc, byte: acc ^ byte, parsed["body"].encode("ascii"), 0)
    assert f"{computed:02X}" == parsed["checksum"], sentence
    assert len(sentence) + 2 <= 82  # with CRLF, under the standard's limit
    return parsed["body"]


def test_number_format_prints_one_value_with_unit_per_line() -> None:
    assert lines("number") == ["21.46 °C", "40.2 %", "1013.2 hPa"]


def test_plotter_format_prints_label_value_pairs() -> None:
    assert lines("plotter") == ["temperature:21.46,humidity:40.2,pressure:1013.2"]


def test_plotter_format_takes_space_or_tab_separators() -> None:
    assert Plotter("\t").lines(CHANNELS, SAMPLES[:2], WALL) == ["temperature:21.46\thumidity:40.2"]
    with pytest.raises(ValueError, match="separates"):
        Plotter(";")


def test_csv_format_prints_a_header_at_boot_and_empty_fields_in_dropouts() -> None:
    fmt = line_format("csv", signals.generator(0))
    assert fmt.boot(CHANNELS) == ["temperature,humidity,pressure"]
    assert fmt.lines(CHANNELS, SAMPLES, WALL) == ["21.46,40.2,1013.2"]
    assert fmt.lines(CHANNELS, [SAMPLES[0], SAMPLES[2]], WALL) == ["21.46,,1013.2"]


def test_json_format_prints_one_compact_object_per_line() -> None:
    [line] = lines("json")
    assert json.loads(line) == {"temperature": 21.46, "humidity": 40.2, "pressure": 1013.2}
    assert " " not in line


@pytest.mark.parametrize("name", ["plotter", "csv", "json"])
def test_line_format_prints_nothing_when_every_sensor_is_in_a_dropout(name: str) -> None:
    assert lines(name, []) == []


def test_nmea_sentences_carry_valid_checksums_and_realistic_fields() -> None:
    gga, rmc, xdr = (verify_nmea(s).split(",") for s in lines("nmea"))
    assert gga[0] == "GPGGA"
    assert gga[1] == "100000.25"
    assert re.fullmatch(r"\d{4}\.\d{4}", gga[2]) and gga[3] == "N"
    assert re.fullmatch(r"\d{5}\.\d{4}", gga[4]) and gga[5] == "E"
    assert 48.0 < int(gga[2][:2]) + float(gga[2][2:]) / 60 < 48.2
    assert gga[6] == "1"  # a GPS fix
    assert rmc[0] == "GPRMC"
    assert rmc[2] == "A"  # valid
    assert rmc[9] == "010524"  # ddmmyy
    assert xdr == [
        "WIXDR",
        *("C", "21.46", "C", "AirTemp"),
        *("H", "40.2", "P", "Humidity"),
        *("P", "1.0132", "B", "Barometer"),  # hPa in bar,
    ]


def test_nmea_lines_end_with_crlf_and_others_with_lf() -> None:
    ends = {name: line_format(name, signals.generator(0)).terminator for name in LINE_FORMATS}
    assert ends == {"number": b"\n", "plotter": b"\n", "csv": b"\n", "json": b"\n", "nmea": b"\r\n"}


def test_nmea_checksum_matches_the_textbook_example() -> None:
    # The GGA example of the NMEA references: $GPGGA,...*47
    body = "GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,"
    assert nmea.checksum(body) == "47"


def test_nmea_southern_and_western_positions_use_s_and_w() -> None:
    gps = nmea.Gps(signals.generator(0), lat=-33.8688, lon=-151.2093)
    gga = verify_nmea(gps.fix(WALL)[0]).split(",")
    assert (gga[3], gga[5]) == ("S", "W")
    assert gga[4].startswith("151")


def test_line_format_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="nmea"):
        line_format("xml", signals.generator(0))
