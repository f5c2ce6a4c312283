"""`telemetry parse`: JSON lines in, one JSON line of readings and errors out per line."""

from __future__ import annotations

import base64
import datetime as dt
import json
import time
import zoneinfo
from collections.abc import Callable
from typing import Any

import pytest

from telemetry.config import Config, parse_config
from telemetry.parsetool import ParseTool

CONFIG = """
[[mqtt]]
name = "home"
url = "mqtt://127.0.0.1"
[[mqtt.subscribe]]
topic = "tele/+/SENSOR"
template = "tele/{device}/SENSOR"
format = "number"
[[mqtt.subscribe]]
topic = "garden/#"
template = "garden/{sensor...}"
device = "garden"

[[serial]]
name = "bench"
port = "/dev/ttyACM0"
"""


def run(*items: dict[str, Any] | str, config: Config | None = None) -> list[dict[str, Any]]:
    lines = [item if isinstance(item, str) else json.dumps(item) for item in items]
    out = list(ParseTool(config or Config()).run(lines))
    assert len(out) == len(lines)
    parsed = [json.loads(line) for line in out]
    for line, result in zip(out, parsed, strict=True):
        assert "\n" not in line
        assert set(result) == {"readings", "errors"}
    return parsed


def mqtt(topic: str, payload: str) -> dict[str, Any]:
    return {"transport": "mqtt", "topic": topic, "payload": payload}


def test_parse_gives_one_line_per_input_line_in_order() -> None:
    out = run(mqtt("kitchen/temp", "21.5 °C"), mqtt("hall/temp", "19"), mqtt("a/b", "nan"))
    assert out[0] == {
        "readings": [
            {"device": "kitchen", "sensor": "temp", "value": 21.5, "unit": "°C", "timestamp": None}
        ],
        "errors": [],
    }
    assert out[1]["readings"][0]["device"] == "hall"
    assert out[2] == {"readings": [], "errors": ["not_a_number: 'nan' is not a number"]}


def test_parse_reading_has_exactly_the_contract_fields() -> None:
    (out,) = run(mqtt("kitchen/temp", "1"))
    (reading,) = out["readings"]
    assert set(reading) == {"device", "sensor", "value", "unit", "timestamp"}


@pytest.mark.parametrize(
    ("line", "error"),
    [
        ("{not json", "input line 1: Expecting property name enclosed in double quotes"),
        ("", "input line 1: Expecting value"),
        ("[1, 2]", "input line 1: expected a JSON object"),
        ('{"transport": "mqtt", "topic": "a/b"}', 'input line 1: expected "payload"'),
        ('{"transport": "mqtt", "payload": "1"}', 'input line 1: expected "topic"'),
        ('{"transport": "mqtt", "topic": "", "payload": "1"}', 'input line 1: expected "topic"'),
        ('{"transport": "serial", "payload": "1"}', 'input line 1: expected "port"'),
        (
            '{"transport": "lora", "topic": "a", "payload": "1"}',
            'input line 1: expected "transport"',
        ),
        ('{"topic": "a/b", "payload": "1"}', 'input line 1: expected "transport"'),
        ('{"transport": "mqtt", "topic": "a/b", "payload": 1}', 'input line 1: expected "payload"'),
        (
            '{"transport": "mqtt", "topic": "a/b", "payload_b64": "!!"}',
            "input line 1: payload_b64 is not base64",
        ),
    ],
)
def test_parse_bad_input_line_gives_an_error_not_an_exception(line: str, error: str) -> None:
    (out,) = run(line)
    assert out["readings"] == []
    (message,) = out["errors"]
    assert message.startswith(error)


def test_parse_bad_line_does_not_stop_the_lines_after_it() -> None:
    out = run("{oops", mqtt("a/b", "1"))
    assert out[0]["errors"][0].startswith("input line 1: ")
    assert out[1]["readings"][0]["value"] == 1.0


def test_parse_error_names_the_input_line_number() -> None:
    out = run(mqtt("a/b", "1"), mqtt("a/b", "2"), "[]")
    assert out[2]["errors"] == ["input line 3: expected a JSON object"]


def test_parse_payload_b64_carries_raw_bytes() -> None:
    good = base64.b64encode("\ufeff42 °C".encode()).decode()
    bad = base64.b64encode(b"\xff\xfe").decode()
    out = run(
        {"transport": "mqtt", "topic": "a/b", "payload_b64": good},
        {"transport": "mqtt", "topic": "a/b", "payload_b64": bad},
    )
    assert [(r["value"], r["unit"]) for r in out[0]["readings"]] == [(42.0, "°C")]
    assert out[1] == {"readings": [], "errors": ["not_utf8: byte 0 is not UTF-8"]}


@pytest.mark.parametrize("value", [None, 1234, True])
def test_parse_payload_b64_that_is_not_a_string_is_refused(value: object) -> None:
    (out,) = run({"transport": "mqtt", "topic": "a/b", "payload_b64": value})
    assert out["readings"] == []
    (message,) = out["errors"]
    assert message.startswith("input line 1: payload_b64 ")


def test_parse_serial_payload_with_several_lines_gives_several_readings() -> None:
    (out,) = run({"transport": "serial", "port": "bench", "payload": "21.5\r\n21.7\n\n22 °C\r"})
    assert [(r["device"], r["sensor"], r["value"], r["unit"]) for r in out["readings"]] == [
        ("bench", "value", 21.5, None),
        ("bench", "value", 21.7, None),
        ("bench", "value", 22.0, "°C"),
    ]
    assert out["errors"] == []


def test_parse_serial_line_errors_are_listed_with_the_good_readings() -> None:
    (out,) = run({"transport": "serial", "port": "bench", "payload": "1\nnan\n2"})
    assert [r["value"] for r in out["readings"]] == [1.0, 2.0]
    assert out["errors"] == ["not_a_number: 'nan' is not a number"]


def test_parse_config_subscription_template_routes_the_topic() -> None:
    config = parse_config(CONFIG, env={})
    out = run(
        mqtt("tele/kitchen/SENSOR", "21.5"),
        mqtt("garden/soil/moisture", "40 %"),
        mqtt("other/thing", "1"),
        config=config,
    )
    assert [(r["device"], r["sensor"]) for r in out[0]["readings"]] == [("kitchen", "value")]
    assert [(r["device"], r["sensor"], r["unit"]) for r in out[1]["readings"]] == [
        ("garden", "soil/moisture", "%")
    ]
    assert [(r["device"], r["sensor"]) for r in out[2]["readings"]] == [("other", "thing")]


def test_parse_config_serial_port_path_names_the_configured_device() -> None:
    config = parse_config(CONFIG, env={})
    (out,) = run({"transport": "serial", "port": "/dev/ttyACM0", "payload": "7"}, config=config)
    assert out["readings"][0]["device"] == "bench"


def test_parse_respects_the_configured_payload_limit() -> None:
    config = parse_config("[limits]\nmax_payload = 16\n", env={})
    (out,) = run(mqtt("a/b", "1" * 17), config=config)
    assert out["readings"] == []
    assert out["errors"][0].startswith("payload_too_large: ")


def test_parse_deeply_nested_json_line_gives_an_error() -> None:
    (out,) = run("[" * 100_000 + "]" * 100_000)
    assert out["readings"] == []
    assert len(out["errors"]) == 1


def test_parse_output_is_always_utf8_text() -> None:
    (line,) = ParseTool(Config()).run(
        ['{"transport": "mqtt", "topic": "\\ud800/t", "payload": "1"}']
    )
    line.encode("utf-8")


OVERLAPPING = """
[[mqtt]]
name = "home"
url = "mqtt://127.0.0.1"
[[mqtt.subscribe]]
topic = "tele/#"
format = "auto"
[[mqtt.subscribe]]
topic = "tele/+/SENSOR"
template = "tele/{device}/SENSOR"
format = "auto"
"""


def test_parse_topic_under_overlapping_subscriptions_is_read_by_the_first_that_matches() -> None:
    config = parse_config(OVERLAPPING, env={})
    out = run(mqtt("tele/kitchen/SENSOR", "22"), mqtt("tele/kitchen/temp", "21.5"), config=config)

    # The first subscription, in config order, that receives the topic reads it,
    # as the server does: `tele/#` comes first here, so it takes both.
    assert [(r["device"], r["sensor"], r["value"]) for r in out[0]["readings"]] == [
        ("tele", "kitchen/SENSOR", 22.0),
    ]
    assert [(r["device"], r["sensor"]) for r in out[1]["readings"]] == [("tele", "kitchen/temp")]


def test_parse_takes_the_routes_of_the_first_broker_whose_subscriptions_receive_the_topic() -> None:
    config = parse_config(
        CONFIG + '\n[[mqtt]]\nname = "cloud"\nurl = "mqtt://127.0.0.2"\n'
        '[[mqtt.subscribe]]\ntopic = "#"\nformat = "number"\n'
        '[[mqtt.subscribe]]\ntopic = "cloud/#"\ntemplate = "cloud/{device}/{sensor}"\n',
        env={},
    )
    out = run(mqtt("tele/kitchen/SENSOR", "1"), mqtt("cloud/pump/flow", "2"), config=config)
    assert [(r["device"], r["sensor"]) for r in out[0]["readings"]] == [("kitchen", "value")]
    assert [(r["device"], r["sensor"]) for r in out[1]["readings"]] == [("cloud", "pump/flow")]


TASMOTA = """
[[mqtt]]
url = "mqtt://127.0.0.1"
[[mqtt.subscribe]]
topic = "tele/+/SENSOR"
template = "tele/{device}/SENSOR"
"""


def _tasmota(when: float, zone: str) -> dict[str, Any]:
    """A Tasmota SENSOR message whose `Time` is `when` on a clock set to `zone`."""
    local = dt.datetime.fromtimestamp(when, zoneinfo.ZoneInfo(zone))
    stamp = local.replace(tzinfo=None).isoformat(timespec="seconds")
    payload = {"Time": stamp, "AM2301": {"Temperature": 21.4, "Humidity": 48.1}, "TempUnit": "C"}
    return mqtt("tele/kitchen/SENSOR", json.dumps(payload))


def test_parse_reads_a_tasmota_time_in_the_zone_of_the_machine(
    machine_zone: Callable[[str], None],
) -> None:
    machine_zone("America/New_York")
    now = float(int(time.time()))
    (out,) = run(_tasmota(now, "America/New_York"), config=parse_config(TASMOTA, env={}))
    assert out["errors"] == []
    assert [(r["sensor"], r["timestamp"]) for r in out["readings"]] == [
        ("AM2301.Temperature", now),
        ("AM2301.Humidity", now),
    ]


def test_parse_counts_a_device_clock_five_hours_behind_and_keeps_the_receive_time(
    machine_zone: Callable[[str], None],
) -> None:
    # A Tasmota in New York whose time is read on a machine set to UTC.
    machine_zone("UTC")
    now = time.time()
    (out,) = run(_tasmota(now, "America/New_York"), config=parse_config(TASMOTA, env={}))
    assert [e.split(":")[0] for e in out["errors"]] == ["clock_behind"]
    assert [(r["value"], r["timestamp"]) for r in out["readings"]] == [(21.4, None), (48.1, None)]


def test_parse_received_replays_a_capture_at_its_own_time() -> None:
    payload = '{"time": "2024-05-01T12:00:00Z", "t": 21.5}'
    item = {"transport": "serial", "port": "bench", "payload": payload}
    at = dt.datetime(2024, 5, 1, 12, 0, 1, tzinfo=dt.UTC).timestamp()
    replayed, iso, today = run(
        {**item, "received": at}, {**item, "received": "2024-05-01T12:00:01Z"}, item
    )
    assert replayed["readings"][0]["timestamp"] == at - 1
    assert iso == replayed
    assert today["readings"][0]["timestamp"] is None
    assert [e.split(":")[0] for e in today["errors"]] == ["clock_behind"]


@pytest.mark.parametrize(
    ("received", "error"),
    [
        ("yesterday", "is not an ISO 8601 time"),
        ("2024-05-01T12:00:00", "has no time zone"),
        (True, "must be epoch seconds"),
        (-1, "is not a time in epoch seconds"),
    ],
)
def test_parse_refuses_a_received_time_it_cannot_read(received: object, error: str) -> None:
    (out,) = run({"transport": "serial", "port": "bench", "payload": "1", "received": received})
    assert out["readings"] == [] and error in out["errors"][0]


def test_parse_time_receive_ignores_the_device_clock() -> None:
    config = parse_config(
        TASMOTA + 'time = "receive"\n[[serial]]\nname = "gps"\nport = "/dev/ttyUSB0"\n'
        'time = "receive"\n',
        env={},
    )
    rmc = "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A"
    tasmota, serial = run(
        _tasmota(time.time() - 5 * 3600, "UTC"),
        {"transport": "serial", "port": "gps", "payload": rmc},
        config=config,
    )
    assert tasmota["errors"] == [] and serial["errors"] == []
    assert {r["timestamp"] for r in tasmota["readings"] + serial["readings"]} == {None}


def test_parse_prefix_goes_before_the_device_names_of_its_subscription_or_port() -> None:
    config = parse_config(
        TASMOTA + 'prefix = "attic-"\n[[serial]]\nname = "bench"\nport = "/dev/ttyUSB0"\n'
        'prefix = "lab."\n',
        env={},
    )
    tasmota, serial = run(
        _tasmota(time.time(), "UTC"),
        {"transport": "serial", "port": "bench", "payload": "21.5"},
        config=config,
    )
    assert {r["device"] for r in tasmota["readings"]} == {"attic-kitchen"}
    assert [r["device"] for r in serial["readings"]] == ["lab.bench"]
