"""Device availability messages: each firmware's words, and what they change."""

from __future__ import annotations

import pytest

from telemetry.config import Config
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
