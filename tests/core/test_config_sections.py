"""Configuration: the MQTT brokers and their subscriptions, filters, files, zones and proxies."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemetry.config import load_config, parse_config
from telemetry.errors import ConfigError
from telemetry.normalize import MQTT_FORMATS
from telemetry.server import build_sources
from tests.core.test_config import BROKER, broker, problems


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
        "mqtt[0].subscribe: is missing; expected at least one [[mqtt.subscribe]], unless a "
        "[[notify]] sink or an [[output.mqtt]] publishes to this broker",
    ]


def test_config_broker_a_notify_sink_publishes_to_needs_no_subscription() -> None:
    text = (
        '[[mqtt]]\nname = "home"\nurl = "mqtt://broker"\n'
        '[[notify]]\nname = "phone"\ntype = "mqtt"\nmqtt = "home"\n'
    )
    config = parse_config(text)
    assert [(m.name, m.subscribe) for m in config.mqtt] == [("home", ())]
    assert build_sources(config) == []  # publish only: no reader
    other = text.replace('mqtt = "home"', 'mqtt = "other"') + (
        '[[mqtt]]\nname = "other"\nurl = "mqtt://broker2"\n[[mqtt.subscribe]]\ntopic = "a/#"\n'
    )
    assert problems(other) == [
        "mqtt[0].subscribe: is missing; expected at least one [[mqtt.subscribe]], unless a "
        "[[notify]] sink or an [[output.mqtt]] publishes to this broker",
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
            "bogus: unknown section; known sections: alert, auth, command, history, ingest, "
            "limits, mqtt, notify, output, page, record, serial, series, server, system",
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
        'mqtt[0].subscribe[0].timezone: "Mars/Olympus_Mons" is not a time zone; expected UTC, '
        'local (the machine\'s) or an IANA name such as "Europe/Berlin"',
        'mqtt[0].subscribe[0].precision: "min" is not one of "s", "ms", "us", "ns"',
        'limits.max_clock_skew: "soon" is not a duration such as "250ms", "10s", "10m", '
        '"1h30m" or "30d"',
    ]


def test_config_time_and_prefix_of_a_subscription_or_port_are_checked() -> None:
    text = (
        '[[mqtt]]\nurl = "mqtt://broker"\n'
        '[[mqtt.subscribe]]\ntopic = "a/#"\ntime = "device"\nprefix = "attic-"\n'
        '[[mqtt.subscribe]]\ntopic = "b/#"\ntime = "later"\nprefix = "a/b"\n'
        '[[serial]]\nname = "gps"\nport = "/dev/ttyUSB0"\ntime = "receive"\ntimezone = "local"\n'
    )
    with pytest.raises(ConfigError) as info:
        parse_config(text, env={})
    assert info.value.problems == [
        'mqtt[0].subscribe[1].prefix: "a/b" is not 1 to 64 letters, digits, _.:-',
        'mqtt[0].subscribe[1].time: "later" is not one of "device", "receive"',
    ]
    config = parse_config(text.replace('"later"', '"receive"').replace('"a/b"', '"b."'), env={})
    first, second = config.mqtt[0].subscribe
    assert (first.route("home").prefix, first.route("home").time) == ("attic-", "device")
    assert (second.route("home").prefix, second.route("home").time) == ("b.", "receive")
    gps = config.serial[0].route
    assert (gps.prefix, gps.time, gps.timezone) == ("", "receive", "local")


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


def test_config_radio_keeps_gateways_radio_metadata_and_is_a_boolean() -> None:
    text = (
        '[[mqtt]]\nurl = "mqtt://broker"\n[[mqtt.subscribe]]\ntopic = "rtl_433/#"\nradio = true\n'
    )
    (sub,) = parse_config(text, env={}).mqtt[0].subscribe
    assert sub.radio is True and sub.route("b").radio is True
    default = parse_config(text.replace("radio = true\n", ""), env={}).mqtt[0].subscribe[0]
    assert default.radio is False
    with pytest.raises(ConfigError) as info:
        parse_config(text.replace("radio = true", 'radio = "yes"'), env={})
    assert info.value.problems == ['mqtt[0].subscribe[0].radio: "yes" is not true or false']


def test_config_ingest_and_record_sections() -> None:
    config = parse_config(
        '[ingest]\nhttp = true\nsource = "push"\nmax_body = "2MiB"\nmax_inflated = "16MiB"\n'
        "max_lines = 100\nrate = 60\n"
        '[record]\nfile = "/var/lib/telemetry/s.jsonl.gz"\nmax_size = "1MiB"\nkeep = 5\n'
    )
    assert (config.ingest.http, config.ingest.source, config.ingest.max_body) == (
        True,
        "push",
        2 * 1024**2,
    )
    assert (config.ingest.max_inflated, config.ingest.max_lines, config.ingest.rate) == (
        16 * 1024**2,
        100,
        60,
    )
    assert (config.record.file, config.record.max_size, config.record.keep) == (
        "/var/lib/telemetry/s.jsonl.gz",
        1024**2,
        5,
    )
    assert not parse_config("").ingest.http and parse_config("").record.file is None


def test_config_ingest_and_record_problems_are_named() -> None:
    assert problems(
        '[ingest]\nhttp = "yes"\nmax_body = "1MiB"\nmax_inflated = "100kB"\nrate = 0\n'
        '[record]\nkeep = -1\nmax_size = "1B"\n'
    ) == [
        'ingest.http: "yes" is not true or false',
        "ingest.rate: 0 is not a whole number from 1 to 100000",
        "ingest.max_inflated: is smaller than max_body; expected at least it",
        'record.max_size: "1B" is out of range; expected from 4KiB to 64GiB',
        "record.keep: -1 is not a whole number from 0 to 1000",
    ]
    assert problems(f'{BROKER}\n[ingest]\nhttp = true\nsource = "mqtt0"\n') == [
        'ingest.source: "mqtt0" is a reader\'s name too; give HTTP ingest a name of its own'
    ]
