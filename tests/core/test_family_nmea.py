"""The `nmea` family: NMEA 0183 sentences."""

from __future__ import annotations

from functools import reduce

from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.normalize import Normalizer
from telemetry.normalize.timestamps import ClockPolicy
from tests.core._serial_helpers import feed, reasons, sane, values


def sentence(body: str) -> str:
    return f"${body}*{reduce(lambda a, b: a ^ b, body.encode(), 0):02X}"


def test_nmea_gga_position_altitude_and_quality() -> None:
    (out,) = feed(["$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47"])
    got = values(out)
    assert round(got["GGA.latitude"], 6) == 48.1173
    assert round(got["GGA.longitude"], 6) == 11.516667
    assert got["GGA.altitude"] == 545.4
    assert got["GGA.satellites"] == 8.0
    assert {r.sensor: r.unit for r in out.readings}["GGA.latitude"] == "°"


def test_nmea_south_and_west_are_negative() -> None:
    (out,) = feed([sentence("GPGLL,4916.45,S,12311.12,W,225444,A,")])
    got = values(out)
    assert got["GLL.latitude"] < 0 and got["GLL.longitude"] < 0


def test_nmea_talker_is_not_part_of_the_name() -> None:
    a, b = feed([sentence("GPHDT,10.0,T"), sentence("GNHDT,11.0,T")])
    assert values(a) == {"HDT.heading": 10.0}
    assert values(b) == {"HDT.heading": 11.0}


def test_nmea_rmc_gives_device_time() -> None:
    normalizer = Normalizer(clock=ClockPolicy(max_skew=1e10))
    (out,) = feed(
        ["$GPRMC,092750.000,A,5321.6802,N,00630.3372,W,0.02,31.66,280511,,,A*43"],
        normalizer=normalizer,
    )
    assert {r.ts for r in out.readings} == {1306574870.0}
    assert out.errors == []


def test_nmea_rmc_void_is_counted() -> None:
    (out,) = feed(["$GPRMC,,V,,,,,,,,,,N*53"])
    assert out.readings == [] and reasons(out) == ["nmea_void"]


def test_nmea_empty_fields_are_skipped_without_error() -> None:
    (out,) = feed(["$GPGGA,,,,,,0,00,99.99,,,,,,*48"])
    assert out.errors == []
    assert values(out) == {"GGA.satellites": 0.0}


def test_nmea_fix_quality_is_no_reading_dgps_age_is_one_in_seconds() -> None:
    # A DGPS fix (quality 2), corrections 3.4 s old from station 0120.
    (out,) = feed(
        [sentence("GPGGA,123519,4807.038,N,01131.000,E,2,08,0.9,545.4,M,46.9,M,3.4,0120")]
    )
    units = {r.sensor: (r.value, r.unit) for r in out.readings}
    assert "GGA.fix_quality" not in units and not any("station" in s for s in units)
    assert units["GGA.dgps_age"] == (3.4, "s")
    assert units["GGA.altitude"] == (545.4, "m")


def test_nmea_depths_are_metres_else_feet() -> None:
    dbt, dbs, dbk, feet_only = feed(
        [
            sentence("SDDBT,7.8,f,2.4,M,1.3,F"),
            sentence("SDDBS,10.2,f,3.1,M,1.7,F"),
            sentence("SDDBK,5.0,f,1.5,M,0.8,F"),
            sentence("SDDBT,7.8,f,,M,,F"),
        ]
    )
    assert {r.sensor: (r.value, r.unit) for r in dbt.readings} == {"DBT.depth": (2.4, "m")}
    assert {r.sensor: (r.value, r.unit) for r in dbs.readings} == {"DBS.depth": (3.1, "m")}
    assert {r.sensor: (r.value, r.unit) for r in dbk.readings} == {"DBK.depth": (1.5, "m")}
    assert {r.sensor: (r.value, r.unit) for r in feet_only.readings} == {"DBT.depth": (7.8, "ft")}


def test_nmea_checksum_missing_or_wrong() -> None:
    missing, wrong = feed(["$GPHDT,10.0,T", "$GPHDT,10.0,T*00"])
    assert reasons(missing) == ["nmea_no_checksum"]
    assert reasons(wrong) == ["nmea_bad_checksum"]


def test_nmea_xdr_groups_and_units() -> None:
    (out,) = feed(
        [sentence("YXXDR,C,19.3,C,AirTemp,P,1.0133,B,Barometer,H,45,P,Hum,U,12.6,V,Batt")]
    )
    assert {r.sensor: (r.value, r.unit) for r in out.readings} == {
        "XDR.AirTemp": (19.3, "°C"),
        "XDR.Barometer": (1.0133, "bar"),
        "XDR.Hum": (45.0, "%"),
        "XDR.Batt": (12.6, "V"),
    }


def test_nmea_mwv_units_and_reference() -> None:
    (out,) = feed([sentence("WIMWV,45.0,T,12.5,M,A")])
    assert {r.sensor: r.unit for r in out.readings} == {
        "MWV.wind_angle_true": "°",
        "MWV.wind_speed_true": "m/s",
    }


def test_nmea_bad_field_is_counted_and_rest_read() -> None:
    (out,) = feed([sentence("GPVTG,abc,T,,M,5.5,N,10.2,K")])
    assert values(out) == {"VTG.speed": 5.5, "VTG.speed_kmh": 10.2}
    assert reasons(out) == ["nmea_bad_field"]


def test_nmea_unsupported_and_proprietary_are_counted() -> None:
    txt, pubx = feed([sentence("GPTXT,01,01,02,ANTSTATUS=OK"), sentence("PUBX,00,1")])
    assert reasons(txt) == ["nmea_unsupported"]
    assert reasons(pubx) == ["nmea_unsupported"]


@settings(max_examples=300)
@given(st.binary(max_size=200))
def test_nmea_arbitrary_bytes_never_raise(payload: bytes) -> None:
    for out in feed([b"$" + payload], fmt="nmea") + feed([payload], fmt="nmea"):
        sane(out)
        assert all(e.reason != "parser_error" for e in out.errors)


_FIELD = st.text(alphabet="0123456789.,-ANSEWTVMK", max_size=12)


@settings(max_examples=300)
@given(
    st.sampled_from(
        [
            "GGA",
            "RMC",
            "GLL",
            "VTG",
            "GSA",
            "GSV",
            "XDR",
            "MWV",
            "MDA",
            "HDG",
            "DBT",
            "DBS",
            "DBK",
            "DPT",
            "RSA",
            "VHW",
        ]
    ),
    st.lists(_FIELD, max_size=24),
)
def test_nmea_checksummed_garbage_never_raises(kind: str, fields: list[str]) -> None:
    (out,) = feed([sentence(",".join([f"GP{kind}", *fields]))])
    sane(out)
    assert all(e.reason != "parser_error" for e in out.errors)


@given(st.floats(-89.99, 89.99), st.floats(-179.99, 179.99))
def test_nmea_position_round_trip(lat: float, lon: float) -> None:
    def dm(value: float, width: int) -> str:
        deg = int(abs(value))
        return f"{deg:0{width}d}{(abs(value) - deg) * 60:09.6f}"

    north, east = "N" if lat >= 0 else "S", "E" if lon >= 0 else "W"
    body = f"GPGLL,{dm(lat, 2)},{north},{dm(lon, 3)},{east},120000,A"
    (out,) = feed([sentence(body)])
    got = values(out)
    assert abs(got["GLL.latitude"] - lat) < 1e-6
    assert abs(got["GLL.longitude"] - lon) < 1e-6
