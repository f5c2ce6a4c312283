"""`[[output.mqtt]]` in the config: read with its defaults, tied to the `[[mqtt]]`
brokers, refused with precise errors (a password never shown), and listed by
`check-config`."""

from __future__ import annotations

import pytest

from telemetry.config import parse_config
from telemetry.config.model import MqttOutputConfig
from telemetry.errors import ConfigError
from telemetry.summary import summarize

BROKER = '[[mqtt]]\nname = "home"\nurl = "mqtt://127.0.0.1"\n[[mqtt.subscribe]]\ntopic = "a/#"\n'


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, env or {})
    return info.value.problems


def test_output_mqtt_reads_a_named_broker_with_its_defaults() -> None:
    config = parse_config(BROKER + '[[output.mqtt]]\nname = "ha"\nmqtt = "home"\n', {})
    assert config.output.mqtt == (MqttOutputConfig(name="ha", mqtt="home"),)
    out = config.output.mqtt[0]
    assert (out.qos, out.retain, out.interval, out.queue, out.session) == (
        0,
        True,
        0.0,
        10_000,
        "clean",
    )
    assert (out.discovery, out.discovery_prefix, out.prefix, out.match) == (
        False,
        "homeassistant",
        None,
        (),
    )
    assert config.output


def test_output_mqtt_reads_its_own_broker_with_credentials_from_the_environment() -> None:
    text = (
        '[server]\nname = "greenhouse"\n'
        '[[output.mqtt]]\nname = "central"\nurl = "mqtts://broker.lan:8883"\n'
        'username = "pi"\npassword = "${MQTT_PASSWORD}"\nprefix = "sites/greenhouse"\n'
        'match = ["bed*/*", "*/co2"]\nqos = 1\nretain = false\ninterval = "10s"\n'
        'queue = 500\nsession = "persistent"\nclient_id = "gh-out"\n'
        'discovery = true\ndiscovery_prefix = "ha"\n'
    )
    config = parse_config(text, {"MQTT_PASSWORD": "s3cret-pw"})
    (out,) = config.output.mqtt
    assert out.broker is not None
    assert (out.broker.host, out.broker.port, out.broker.tls) == ("broker.lan", 8883, True)
    assert (out.broker.username, out.broker.password) == ("pi", "s3cret-pw")
    assert (out.prefix, out.match, out.qos, out.retain) == (
        "sites/greenhouse",
        ("bed*/*", "*/co2"),
        1,
        False,
    )
    assert (out.interval, out.queue, out.session, out.client_id) == (
        10.0,
        500,
        "persistent",
        "gh-out",
    )
    assert (out.discovery, out.discovery_prefix) == (True, "ha")
    assert "s3cret-pw" not in repr(config)
    summary = summarize(config, "x.toml")
    assert (
        "output mqtt central: to mqtts://broker.lan:8883 as pi, under "
        "sites/greenhouse/<device>/<sensor>; series bed*/*, */co2; qos 1, not retained; "
        "at most one per series every 10s; queue 500; persistent session as gh-out; "
        "Home Assistant discovery under ha"
    ) in summary
    assert "s3cret-pw" not in summary


def test_output_mqtt_default_prefix_is_the_instance_name() -> None:
    text = '[server]\nname = "pi1"\n' + BROKER + '[[output.mqtt]]\nname = "o"\nmqtt = "home"\n'
    summary = summarize(parse_config(text, {}), "x.toml")
    assert (
        "output mqtt o: to mqtt broker home, under telemetry/pi1/<device>/<sensor>; "
        "every series; qos 0, retained; every point; queue 10000" in summary
    )


def test_output_mqtt_refuses_bad_keys_precisely_and_never_shows_a_password() -> None:
    text = (
        BROKER
        + '[[output.mqtt]]\nname = "a"\nmqtt = "home"\nurl = "mqtt://x"\n'
        + '[[output.mqtt]]\nname = "b"\nurl = "http://pi:s3cret-pw@h"\nprefix = "a/+/b"\n'
        + 'session = "persistent"\n'
        + '[[output.mqtt]]\nname = "c"\nmqtt = "office"\nqos = 2\nretian = true\n'
        + 'username = "u"\ninterval = "soon"\n'
        + '[[output.mqtt]]\nname = "c"\nmqtt = "home"\nqueue = 0\ndiscovery_prefix = "/ha"\n'
        + 'match = [""]\n'
        + '[[output.mqtt]]\nname = "d"\nurl = "mqtt://h"\npassword = "${NOPE}"\n'
    )
    found = problems(text)
    assert found == [
        "output.mqtt[0]: mqtt and url are both set; expected one: mqtt (the name of an "
        "[[mqtt]] broker) or url (the output's own broker)",
        'output.mqtt[1].url: "http://h" is not a broker URL; expected mqtt://HOST[:PORT] '
        "or mqtts://HOST[:PORT]",
        'output.mqtt[1].session: "persistent" keeps unacknowledged messages only at QoS 1; '
        "expected qos = 1 with it",
        'output.mqtt[1].prefix: "a/+/b" is not a topic prefix; expected levels without + '
        'or # and none empty, like "telemetry/garage"',
        "output.mqtt[2].username: is the url's; with mqtt the [[mqtt]] broker's settings are used",
        "output.mqtt[2].qos: 2 is not one of 0, 1",
        'output.mqtt[2].interval: "soon" is not a duration such as "250ms", "10s", "10m", '
        '"1h30m" or "30d"',
        "output.mqtt[2].retian: unknown key; did you mean 'retain'?",
        'output.mqtt[3].match[0]: "" is not a glob on series ids of 1 to 256 characters; '
        'expected like "kitchen/*"',
        "output.mqtt[3].queue: 0 is not a whole number from 1 to 1000000",
        'output.mqtt[3].discovery_prefix: "/ha" is not a topic prefix; expected levels '
        'without + or # and none empty, like "telemetry/garage"',
        "output.mqtt[4].password: environment variable NOPE is not set; expected it to "
        "hold this value",
        'output.mqtt[2].mqtt: "office" is not a configured [[mqtt]] broker; expected one of: home',
        'output.mqtt[3].name: "c" is used twice; names must differ',
    ]
    assert not [line for line in found if "s3cret" in line]
