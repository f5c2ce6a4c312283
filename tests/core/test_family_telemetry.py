"""The `telemetry` family: another instance's republished readings (the wire contract)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry.config import Subscription
from telemetry.model import Outcome, RawMessage, Route
from telemetry.normalize import Normalizer, registry
from telemetry.normalize.timestamps import ClockPolicy

NOW = 1_800_000_000.0
CENTRAL = Subscription("telemetry/+/#", format="telemetry").route("central")


def normalize(
    payload: Any,
    topic: str = "telemetry/greenhouse/bme280/temperature",
    route: Route = CENTRAL,
    now: float = NOW,
) -> Outcome:
    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return Normalizer().normalize(RawMessage(route, topic, raw, now))


def readings(out: Outcome) -> list[tuple[str, str, float, str | None, float, bool, str]]:
    return [(r.device, r.sensor, r.value, r.unit, r.ts, r.device_ts, r.kind) for r in out.readings]


def reasons(out: Outcome) -> list[str]:
    return [e.reason for e in out.errors]


def test_telemetry_reading_keeps_value_unit_time_and_kind() -> None:
    out = normalize({"v": 21.5, "u": "°C", "ts": NOW - 2.125, "kind": "number"})
    assert readings(out) == [
        ("greenhouse", "bme280/temperature", 21.5, "°C", NOW - 2.125, True, "number")
    ]
    assert out.errors == []


def test_telemetry_site_name_is_the_device_and_its_series_id_the_sensor() -> None:
    out = normalize({"v": 1, "u": None, "ts": NOW, "kind": "state"}, "telemetry/garage/door/open")
    (reading,) = out.readings
    assert reading.series == "garage/door/open"
    assert (reading.value, reading.unit, reading.kind) == (1.0, None, "state")


def test_telemetry_sensor_keeps_every_level_of_the_site_series() -> None:
    out = normalize({"v": 3, "ts": NOW}, "telemetry/plug/shelly1/emeter/0/power")
    assert [r.series for r in out.readings] == ["plug/shelly1/emeter/0/power"]


def test_telemetry_old_device_time_is_kept_as_the_bridge_replays_it() -> None:
    """A bridge that was down for an hour delivers its queue late: the readings keep
    their own time, far past max_clock_skew, and nothing is counted."""
    out = normalize({"v": 5, "u": "W", "ts": NOW - 3600, "kind": "number"})
    assert [(r.ts, r.device_ts) for r in out.readings] == [(NOW - 3600, True)]
    assert out.errors == []


@pytest.mark.parametrize(
    ("ts", "reason"),
    [(NOW + 3600, "clock_ahead"), (100.0, "clock_unsynced"), ("yesterday", "bad_time")],
)
def test_telemetry_time_ahead_or_absurd_falls_back_to_receive_time(ts: Any, reason: str) -> None:
    out = normalize({"v": 5, "ts": ts})
    assert [(r.ts, r.device_ts) for r in out.readings] == [(NOW, False)]
    assert reasons(out) == [reason]


def test_telemetry_missing_time_is_the_receive_time_without_a_rejection() -> None:
    out = normalize({"v": 5})
    assert [(r.ts, r.device_ts, r.kind) for r in out.readings] == [(NOW, False, "number")]
    assert out.errors == []


def test_telemetry_receive_time_route_ignores_the_stated_time() -> None:
    route = Subscription("telemetry/#", format="telemetry", time="receive").route("c")
    out = normalize({"v": 5, "ts": NOW - 10}, route=route)
    assert [(r.ts, r.device_ts) for r in out.readings] == [(NOW, False)]


def test_telemetry_unknown_keys_are_ignored() -> None:
    out = normalize({"v": 2, "u": "V", "ts": NOW, "kind": "number", "q": "good", "x": [1]})
    assert readings(out) == [("greenhouse", "bme280/temperature", 2.0, "V", NOW, True, "number")]
    assert out.errors == []


@pytest.mark.parametrize(
    ("payload", "reason"),
    [
        (b"21.5", "not_an_object"),
        (b"[1, 2]", "not_an_object"),
        (b"{not json", "bad_json"),
        (b"", "empty"),
        (b"\xff\xfe", "not_utf8"),
        ({"u": "W", "ts": NOW}, "no_value"),
        ({"v": None}, "not_a_number"),
        ({"v": "warm"}, "not_a_number"),
        ({"v": True}, "not_a_number"),
        (b'{"v": NaN}', "not_finite"),
        (b'{"v": 1e999}', "not_finite"),
        ({"v": 1, "kind": "text"}, "bad_kind"),
        ({"v": 1, "kind": None}, "bad_kind"),
        ({"v": 1, "kind": ["state"]}, "bad_kind"),
        ({"v": 1, "kind": {"a": 1}}, "bad_kind"),
        ({"v": 0.5, "kind": "state"}, "not_a_state"),
        ({"v": True, "kind": "state"}, "not_a_state"),
        ({"v": 1, "u": 5}, "bad_unit"),
    ],
)
def test_telemetry_malformed_payload_is_a_counted_rejection(payload: Any, reason: str) -> None:
    out = normalize(payload)
    assert out.readings == []
    assert reasons(out) == [reason]
    assert all(e.detail for e in out.errors)


def test_telemetry_status_topic_is_the_site_availability_not_a_sensor() -> None:
    normalizer = Normalizer()
    for word, online in (("online", True), ("offline", False)):
        msg = RawMessage(CENTRAL, "telemetry/greenhouse/status", word.encode(), NOW)
        out = normalizer.normalize(msg)
        assert out.readings == []
        assert out.errors == []
        assert [(a.device, a.online) for a in out.availability] == [("greenhouse", online)]


def test_telemetry_status_topic_with_another_word_is_a_counted_rejection() -> None:
    out = normalize(b"rebooting", "telemetry/greenhouse/status")
    assert (out.readings, out.availability, reasons(out)) == ([], [], ["bad_availability"])


def test_telemetry_prefix_goes_before_the_site_name_for_readings_and_availability() -> None:
    route = Subscription("telemetry/+/#", format="telemetry", prefix="farm-").route("c")
    out = normalize({"v": 1, "ts": NOW}, route=route)
    assert [r.series for r in out.readings] == ["farm-greenhouse/bme280/temperature"]
    out = normalize(b"online", "telemetry/greenhouse/status", route=route)
    assert [a.device for a in out.availability] == ["farm-greenhouse"]


def test_telemetry_custom_prefix_needs_its_template() -> None:
    """An output with `prefix = "farm/north/greenhouse"`: the template says where the
    site's name is."""
    route = Subscription(
        "farm/#", format="telemetry", template="farm/north/{device}/{sensor...}"
    ).route("c")
    out = normalize({"v": 1, "ts": NOW}, "farm/north/greenhouse/bme280/humidity", route=route)
    assert [r.series for r in out.readings] == ["greenhouse/bme280/humidity"]
    out = normalize(b"offline", "farm/north/greenhouse/status", route=route)
    assert [(a.device, a.online) for a in out.availability] == [("greenhouse", False)]


def test_telemetry_view_reads_what_ingest_instances_republished_under_their_prefixes() -> None:
    """deploy/README.md's second topology: ingest-N republishes the sites' series under
    views/ingest-N; a view's template skips that level, the series stay the sites'."""
    route = Subscription(
        "views/+/#", format="telemetry", template="views/{ignore}/{device}/{sensor...}"
    ).route("v")
    topics = ["views/ingest-1/greenhouse/bme280/temperature", "views/ingest-2/garage/door/open"]
    out = [normalize({"v": 1, "ts": NOW}, topic, route=route) for topic in topics]
    assert [r.series for o in out for r in o.readings] == [
        "greenhouse/bme280/temperature",
        "garage/door/open",
    ]


def test_telemetry_topic_without_a_sensor_level_is_refused() -> None:
    out = normalize({"v": 1}, "telemetry/greenhouse")
    assert reasons(out) == ["topic_mismatch"]


def test_telemetry_is_never_chosen_by_auto() -> None:
    assert "telemetry" not in {f.name for f in registry.auto("mqtt")}
    assert "telemetry" in {f.name for f in registry.FAMILIES}
    auto = Route("c", "mqtt", "auto", template="telemetry/{device}/{sensor...}")
    out = normalize({"v": 1, "ts": NOW}, route=auto)
    assert {r.sensor for r in out.readings} != {"bme280/temperature"}


@given(
    value=st.floats(allow_nan=False, allow_infinity=False),
    unit=st.none() | st.sampled_from(["°C", "%", "W", "kWh", "hPa", "ppm", "µg/m³"]),
    age=st.floats(min_value=0.0, max_value=30 * 86400.0),
)
def test_telemetry_reads_back_what_the_contract_writes(
    value: float, unit: str | None, age: float
) -> None:
    ts = round(NOW - age, 3)
    out = normalize({"v": value, "u": unit, "ts": ts, "kind": "number"})
    assert readings(out) == [("greenhouse", "bme280/temperature", value, unit, ts, True, "number")]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)


@given(
    st.dictionaries(
        st.sampled_from(["v", "u", "ts", "kind", "x"]) | st.text(max_size=4), JSON, max_size=6
    )
)
def test_telemetry_any_object_is_a_reading_or_a_counted_reason_never_a_bug(
    document: dict[str, Any],
) -> None:
    out = normalize(json.dumps(document).encode())
    assert "parser_error" not in reasons(out)
    assert len(out.readings) + len(out.errors) >= 1
    for reading in out.readings:
        assert reading.kind in ("number", "state")
        assert reading.series.startswith("greenhouse/bme280/temperature")


def test_telemetry_skew_limit_still_bounds_times_ahead() -> None:
    normalizer = Normalizer(clock=ClockPolicy(max_skew=5.0))
    payload = json.dumps({"v": 1, "ts": NOW + 6}).encode()
    out = normalizer.normalize(RawMessage(CENTRAL, "telemetry/a/b/c", payload, NOW))
    assert reasons(out) == ["clock_ahead"]
    payload = json.dumps({"v": 1, "ts": NOW - 86400}).encode()
    out = normalizer.normalize(RawMessage(CENTRAL, "telemetry/a/b/c", payload, NOW))
    assert [r.ts for r in out.readings] == [NOW - 86400] and out.errors == []
