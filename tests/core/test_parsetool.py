"""`telemetry parse`: JSON lines in, one JSON line of readings and errors out per line."""

from __future__ import annotations

import base64
import json
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
