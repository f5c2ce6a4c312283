"""The JSON families: json, tasmota, zigbee2mqtt, shelly2, rtl_433, ttn, omg."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.errors import PayloadError
from telemetry.model import Outcome, RawMessage, Route
from telemetry.normalize import Normalizer
from telemetry.normalize.base import Context, ParseLimits, State, loads

RECV = 1_800_000_000.0
FAMILIES = ("json", "tasmota", "zigbee2mqtt", "shelly2", "rtl_433", "ttn", "omg")


def run(
    topic: str,
    payload: Any,
    fmt: str = "auto",
    *,
    template: str | None = None,
    timezone: str | None = None,
    transport: str = "mqtt",
    received: float = RECV,
) -> Outcome:
    """`payload` normalized as received at `received` (a device time further behind
    than `max_clock_skew` is not used)."""
    data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    device = "port" if transport == "serial" else None
    route = Route("t", transport, fmt, template, device, timezone)
    return Normalizer().normalize(RawMessage(route, topic, data, received))


def table(outcome: Outcome) -> dict[str, tuple[float, str | None]]:
    return {f"{r.device}/{r.sensor}": (r.value, r.unit) for r in outcome.readings}


def reasons(outcome: Outcome) -> list[str]:
    return sorted(e.reason for e in outcome.errors)


# --- json ---------------------------------------------------------------------------


def test_json_flattens_nested_objects_and_arrays_under_the_topic() -> None:
    out = run("esp32/room", {"env": {"t": 21.5, "h": "45"}, "acc": [1, 2], "ok": True, "n": None})
    assert table(out) == {
        "esp32/room/env.t": (21.5, None),
        "esp32/room/env.h": (45.0, None),
        "esp32/room/acc.0": (1.0, None),
        "esp32/room/acc.1": (2.0, None),
        "esp32/room/ok": (1.0, None),
    }
    assert [r.kind for r in out.readings if r.sensor == "room/ok"] == ["state"]
    assert out.errors == []


def test_json_reads_at_most_max_leaves_values_in_document_order_and_counts_the_rest() -> None:
    from telemetry.normalize.families._jsonwalk import MAX_LEAVES  # noqa: PLC0415

    nested = {"a": [{"v": i} for i in range(MAX_LEAVES // 2)], "b": list(range(MAX_LEAVES))}
    out = run("esp32/many", nested)
    sensors = [r.sensor for r in out.readings]
    assert len(sensors) == MAX_LEAVES
    assert sensors[:2] == ["many/a.0.v", "many/a.1.v"]
    assert sensors[-1] == f"many/b.{MAX_LEAVES - MAX_LEAVES // 2 - 1}"
    assert reasons(out) == ["too_many_values"]


def test_json_counts_nan_and_infinity_but_not_text() -> None:
    out = run("esp32/x", b'{"a": NaN, "b": "Infinity", "c": "unavailable", "d": 1}')
    assert table(out) == {"esp32/x/d": (1.0, None)}
    assert reasons(out) == ["not_finite", "not_finite"]


def test_json_time_field_is_device_time_and_not_a_reading() -> None:
    out = run("esp32/x", {"ts": 1_700_000_000_000, "v": 3}, received=1_700_000_001.0)
    assert table(out) == {"esp32/x/v": (3.0, None)}
    assert out.readings[0].ts == 1_700_000_000.0 and out.readings[0].device_ts


def test_json_zone_less_time_uses_the_route_zone() -> None:
    out = run(
        "esp32/x",
        {"time": "2024-01-02T10:00:00", "v": 3},
        timezone="Europe/Berlin",
        received=1_704_186_001.0,
    )
    assert out.readings[0].ts == 1_704_186_000.0  # 09:00 UTC


def test_json_string_number_payload_with_explicit_format() -> None:
    out = run("dev/temp", b'"21.5"', fmt="json")
    assert table(out) == {"dev/temp": (21.5, None)}


def test_json_serial_line_object_uses_the_port_device() -> None:
    out = run("port", {"t": 1.5}, transport="serial")
    assert table(out) == {"port/t": (1.5, None)}


# --- tasmota ------------------------------------------------------------------------


def test_tasmota_temp_and_pressure_units_follow_the_stated_words() -> None:
    payload = {
        "Time": "2024-01-02T10:00:00",
        "BME280": {"Temperature": 70.1, "DewPoint": 50.0, "Pressure": 29.9, "Humidity": 40},
        "TempUnit": "F",
        "PressureUnit": "inHg",
    }
    out = run("tele/plug/SENSOR", payload, received=1_704_189_601.0)
    assert table(out) == {
        "plug/BME280.Temperature": (70.1, "°F"),
        "plug/BME280.DewPoint": (50.0, "°F"),
        "plug/BME280.Pressure": (29.9, "inHg"),
        "plug/BME280.Humidity": (40.0, "%"),
    }
    assert all(r.ts == 1_704_189_600.0 for r in out.readings)


def test_tasmota_swapped_fulltopic_names_the_device() -> None:
    out = run("plug/tele/SENSOR", {"ENERGY": {"Power": 5}})
    assert table(out) == {"plug/ENERGY.Power": (5.0, "W")}


def test_tasmota_zigbee_messages_become_their_own_devices() -> None:
    payload = {
        "ZbReceived": {
            "0x8F20": {"Device": "0x8F20", "Temperature": 21.5, "Endpoint": 1, "LinkQuality": 60}
        }
    }
    out = run("tele/zbbridge/SENSOR", payload)
    assert table(out) == {"0x8F20/Temperature": (21.5, "°C"), "0x8F20/LinkQuality": (60.0, None)}


def test_tasmota_zigbee_on_off_attributes_are_states() -> None:
    payload = {"ZbReceived": {"Plug": {"Device": "0x3C0E", "Power": 1, "Endpoint": 1}}}
    out = run("tele/zbbridge/SENSOR", payload)
    assert [(r.device, r.sensor, r.value, r.kind) for r in out.readings] == [
        ("Plug", "Power", 1.0, "state")
    ]


def test_tasmota_power_and_switches_are_states() -> None:
    out = run("tele/plug/STATE", {"POWER1": "ON", "POWER2": "OFF", "Switch1": "ON", "Mode": "11n"})
    assert [(r.sensor, r.value, r.kind) for r in out.readings] == [
        ("POWER1", 1.0, "state"),
        ("POWER2", 0.0, "state"),
        ("Switch1", 1.0, "state"),
    ]
    [r] = run("stat/plug/POWER", b"OFF").readings
    assert (r.device, r.sensor, r.value, r.kind) == ("plug", "POWER", 0.0, "state")


def test_tasmota_units_default_to_the_firmware_defaults_without_unit_words() -> None:
    out = run("tele/t/SENSOR", {"BME280": {"Temperature": 20.1, "Pressure": 1001.5}})
    assert table(out) == {
        "t/BME280.Temperature": (20.1, "°C"),
        "t/BME280.Pressure": (1001.5, "hPa"),
    }
    out = run("tele/t/SENSOR", {"BME280": {"Temperature": 68.2}, "TempUnit": "F"})
    assert table(out) == {"t/BME280.Temperature": (68.2, "°F")}


def test_tasmota_driver_units_gas_wind_analog_and_state() -> None:
    payload = {
        "BME680": {"Temperature": 21.0, "Gas": 112.57},
        "TX20": {"Speed": {"Act": 3.2, "Max": 5.0}, "Dir": {"Card": "N", "Deg": 22.5}},
        "ANALOG": {"A0": 512, "CTEnergy1": {"Energy": 0.1, "Power": 23.0}},
        "SpeedUnit": "km/h",
    }
    out = run("tele/w/SENSOR", payload)
    assert table(out) == {
        "w/BME680.Temperature": (21.0, "°C"),
        "w/BME680.Gas": (112.57, "kΩ"),
        "w/TX20.Speed.Act": (3.2, "km/h"),
        "w/TX20.Speed.Max": (5.0, "km/h"),
        "w/TX20.Dir.Deg": (22.5, "°"),
        "w/ANALOG.A0": (512.0, None),
        "w/ANALOG.CTEnergy1.Energy": (0.1, "kWh"),
        "w/ANALOG.CTEnergy1.Power": (23.0, "W"),
    }
    out = run("tele/p/STATE", {"LoadAvg": 19, "Heap": 121, "ENERGY": {"ApparentPower": 5}})
    assert table(out) == {
        "p/LoadAvg": (19.0, "%"),
        "p/Heap": (121.0, "kB"),
        "p/ENERGY.ApparentPower": (5.0, "VA"),
    }


def test_tasmota_bad_time_is_counted_once() -> None:
    out = run("tele/plug/SENSOR", {"Time": "1970-01-01T00:00:10", "A": 1, "B": 2})
    assert len(out.readings) == 2 and reasons(out) == ["clock_unsynced"]


# --- zigbee2mqtt ---------------------------------------------------------------------


def test_zigbee2mqtt_friendly_name_with_slash_and_its_standard_units() -> None:
    out = run("zigbee2mqtt/kitchen/sensor", {"temperature": 21.5, "occupancy": True})
    assert table(out) == {
        "kitchen_sensor/temperature": (21.5, "°C"),
        "kitchen_sensor/occupancy": (1.0, None),
    }
    assert [r.kind for r in out.readings] == ["number", "state"]


def test_zigbee2mqtt_voltage_is_mv_on_a_battery_device_and_v_on_a_meter() -> None:
    battery = run("zigbee2mqtt/door", {"battery": 90, "voltage": 3005, "linkquality": 80})
    assert table(battery) == {
        "door/battery": (90.0, "%"),
        "door/voltage": (3005.0, "mV"),
        "door/linkquality": (80.0, "lqi"),
    }
    plug = run("zigbee2mqtt/plug", {"power": 12.5, "voltage": 231, "state": "ON"})
    assert table(plug) == {
        "plug/power": (12.5, "W"),
        "plug/voltage": (231.0, "V"),
        "plug/state": (1.0, None),
    }


def test_zigbee2mqtt_bridge_topics_are_skipped() -> None:
    out = run("zigbee2mqtt/bridge/info", {"version": "1.35.0", "coordinator": {"ieee": 1}})
    assert out.readings == [] and out.errors == []


# --- shelly2 -------------------------------------------------------------------------


def test_shelly2_notify_status_uses_params_ts() -> None:
    payload = {
        "method": "NotifyStatus",
        "params": {"ts": 1_700_000_000.5, "switch:0": {"id": 0, "aenergy": {"total": 12.5}}},
    }
    out = run("shellyplus1pm-a1/events/rpc", payload, received=1_700_000_001.0)
    assert table(out) == {"shellyplus1pm-a1/switch:0.aenergy.total": (12.5, "Wh")}
    assert out.readings[0].ts == 1_700_000_000.5


def test_shelly2_notify_event_has_no_readings() -> None:
    out = run("shellyplus1pm-a1/events/rpc", {"method": "NotifyEvent", "params": {"ts": 1}})
    assert out.readings == [] and out.errors == []


# --- rtl_433 -------------------------------------------------------------------------


def test_rtl_433_device_and_suffix_units() -> None:
    payload = {
        "model": "Acurite-Tower",
        "id": 1234,
        "channel": "A",
        "battery_ok": 1,
        "temperature_C": 21.3,
        "wind_avg_m_s": 2.0,
        "mic": "CHECKSUM",
    }
    out = run("rtl_433/pi/events", payload)
    assert table(out) == {
        "Acurite-Tower_A_1234/battery_ok": (1.0, None),
        "Acurite-Tower_A_1234/temperature_C": (21.3, "°C"),
        "Acurite-Tower_A_1234/wind_avg_m_s": (2.0, "m/s"),
    }


# --- ttn -----------------------------------------------------------------------------


def test_ttn_decoded_payload_and_radio() -> None:
    payload = {
        "end_device_ids": {"device_id": "eui-1"},
        "received_at": "2024-01-02T10:00:00.123456789Z",
        "uplink_message": {
            "decoded_payload": {"temperature": 21.5},
            "rx_metadata": [{"rssi": -42, "snr": 9.5}],
        },
    }
    out = run("v3/app@ttn/devices/eui-1/up", payload, received=1_704_189_601.0)
    assert table(out) == {"eui-1/temperature": (21.5, "°C")}  # radio metadata: not a series
    assert math.isclose(out.readings[0].ts, 1_704_189_600.123456)
    radio = Route("test", "mqtt", radio=True)
    out = Normalizer().normalize(
        RawMessage(radio, "v3/app@ttn/devices/eui-1/up", json.dumps(payload).encode(), RECV)
    )
    assert table(out) == {
        "eui-1/temperature": (21.5, "°C"),
        "eui-1/radio.rssi": (-42.0, "dBm"),
        "eui-1/radio.snr": (9.5, "dB"),
    }


# --- omg -----------------------------------------------------------------------------


def test_omg_ble_device_is_the_mac() -> None:
    payload = {"id": "A4:C1:38:00:00:01", "tempc": 21.2, "hum": 45, "batt": 80, "mac_type": 0}
    out = run("home/gw/BTtoMQTT/A4C138000001", payload)
    assert table(out) == {
        "A4C138000001/tempc": (21.2, "°C"),
        "A4C138000001/hum": (45.0, "%"),
        "A4C138000001/batt": (80.0, "%"),
    }


def test_omg_system_status_is_the_gateway() -> None:
    out = run("home/gw/SYStoMQTT", {"uptime": 120, "mqttport": "1883", "version": "v1.7.0"})
    assert table(out) == {"gw/SYStoMQTT.uptime": (120.0, "s")}


def test_omg_decoded_ble_device_with_a_model_is_not_an_rtl_433_event() -> None:
    # OpenMQTTGateway docs/use/ble.md: Theengs-decoded devices carry `model` and `id`,
    # as rtl_433 events do; on a BTtoMQTT topic they are still OMG's BLE devices.
    payload = {"id": "58:78:20:76:BC:24", "mac_type": 1, "rssi": -79, "model": "iBeacon"}
    out = run("home/gw/BTtoMQTT/58782076BC24", payload)
    assert table(out) == {"58782076BC24/rssi": (-79.0, "dBm")}


def test_omg_servicedata_is_raw_hex_not_a_reading() -> None:
    # OpenMQTTGateway issue 412: servicedata "595753443032" is hex that is all digits.
    payload = {"id": "3F:59:C8:82:88:29", "rssi": -46, "servicedata": "595753443032"}
    out = run("home/gw/BTtoMQTT/3F59C8828829", payload)
    assert table(out) == {"3F59C8828829/rssi": (-46.0, "dBm")}


# --- properties ----------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(10**30), 10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12),
    lambda children: (
        st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5)
    ),
    max_leaves=30,
)
topics = st.sampled_from(
    [
        "tele/dev/SENSOR",
        "dev/tele/STATE",
        "zigbee2mqtt/a/b",
        "shelly/events/rpc",
        "shelly/status/switch:0",
        "rtl_433/x/events",
        "v3/a@t/devices/d/up",
        "home/gw/BTtoMQTT/AA",
        "esp/x",
    ]
)


def _check(outcome: Outcome) -> None:
    for r in outcome.readings:
        assert math.isfinite(r.value)
        assert len(r.series) <= 200


@settings(max_examples=150, deadline=None)
@given(topics, st.sampled_from(("auto", *FAMILIES)), json_values)
def test_json_families_never_raise_on_any_document(topic: str, fmt: str, doc: Any) -> None:
    outcome = run(topic, json.dumps(doc).encode(), fmt=fmt)
    assert all(e.reason != "parser_error" for e in outcome.errors)
    _check(outcome)


@settings(max_examples=150, deadline=None)
@given(topics, st.sampled_from(("auto", *FAMILIES)), st.binary(max_size=200))
def test_json_families_never_raise_on_any_bytes(topic: str, fmt: str, payload: bytes) -> None:
    outcome = run(topic, payload, fmt=fmt)
    assert all(e.reason != "parser_error" for e in outcome.errors)
    _check(outcome)


keys = st.text(st.characters(categories=("L", "N")), min_size=1, max_size=8).filter(
    lambda k: k not in {"time", "timestamp", "ts", "Time"}
)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)


@settings(max_examples=100, deadline=None)
@given(st.dictionaries(keys, st.dictionaries(keys, finite, min_size=1, max_size=4), max_size=4))
def test_json_round_trip_gives_every_number_back(doc: dict[str, dict[str, float]]) -> None:
    outcome = run("dev/s", doc, fmt="json")
    want = {f"dev/s/{a}.{b}": v for a, inner in doc.items() for b, v in inner.items()}
    assert {f"{r.device}/{r.sensor}": r.value for r in outcome.readings} == want
    assert outcome.errors == []


def test_json_does_not_claim_a_bom_prefixed_number() -> None:
    out = run("esp32/x", "\ufeff42 °C".encode())
    assert table(out) == {"esp32/x": (42.0, "°C")}


def test_json_claims_a_bom_prefixed_object() -> None:
    out = run("esp32/x", b'\xef\xbb\xbf {"v": 1}')
    assert table(out) == {"esp32/x/v": (1.0, None)}


# --- reading JSON: orjson first, the standard library for what orjson refuses ----------

_INT64 = st.integers(min_value=-(2**63), max_value=2**64 - 1)
_SCALARS = (
    st.none()
    | st.booleans()
    | _INT64
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=12)
)
_DOCUMENTS = st.recursive(
    _SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or (a == b and str(a) == str(b))
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=300)
@given(_DOCUMENTS, st.booleans())
def test_loads_reads_every_document_as_the_standard_library_does(doc: Any, spaced: bool) -> None:
    """NaN, Infinity and lone surrogates (which orjson refuses) included."""
    text = json.dumps(doc, indent=1 if spaced else None)
    assert _same(loads(text), json.loads(text))


@pytest.mark.parametrize(
    "text", ["{", "[1,]", "{'a': 1}", '{"a": 1} x', "tru", '"\\x"', "01", "1e400", "-Infinity"]
)
def test_loads_gives_the_standard_librarys_result_or_error(text: str) -> None:
    try:
        want: Any = ("ok", json.loads(text))
    except ValueError as exc:
        want = ("error", str(exc))
    try:
        got: Any = ("ok", loads(text))
    except ValueError as exc:
        got = ("error", str(exc))
    assert got == want


def test_loads_reads_an_integer_beyond_64_bits_as_the_nearest_float() -> None:
    assert loads("[18446744073709551616]") == [18446744073709551616.0]
    out = run("esp32/big", b'{"n": 123456789012345678901234567890}')
    assert table(out) == {"esp32/big/n": (1.2345678901234568e29, None)}


def _context_json(payload: bytes) -> tuple[str, Any]:
    ctx = Context(RawMessage(Route("b", "mqtt"), "t", payload, 1.0), None, None, State(), LIMITS)
    try:
        return "ok", ctx.json()
    except PayloadError as exc:
        return "refused", exc.reason


LIMITS = ParseLimits(max_json_depth=4)


@settings(max_examples=300)
@given(
    st.one_of(
        _DOCUMENTS.map(lambda doc: json.dumps(doc).encode()),
        _DOCUMENTS.map(lambda doc: json.dumps(doc, ensure_ascii=False).encode()),
        st.binary(max_size=40).map(lambda raw: b"{" + raw),
        st.sampled_from([b"[[[[[1]]]]]", b"[[[[1]]]]", b'{"a": "\xff"}', b"{}", b"[]", b"{,}"]),
    )
)
def test_context_reads_json_bytes_as_it_reads_the_decoded_text(payload: bytes) -> None:
    """A payload starting with `{` or `[` goes to orjson as bytes; one that starts
    with a blank goes through the decoded, stripped text: the same outcome, value or
    reason (not_utf8, json_too_deep, bad_json)."""
    got, want = _context_json(payload), _context_json(b" " + payload)
    assert got[0] == want[0]
    if got[0] == "ok":
        assert _same(got[1], want[1])
    else:
        assert got[1] == want[1]
