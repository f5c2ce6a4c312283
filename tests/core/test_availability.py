"""Device availability messages: each firmware's words, and what they change."""

from __future__ import annotations

import json

import pytest

from telemetry.config import Config, LimitsConfig, ServerConfig
from telemetry.hub import Hub
from telemetry.model import RawMessage, Route
from telemetry.normalize import Normalizer
from telemetry.normalize.availability import UNCHANGED, parse_availability
from telemetry.pipeline import Pipeline


@pytest.mark.parametrize(
    ("level", "payload", "expected"),
    [
        ("LWT", b"Online", True),
        ("LWT", b"Offline", False),
        ("availability", b"online", True),
        ("availability", b'{"state":"offline"}', False),
        ("availability", b'{"state": "online"}', True),
        ("$state", b"ready", True),
        ("$state", b"lost", False),
        ("$state", b"disconnected", False),
        ("$state", b"sleeping", False),
        ("$state", b"init", UNCHANGED),
        ("status", b"online", True),
        ("status", b"offline", False),
        ("online", b"true", True),
        ("online", b"false", False),
    ],
)
def test_availability_words_of_each_firmware(
    level: str, payload: bytes, expected: bool | str
) -> None:
    assert parse_availability(level, payload) == expected


@pytest.mark.parametrize(
    ("level", "payload"),
    [
        ("LWT", b"21.5"),
        ("status", b"\xff"),
        ("availability", b"{not json"),
        ("availability", b'{"state": 1}'),
        ("temperature", b"online"),
        ("LWT", b"online" * 20),
    ],
)
def test_availability_other_payloads_are_data_not_availability(level: str, payload: bytes) -> None:
    assert parse_availability(level, payload) is None


ROUTE = Route("home", "mqtt", "auto", template="tele/{device}/{sensor}")


def _message(topic: str, payload: bytes) -> RawMessage:
    return RawMessage(ROUTE, topic, payload, 100.0)


def test_normalizer_turns_a_last_will_into_availability_not_an_error() -> None:
    outcome = Normalizer().normalize(_message("tele/kitchen/LWT", b"Offline"))
    assert outcome.readings == [] and outcome.errors == []
    ((device, online),) = [(a.device, a.online) for a in outcome.availability]
    assert (device, online) == ("kitchen", False)


def test_normalizer_reads_a_sensor_called_status_as_data_when_it_is_a_number() -> None:
    outcome = Normalizer().normalize(_message("tele/pump/status", b"3"))
    assert [r.value for r in outcome.readings] == [3.0]
    assert outcome.availability == []


def test_pipeline_reports_each_availability_change_once() -> None:
    pipeline = Pipeline(Config())
    pipeline.ingest([_message("tele/kitchen/LWT", b"Online")])
    pipeline.ingest([_message("tele/kitchen/LWT", b"Online")])  # retained, sent again
    first = pipeline.take_tick()
    assert [(a.device, a.online) for a in first.availability.values()] == [("kitchen", True)]
    pipeline.ingest([_message("tele/kitchen/LWT", b"Offline")])
    second = pipeline.take_tick()
    assert [(a.device, a.online) for a in second.availability.values()] == [("kitchen", False)]
    assert pipeline.devices["kitchen"].online is False
    assert pipeline.take_tick().availability == {}


@pytest.mark.parametrize("topic", ["homie/boiler/$state", "homie/5/boiler/$state"])
def test_homie_state_names_the_device_without_a_template(topic: str) -> None:
    outcome = Normalizer().normalize(RawMessage(Route("home", "mqtt"), topic, b"lost", 1.0))
    assert [(a.device, a.online) for a in outcome.availability] == [("boiler", False)]


@pytest.mark.parametrize(
    ("route", "topic", "reason"),
    [
        (ROUTE, f"tele/{'k' * 30_000}/LWT", "id_too_long"),
        (ROUTE, f"tele/{'k' * 21}/LWT", "id_too_long"),  # one over the limit
        (ROUTE, "tele/ /LWT", "no_name"),
        (ROUTE, "tele/k\ud800/LWT", "bad_name"),
        (Route("home", "mqtt"), f"homie/{'k' * 21}/$state", "id_too_long"),
        (Route("home", "mqtt"), f"{'k' * 21}/status", "id_too_long"),
    ],
)
def test_normalizer_refuses_an_availability_device_name_as_it_would_a_series_name(
    route: Route, topic: str, reason: str
) -> None:
    payload = b"ready" if topic.endswith("$state") else b"online"
    outcome = Normalizer(max_id_length=20).normalize(RawMessage(route, topic, payload, 1.0))
    assert outcome.availability == [] and outcome.readings == []
    assert [e.reason for e in outcome.errors] == [reason]
    assert len(outcome.errors[0].detail) < 300


def test_normalizer_keeps_an_availability_device_name_at_the_limit() -> None:
    outcome = Normalizer(max_id_length=20).normalize(_message(f"tele/{'k' * 20}/LWT", b"Online"))
    assert [(a.device, a.online) for a in outcome.availability] == [("k" * 20, True)]


def test_pipeline_counts_long_availability_names_and_keeps_none_of_them() -> None:
    pipeline = Pipeline(Config())
    long_names = [
        RawMessage(ROUTE, f"tele/{i}{'x' * 30_000}/LWT", b"Online", 1.0) for i in range(150)
    ]
    pipeline.ingest([*long_names, _message("tele/kitchen/LWT", b"Online")])
    assert list(pipeline.devices) == ["kitchen"]
    assert list(pipeline.take_tick().availability) == ["kitchen"]
    assert pipeline.rejected["id_too_long"] == 150
    assert pipeline.rejected_by_source["home", "id_too_long"] == 150


def test_hub_catalog_of_a_new_stream_carries_no_refused_device_name() -> None:
    pipeline = Pipeline(Config())
    hub = Hub(pipeline, ServerConfig(), LimitsConfig())
    pipeline.ingest(
        [RawMessage(ROUTE, f"tele/{i}{'x' * 30_000}/LWT", b"Online", 1.0) for i in range(150)]
    )
    pipeline.ingest([_message("tele/kitchen/LWT", b"Offline")])
    hub.publish(pipeline.take_tick())
    client = hub.connect("10.0.0.1", None)
    assert not isinstance(client, str)
    opening = hub.opening(client, None)
    assert b"xxxx" not in opening and len(opening) < 4096
    (catalog,) = [line for line in opening.split(b"\n") if b'"devices"' in line]
    devices = json.loads(catalog.removeprefix(b"data: "))["devices"]
    assert [(d["device"], d["online"]) for d in devices] == [("kitchen", False)]


def test_pipeline_remembers_at_most_max_series_devices_and_counts_the_rest() -> None:
    pipeline = Pipeline(Config(limits=LimitsConfig(max_series=3)))
    pipeline.ingest([_message(f"tele/d{i}/LWT", b"Online") for i in range(5)])
    assert list(pipeline.devices) == ["d0", "d1", "d2"]
    assert pipeline.rejected["device_limit"] == 2
    pipeline.ingest([_message("tele/d1/LWT", b"Offline")])  # a known device still changes
    assert pipeline.devices["d1"].online is False


@pytest.mark.parametrize(
    ("route", "topic", "device"),
    [
        (Route("h", "mqtt"), "zigbee2mqtt/kitchen/availability", "kitchen"),
        (Route("h", "mqtt"), "zigbee2mqtt/kitchen/floor/availability", "kitchen_floor"),
        (
            Route("h", "mqtt", template="zigbee2mqtt/{device}"),
            "zigbee2mqtt/lamp/availability",
            "lamp",
        ),
        (Route("h", "mqtt", "json"), "zb/lamp/availability", "lamp"),
        (Route("h", "mqtt", template="zb/{device}/{sensor...}"), "zb/lamp/availability", "lamp"),
        (Route("h", "mqtt", template="tele/{device}/SENSOR"), "tele/plug/LWT", "plug"),
        (Route("h", "mqtt"), "tele/plug/LWT", "plug"),
        (Route("h", "mqtt"), "shellies/shelly1-AB/online", "shelly1-AB"),
        (Route("h", "mqtt"), "livingroom/status", "livingroom"),
    ],
)
def test_availability_names_its_device_whatever_the_template(
    route: Route, topic: str, device: str
) -> None:
    for payload in (b'{"state":"offline"}', b"offline", b"Offline", b"false"):
        outcome = Normalizer().normalize(RawMessage(route, topic, payload, 1.0))
        if outcome.availability:
            break
    assert outcome.readings == [] and outcome.errors == []
    assert [(a.device, a.online) for a in outcome.availability] == [(device, False)]


def test_zigbee2mqtt_availability_makes_no_device_of_its_own_in_telemetry_parse() -> None:
    from telemetry.config import parse_config  # noqa: PLC0415
    from telemetry.parsetool import ParseTool  # noqa: PLC0415

    config = parse_config(
        '[[mqtt]]\nurl = "mqtt://127.0.0.1"\n[[mqtt.subscribe]]\ntopic = "zigbee2mqtt/#"\n'
        'format = "json"\n',
        env={},
    )
    tool = ParseTool(config)
    for payload in ('{"state":"online"}', "online", '{"state":"offline"}'):
        line = json.dumps(
            {"transport": "mqtt", "topic": "zigbee2mqtt/kitchen/availability", "payload": payload}
        )
        assert tool.run_line(line, 1) == {"readings": [], "errors": []}
