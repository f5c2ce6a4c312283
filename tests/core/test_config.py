"""The TOML configuration: what loads, and the one-line problems for what does not."""

from __future__ import annotations

from pathlib import Path

import pytest

import telemetry
from telemetry.config import Config, FilterSpec, PageConfig, load_config, parse_config
from telemetry.errors import ConfigError

EXAMPLE = Path(telemetry.__file__).parent / "example-config.toml"

BROKER = """
[[mqtt]]
url = "mqtt://127.0.0.1"
[[mqtt.subscribe]]
topic = "tele/+/SENSOR"
template = "tele/{device}/SENSOR"
"""


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={} if env is None else env)
    return info.value.problems


def broker(url: str = "mqtt://127.0.0.1", extra: str = "", sub: str = 'topic = "a/#"') -> str:
    return f'[[mqtt]]\nurl = "{url}"\n{extra}\n[[mqtt.subscribe]]\n{sub}\n'


def test_example_config_loads_with_its_password_from_the_environment() -> None:
    config = load_config(EXAMPLE, env={"MQTT_PASSWORD": "hunter2"})
    assert config.server.host == "127.0.0.1"
    assert config.server.port == 8000
    assert config.server.tick == pytest.approx(0.1)
    assert config.server.ping == 15.0
    (home,) = config.mqtt
    assert (home.name, home.host, home.port, home.tls) == ("home", "127.0.0.1", 1883, False)
    assert (home.username, home.password) == ("pi", "hunter2")
    assert [s.topic for s in home.subscribe] == [
        "sensors/+/+",
        "tele/+/+",
        "telegraf/#",
        "garden/#",
    ]
    assert home.subscribe[1].timezone == "Europe/Berlin"
    assert (home.subscribe[2].format, home.subscribe[2].precision) == ("influx", "s")
    assert home.subscribe[3].device == "garden"
    assert home.subscribe[3].qos == 1
    (bench,) = config.serial
    assert (bench.name, bench.baudrate, bench.parity) == ("bench", 115200, "N")
    rule, junk = config.series
    assert rule.match == "bench/*"
    assert rule.unit == "°C"
    assert (rule.name, rule.chart, rule.hide, rule.drop) == (
        "Bench temperature",
        "Bench",
        False,
        False,
    )
    assert (junk.match, junk.drop) == ("*/linkquality", True)
    assert config.page == PageConfig("1h", ("bench/*", "*/power"), "quantity")
    assert rule.filters == (
        FilterSpec("offset", -0.4),
        FilterSpec("clamp", [-40, 85]),
        FilterSpec("throttle", "1s"),
        FilterSpec("stale", "5m"),
    )
    assert config.history.rollups == (
        (10.0, 3600.0),
        (60.0, 6 * 3600.0),
        (240.0, 86400.0),
        (7200.0, 30 * 86400.0),
    )
    assert config.history.raw_span == 15 * 60.0
    assert config.limits.max_payload == 64 * 1024
    assert config.limits.max_line == 4 * 1024
    assert (config.limits.max_clock_skew, config.limits.timezone) == (600.0, "local")


def test_example_config_without_its_password_variable_names_key_and_variable() -> None:
    with pytest.raises(ConfigError) as info:
        load_config(EXAMPLE, env={})
    assert info.value.problems == [
        "mqtt[0].password: environment variable MQTT_PASSWORD is not set; "
        "expected it to hold this value"
    ]


def test_empty_config_gives_the_defaults() -> None:
    assert parse_config("", env={}) == Config()


def test_config_error_message_is_one_line_per_problem() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("[server]\nport = 70000\ntick = 5\n", env={})
    assert str(info.value).splitlines() == info.value.problems
    assert len(info.value.problems) == 2


def test_config_qos_out_of_range_names_the_subscription_and_the_choices() -> None:
    text = broker(sub='topic = "a"\n[[mqtt.subscribe]]\ntopic = "b"\nqos = 3')
    assert problems(text) == ["mqtt[0].subscribe[1].qos: 3 is not one of 0, 1, 2"]


def test_config_typo_in_a_key_suggests_the_known_key() -> None:
    assert problems("[server]\nprot = 8080\n") == ["server.prot: unknown key; did you mean 'port'?"]


def test_config_typo_in_a_section_suggests_the_known_section() -> None:
    assert problems("[sever]\nport = 8080\n") == ["sever: unknown section; did you mean 'server'?"]


def test_config_unknown_section_lists_the_known_sections() -> None:
    assert problems("[frobnicate]\nx = 1\n") == [
        "frobnicate: unknown section; known sections: "
        "alert, auth, command, history, ingest, limits, mqtt, notify, output, page, record, "
        "serial, series, server, system"
    ]


def test_config_string_where_a_number_is_expected_is_refused() -> None:
    assert problems('[server]\nport = "8080"\n') == [
        'server.port: "8080" is not a whole number from 0 to 65535'
    ]


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ("[server]\nport = true", "server.port: true is not a whole number from 0 to 65535"),
        (
            "[limits]\nmax_payload = true",
            'limits.max_payload: true is not a size such as "512B", "64KiB" or "1MiB"',
        ),
        (
            "[limits]\nmax_series = false",
            "limits.max_series: false is not a whole number from 1 to 1000000",
        ),
        (
            "[[serial]]\nname = 'b'\nport = '/dev/x'\nbytesize = true",
            "serial[0].bytesize: true is not one of 5, 6, 7, 8",
        ),
    ],
)
def test_config_toml_boolean_where_a_number_is_expected_is_refused(toml: str, problem: str) -> None:
    assert problems(toml) == [problem]


def test_config_float_where_a_whole_number_is_expected_is_refused() -> None:
    assert problems("[history]\nraw_points = 1.5\n") == [
        "history.raw_points: 1.5 is not a whole number from 10 to 10000000"
    ]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('"fast"', '"fast" is not a duration such as "250ms", "10s", "10m", "1h30m" or "30d"'),
        ('"10"', '"10" is not a duration such as "250ms", "10s", "10m", "1h30m" or "30d"'),
        ("5", '5 is not a duration such as "250ms", "10s", "10m", "1h30m" or "30d"'),
        ('"1h"', '"1h" is out of range; expected from 10ms to 10s'),
        ('"1ms"', '"1ms" is out of range; expected from 10ms to 10s'),
    ],
)
def test_config_bad_duration_names_key_value_and_form(value: str, problem: str) -> None:
    assert problems(f"[server]\ntick = {value}\n") == [f"server.tick: {problem}"]


def test_config_duration_is_read_in_seconds() -> None:
    config = parse_config('[server]\ntick = "250ms"\n[history]\nraw_span = "1h30m"\n', env={})
    assert config.server.tick == 0.25
    assert config.history.raw_span == 5400.0


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ('"huge"', '"huge" is not a size such as "512B", "64KiB" or "1MiB"'),
        ('"1GiB"', '"1GiB" is out of range; expected from 16B to 16MiB'),
        ("8", "8 is out of range; expected from 16B to 16MiB"),
    ],
)
def test_config_bad_size_names_key_value_and_form(value: str, problem: str) -> None:
    assert problems(f"[limits]\nmax_payload = {value}\n") == [f"limits.max_payload: {problem}"]


@pytest.mark.parametrize(("value", "size"), [('"64KiB"', 65536), ('"64kB"', 64000), ("1024", 1024)])
def test_config_size_accepts_units_and_plain_byte_counts(value: str, size: int) -> None:
    assert parse_config(f"[limits]\nmax_payload = {value}\n", env={}).limits.max_payload == size


@pytest.mark.parametrize(
    ("toml", "problem"),
    [
        ("[server]\nport = 70000", "server.port: 70000 is not a whole number from 0 to 65535"),
        ("[server]\nport = -1", "server.port: -1 is not a whole number from 0 to 65535"),
        (
            "[limits]\nmax_series = 0",
            "limits.max_series: 0 is not a whole number from 1 to 1000000",
        ),
        (
            "[[serial]]\nname = 'b'\nport = '/dev/x'\nbaudrate = 10",
            "serial[0].baudrate: 10 is not a whole number from 50 to 4000000",
        ),
    ],
)
def test_config_out_of_range_number_names_the_range(toml: str, problem: str) -> None:
    assert problems(toml) == [problem]


def test_config_substitutes_environment_variables_in_strings() -> None:
    text = broker(extra='username = "${MQTT_USER}"\npassword = "p-${MQTT_PASSWORD}"')
    (mqtt,) = parse_config(text, env={"MQTT_USER": "pi", "MQTT_PASSWORD": "s3cret"}).mqtt
    assert (mqtt.username, mqtt.password) == ("pi", "p-s3cret")


def test_config_substitution_applies_before_validation() -> None:
    config = parse_config('[server]\ntick = "${TICK}"\n', env={"TICK": "250ms"})
    assert config.server.tick == 0.25


def test_config_unset_environment_variable_names_the_key_and_the_variable() -> None:
    assert problems('[server]\nhost = "${BIND_HOST}"\n') == [
        "server.host: environment variable BIND_HOST is not set; expected it to hold this value"
    ]


def test_config_password_of_the_wrong_type_is_not_echoed() -> None:
    found = problems(broker(extra="password = 918273645"))
    assert found == ["mqtt[0].password: is not a string (value not shown)"]
    assert "918273645" not in str(found)


def test_config_substitutes_environment_variables_in_lists_of_strings() -> None:
    config = parse_config('[server]\nallowed_hosts = ["${PI_HOST}"]\n', env={"PI_HOST": "pi.local"})
    assert config.server.allowed_hosts == ("pi.local",)


def test_config_bad_url_problem_does_not_echo_a_password_in_it() -> None:
    found = problems(broker(url="mqtt://pi:hunter2@broker:99999"))
    assert len(found) == 1
    assert found[0].startswith("mqtt[0].url: ")
    assert "hunter2" not in found[0]


def test_config_serial_names_used_twice_are_refused() -> None:
    text = (
        "[[serial]]\nname = 'bench'\nport = '/dev/x'\n[[serial]]\nname = 'bench'\nport = '/dev/y'"
    )
    assert problems(text) == ['serial[1].name: "bench" is used twice; names must differ']


def test_config_mqtt_names_used_twice_are_refused() -> None:
    text = broker(extra='name = "home"') + broker(extra='name = "home"')
    assert problems(text) == ['mqtt[1].name: "home" is used twice; names must differ']


def test_config_name_used_twice_after_an_invalid_entry_names_the_right_entry() -> None:
    text = (
        broker(url="http://x", extra='name = "a"')
        + broker(extra='name = "b"')
        + broker(extra='name = "b"')
    )
    assert 'mqtt[2].name: "b" is used twice; names must differ' in problems(text)
