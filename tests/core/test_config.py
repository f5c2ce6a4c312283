"""The TOML configuration: what loads, and the one-line problems for what does not."""

from __future__ import annotations

from pathlib import Path

import pytest

import telemetry
from telemetry.config import Config, FilterSpec, load_config, parse_config
from telemetry.errors import ConfigError
from telemetry.normalize import MQTT_FORMATS

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
    (rule,) = config.series
    assert rule.match == "bench/*"
    assert rule.unit == "°C"
    assert rule.filters == (
        FilterSpec("offset", -0.4),
        FilterSpec("clamp", [-40, 85]),
        FilterSpec("throttle", "1s"),
        FilterSpec("stale", "5m"),
    )
    assert config.history.rollups == ((10.0, 3600.0), (60.0, 86400.0), (900.0, 30 * 86400.0))
    assert config.history.raw_span == 15 * 60.0
    assert config.limits.max_payload == 64 * 1024
    assert config.limits.max_line == 4 * 1024
    assert (config.limits.max_clock_skew, config.limits.timezone) == (600.0, "UTC")


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
        "auth, history, limits, mqtt, serial, series, server"
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


@pytest.mark.parametrize(
    ("url", "host", "port", "tls"),
    [
        ("mqtt://broker.local", "broker.local", 1883, False),
        ("mqtts://broker.local", "broker.local", 8883, True),
        ("mqtt://10.0.0.2:1884", "10.0.0.2", 1884, False),
        ("mqtts://[::1]:8884", "::1", 8884, True),
    ],
)
def test_config_broker_url_gives_host_port_and_tls(
    url: str, host: str, port: int, tls: bool
) -> None:
    (mqtt,) = parse_config(broker(url=url), env={}).mqtt
    assert (mqtt.host, mqtt.port, mqtt.tls) == (host, port, tls)


@pytest.mark.parametrize(
    "url",
    [
        "tcp://broker",
        "http://broker:1883",
        "mqtt://broker:99999",
        "mqtt://broker:x",
        "mqtt://",
        "broker:1883",
    ],
)
def test_config_bad_broker_url_says_the_expected_form(url: str) -> None:
    assert problems(broker(url=url)) == [
        f'mqtt[0].url: "{url}" is not a broker URL; '
        "expected mqtt://HOST[:PORT] or mqtts://HOST[:PORT]"
    ]


def test_config_broker_url_with_port_zero_is_refused() -> None:
    assert problems(broker(url="mqtt://broker:0"))[0].startswith('mqtt[0].url: "mqtt://broker:0"')


def test_config_empty_broker_url_is_refused() -> None:
    assert problems(broker(url=""))[0].startswith("mqtt[0].url: ")


def test_config_missing_broker_url_and_subscriptions_are_reported() -> None:
    assert problems('[[mqtt]]\nname = "home"\n') == [
        "mqtt[0].url: is missing; it is required",
        "mqtt[0].subscribe: is missing; expected at least one [[mqtt.subscribe]]",
    ]


def test_config_template_without_device_and_no_device_is_refused() -> None:
    text = broker(sub='topic = "a/+"\ntemplate = "a/{sensor}"')
    assert problems(text) == [
        'mqtt[0].subscribe[0].template: "a/{sensor}" names no {device}; add one or set device'
    ]


def test_config_template_without_device_is_accepted_with_a_fixed_device() -> None:
    text = broker(sub='topic = "a/#"\ntemplate = "a/{sensor...}"\ndevice = "garden"')
    (mqtt,) = parse_config(text, env={}).mqtt
    assert mqtt.subscribe[0].device == "garden"


def test_config_invalid_template_says_why() -> None:
    found = problems(broker(sub='topic = "a/#"\ntemplate = "a/{sensor...}/{device}"'))
    assert found == [
        'mqtt[0].subscribe[0].template: "a/{sensor...}/{device}": '
        "{sensor...} must be the last level"
    ]


@pytest.mark.parametrize(
    ("topic", "why"),
    [
        ("a/#/b", "'#' must be a whole last level"),
        ("a/b+", "'+' must be a whole level"),
    ],
)
def test_config_invalid_topic_filter_says_why(topic: str, why: str) -> None:
    assert problems(broker(sub=f'topic = "{topic}"')) == [
        f'mqtt[0].subscribe[0].topic: "{topic}" is not a topic filter; {why}'
    ]


def test_config_empty_topic_filter_is_refused() -> None:
    assert problems(broker(sub='topic = ""')) == [
        'mqtt[0].subscribe[0].topic: "" is not a topic filter; expected 1 to 65535 bytes'
    ]


def test_config_qos_as_a_float_is_refused() -> None:
    assert problems(broker(sub='topic = "a"\nqos = 1.0')) == [
        "mqtt[0].subscribe[0].qos: 1.0 is not one of 0, 1, 2"
    ]


def test_config_unknown_payload_format_lists_the_formats() -> None:
    listed = ", ".join(f'"{name}"' for name in MQTT_FORMATS)
    assert MQTT_FORMATS[:1] == ("auto",) and "number" in MQTT_FORMATS
    assert problems(broker(sub='topic = "a"\nformat = "xml"')) == [
        f'mqtt[0].subscribe[0].format: "xml" is not one of {listed}'
    ]


def test_config_unknown_filter_lists_the_filters() -> None:
    text = '[[series]]\nmatch = "a/*"\nfilters = [{ smooth = "1s" }]\n'
    assert problems(text) == [
        "series[0].filters[0].smooth: unknown filter; expected one of offset, multiply, "
        "calibrate, clamp, range, outlier, deadband, throttle, heartbeat, stale"
    ]


def test_config_bad_filter_args_name_the_filter() -> None:
    text = '[[series]]\nmatch = "a/*"\nfilters = [{ clamp = [85, -40] }, { offset = "x" }]\n'
    assert problems(text) == [
        "series[0].filters[0].clamp: [85, -40] is not a range; "
        "expected [low, high] with low <= high",
        'series[0].filters[1].offset: "x" is not a finite number',
    ]


def test_config_filter_entry_must_be_one_filter() -> None:
    text = '[[series]]\nmatch = "a/*"\nfilters = [{ offset = 1, multiply = 2 }]\n'
    assert problems(text) == [
        "series[0].filters[0]: a table is not one filter such as { offset = -0.5 }"
    ]


def test_config_cert_file_without_key_file_is_refused(tmp_path: Path) -> None:
    cert = tmp_path / "client.crt"
    cert.write_text("not really a certificate")
    assert problems(broker(extra=f'cert_file = "{cert}"')) == [
        "mqtt[0].cert_file: cert_file and key_file go together; set both"
    ]


def test_config_tls_file_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "ca.pem"
    assert problems(broker(extra=f'ca_file = "{missing}"')) == [
        f'mqtt[0].ca_file: "{missing}" is not a readable file'
    ]


def test_config_reports_every_problem_at_once() -> None:
    text = """
[server]
port = "x"
hots = "a"
[history]
raw_span = "1y"
[limits]
max_series = 0
[bogus]
""" + broker(sub='topic = "a"\nqos = 3')
    assert sorted(problems(text)) == sorted(
        [
            'server.port: "x" is not a whole number from 0 to 65535',
            "server.hots: unknown key; did you mean 'host'?",
            'history.raw_span: "1y" is not a duration such as "250ms", "10s", "10m", '
            '"1h30m" or "30d"',
            "limits.max_series: 0 is not a whole number from 1 to 1000000",
            "bogus: unknown section; known sections: "
            "auth, history, limits, mqtt, serial, series, server",
            "mqtt[0].subscribe[0].qos: 3 is not one of 0, 1, 2",
        ]
    )


def test_config_section_of_the_wrong_shape_is_refused() -> None:
    assert problems("server = 5\nmqtt = [5]\n") == [
        "mqtt[0]: 5 is not a table",
        "server: 5 is not a table",
    ]


def test_config_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.toml"
    path.write_text("[server\nport = 1\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}: not valid TOML: ")
    assert "line 1" in problem


def test_config_file_that_cannot_be_read_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "missing.toml"
    with pytest.raises(ConfigError) as info:
        load_config(path, env={})
    (problem,) = info.value.problems
    assert problem.startswith(f"{path}: cannot be read: ")


def test_config_broker_template_is_kept_for_routing() -> None:
    (mqtt,) = parse_config(BROKER, env={}).mqtt
    assert mqtt.subscribe[0].template == "tele/{device}/SENSOR"


def test_config_the_same_filter_twice_on_one_broker_is_refused() -> None:
    text = (
        '[[mqtt]]\nurl = "mqtt://broker"\n'
        '[[mqtt.subscribe]]\ntopic = "a/#"\n'
        '[[mqtt.subscribe]]\ntopic = "a/#"\nformat = "number"\n'
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={})
    assert info.value.problems == [
        'mqtt[0].subscribe[1].topic: "a/#" is subscribed twice; '
        "expected each filter once per broker"
    ]


def test_config_time_zone_and_precision_are_checked() -> None:
    text = (
        '[[mqtt]]\nurl = "mqtt://broker"\n'
        '[[mqtt.subscribe]]\ntopic = "a/#"\ntimezone = "Mars/Olympus_Mons"\nprecision = "min"\n'
        '[limits]\ntimezone = "Europe/Berlin"\nmax_clock_skew = "soon"\n'
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={})
    assert info.value.problems == [
        'mqtt[0].subscribe[0].timezone: "Mars/Olympus_Mons" is not a time zone; expected UTC '
        'or an IANA name such as "Europe/Berlin"',
        'mqtt[0].subscribe[0].precision: "min" is not one of "s", "ms", "us", "ns"',
        'limits.max_clock_skew: "soon" is not a duration such as "250ms", "10s", "10m", '
        '"1h30m" or "30d"',
    ]


def test_config_trusted_proxies_are_addresses_or_networks() -> None:
    text = '[server]\ntrusted_proxies = ["127.0.0.1", "::1", "10.0.0.0/8", "fd00::/8"]\n'
    config = parse_config(text, env={})
    assert config.server.trusted_proxies == ("127.0.0.1", "::1", "10.0.0.0/8", "fd00::/8")
    assert parse_config("", env={}).server.trusted_proxies == ()


@pytest.mark.parametrize("value", ['"*"', '"localhost"', '"10.0.0.1/8"', '"300.0.0.1"', '" ::1"'])
def test_config_bad_trusted_proxy_names_the_entry_and_the_expected_form(value: str) -> None:
    # "10.0.0.1/8" has host bits set: uvicorn would take it for a name and match nothing.
    assert problems(f'[server]\ntrusted_proxies = ["127.0.0.1", {value}]\n') == [
        f"server.trusted_proxies[1]: {value} is not an IP address or network; "
        'expected like "127.0.0.1", "::1" or "10.0.0.0/8"'
    ]


def test_config_trusted_proxies_must_be_a_list_of_strings() -> None:
    assert problems('[server]\ntrusted_proxies = "127.0.0.1"\n') == [
        'server.trusted_proxies: "127.0.0.1" is not a list of strings'
    ]
    assert problems("[server]\ntrusted_proxies = [1]\n") == [
        "server.trusted_proxies[0]: 1 is not a string"
    ]
