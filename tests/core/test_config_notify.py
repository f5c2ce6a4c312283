"""`[[notify]]` in the config: sinks read, tied to the `[[alert]]` rules and the
`[[mqtt]]` brokers, and refused with precise errors."""

from __future__ import annotations

import pytest

from telemetry.config import NotifyConfig, parse_config
from telemetry.errors import ConfigError
from telemetry.summary import summarize

BROKER = '[[mqtt]]\nname = "home"\nurl = "mqtt://127.0.0.1"\n[[mqtt.subscribe]]\ntopic = "a/#"\n'
RULE = '[[alert]]\nname = "hot"\nmatch = "plug/power"\nabove = 2000\nnotify = [{names}]\n'


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, env or {})
    return info.value.problems


def test_notify_reads_webhook_ntfy_and_mqtt_sinks() -> None:
    text = (
        RULE.format(names='"hook", "phone", "home-mqtt"')
        + '[[notify]]\nname = "hook"\ntype = "webhook"\nurl = "http://10.0.0.2/hook"\n'
        + '[[notify]]\nname = "phone"\ntype = "ntfy"\nurl = "https://ntfy.sh/freezer"\n'
        + 'token = "${NTFY_TOKEN}"\npriority = "urgent"\n'
        + '[[notify]]\nname = "home-mqtt"\ntype = "mqtt"\nmqtt = "home"\ntopic = "x/alerts"\n'
        + BROKER
    )
    hook, phone, home = parse_config(text, {"NTFY_TOKEN": "tk_1"}).notify
    assert hook == NotifyConfig(name="hook", type="webhook", url="http://10.0.0.2/hook")
    assert (phone.type, phone.token, phone.priority) == ("ntfy", "tk_1", "urgent")
    assert "tk_1" not in repr(phone)
    assert (home.type, home.mqtt, home.topic, home.url) == ("mqtt", "home", "x/alerts", None)


def test_notify_refuses_unknown_sinks_brokers_schemes_and_duplicates() -> None:
    text = (
        RULE.format(names='"phone", "pager"')
        + '[[notify]]\nname = "phone"\ntype = "ntfy"\nurl = "ftp://ntfy.sh/secret-topic"\n'
        + '[[notify]]\nname = "phone"\ntype = "webhook"\nurl = "http://a/"\n'
        + '[[notify]]\nname = "bus"\ntype = "mqtt"\nmqtt = "office"\n'
        + '[[notify]]\nname = "x"\ntype = "sms"\n'
        + BROKER
    )
    found = problems(text)
    assert found == [
        'notify[0].url: has the scheme "ftp" or no host; expected http://HOST/... or '
        "https://HOST/... (value not shown)",
        'notify[3].type: "sms" is not one of "webhook", "ntfy", "mqtt"',
        'notify[1].name: "phone" is used twice; names must differ',
        'alert[0].notify[1]: "pager" is not a [[notify]] sink; expected one of: bus, phone, x',
        'notify[2].mqtt: "office" is not a configured [[mqtt]] broker; expected one of: home',
    ]
    assert not [line for line in found if "secret-topic" in line]


def test_notify_refuses_keys_of_another_type_and_a_missing_url() -> None:
    text = (
        '[[notify]]\nname = "hook"\ntype = "webhook"\npriority = "high"\n'
        '[[notify]]\nname = "bus"\ntype = "mqtt"\nmqtt = "home"\nurl = "http://a/"\n'
        'topic = "a/+/b"\n' + BROKER
    )
    assert problems(text) == [
        "notify[0].url: is missing; it is required",
        'notify[0].priority: is ntfy\'s; expected it with type = "ntfy"',
        'notify[1].topic: "a/+/b" is not a topic to publish to; expected like a/b',
        "notify[1].url: is not used by an mqtt sink; the [[mqtt]] broker's settings are",
    ]


def test_notify_refuses_a_url_or_token_that_would_break_a_request_without_showing_it() -> None:
    text = '[[notify]]\nname = "hook"\ntype = "ntfy"\nurl = "https://h.lan/a b"\ntoken = "${T}"\n'
    assert problems(text, {"T": "tk_1\nX-Evil: 1"}) == [
        "notify[0].url: holds spaces, control or non-ASCII characters; expected a URL with "
        "them percent-encoded (value not shown)",
        "notify[0].token: is not a token of printable ASCII (value not shown)",
    ]


def test_notify_check_config_lists_the_sinks_without_secrets() -> None:
    text = (
        RULE.format(names='"hook", "bus"')
        + '[[notify]]\nname = "hook"\ntype = "webhook"\nurl = "https://h.lan/hooks/s3cret"\n'
        + '[[notify]]\nname = "bus"\ntype = "mqtt"\nmqtt = "home"\n'
        + BROKER
    )
    summary = summarize(parse_config(text), "x.toml")
    assert "notify hook: webhook to https://h.lan/...; queue 100, timeout 10 s" in summary
    assert (
        "notify bus: mqtt broker home, retained at telemetry/alerts/<rule>/<series>; "
        "queue 100, timeout 10 s" in summary
    )
    assert "alert hot: plug/power above 2000, notify hook, bus" in summary
    assert "s3cret" not in summary


def test_notify_refuses_credentials_or_a_bad_port_in_the_url_without_showing_them() -> None:
    # urllib sends no user:password@ of a URL: the send could only fail, its error
    # quoting the password.
    text = (
        '[[notify]]\nname = "hook"\ntype = "webhook"\nurl = "http://admin:s3cret@nr.lan/hook"\n'
        '[[notify]]\nname = "port"\ntype = "webhook"\nurl = "http://nr.lan:99999/hook"\n'
        '[[notify]]\nname = "word"\ntype = "ntfy"\nurl = "http://nr.lan:s3cret/hook"\n'
    )
    found = problems(text)
    assert found == [
        'notify[0].url: holds credentials; expected them in token, e.g. "${NTFY_TOKEN}" '
        "(sent as a Bearer token) (value not shown)",
        "notify[1].url: has a port that is not a number from 1 to 65535 (value not shown)",
        "notify[2].url: has a port that is not a number from 1 to 65535 (value not shown)",
    ]
    assert not [line for line in found if "s3cret" in line]
