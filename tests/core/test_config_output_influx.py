"""`[[output.influx]]` and `[output.prometheus]` in the config: read with their
defaults, credentials from `${ENV}` never shown, and refused with precise errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from telemetry.config import parse_config
from telemetry.config.model import InfluxOutputConfig, PrometheusOutputConfig
from telemetry.errors import ConfigError
from telemetry.summary import summarize


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, env or {})
    return info.value.problems


def test_influx_outputs_read_with_defaults_and_secrets_from_the_environment() -> None:
    text = (
        '[[output.influx]]\nurl = "http://127.0.0.1:8428/"\n'
        '[[output.influx]]\nname = "cloud"\nurl = "https://influx.example:8086/base"\n'
        'api = "v2"\norg = "home"\nbucket = "pi"\ntoken = "${INFLUX_TOKEN}"\nprecision = "s"\n'
        'measurement = "readings"\ntags = { site = "garage", room = "shed 2" }\n'
        'match = ["garage/*", "shed/*"]\nbatch = 100\nflush = "5s"\ngzip = false\n'
        'queue = 1000\ntimeout = "3s"\n'
        '[[output.influx]]\nname = "old"\nurl = "http://10.0.0.5:8086"\ndatabase = "home"\n'
        'username = "pi"\npassword = "${INFLUX_PASSWORD}"\nmatch = "kitchen/*"\n'
        '[output.prometheus]\nmatch = ["*"]\nmax_series = 50\n'
    )
    env = {"INFLUX_TOKEN": "tok_s3cret", "INFLUX_PASSWORD": "pw_s3cret"}
    config = parse_config(text, env)
    plain, cloud, old = config.output.influx
    assert plain == InfluxOutputConfig(name="influx0", url="http://127.0.0.1:8428")
    assert (plain.api, plain.database, plain.precision, plain.measurement) == (
        "v1",
        "telemetry",
        "ms",
        "telemetry",
    )
    assert (plain.batch, plain.flush, plain.gzip, plain.queue, plain.timeout) == (
        5000,
        1.0,
        True,
        100_000,
        10.0,
    )
    assert cloud == InfluxOutputConfig(
        name="cloud",
        url="https://influx.example:8086/base",
        api="v2",
        org="home",
        bucket="pi",
        token="tok_s3cret",
        precision="s",
        measurement="readings",
        tags=(("room", "shed 2"), ("site", "garage")),
        match=("garage/*", "shed/*"),
        batch=100,
        flush=5.0,
        gzip=False,
        queue=1000,
        timeout=3.0,
    )
    assert (old.database, old.username, old.password, old.match) == (
        "home",
        "pi",
        "pw_s3cret",
        ("kitchen/*",),
    )
    assert config.output.prometheus == PrometheusOutputConfig(match=("*",), max_series=50)
    summary = summarize(config, "x.toml")
    assert (
        "output influx cloud: v2 to https://influx.example:8086/base (with a token), org home "
        "bucket pi, measurement 'readings', precision s, series garage/*, shed/*; batch 100, "
        "flush 5s, queue 1000, timeout 3 s" in summary
    )
    assert "output influx old: v1 to http://10.0.0.5:8086 (with a password), database home" in (
        summary
    )
    assert "output prometheus: the last values of * in /metrics, at most 50 series" in summary
    assert "s3cret" not in summary + repr(config)


def test_influx_refuses_bad_urls_keys_of_the_other_api_and_bad_values() -> None:
    text = (
        '[[output.influx]]\nurl = "http://pi:s3cret@db.lan:8086"\n'
        '[[output.influx]]\nurl = "http://db.lan:8086/write?db=x&p=s3cret"\napi = "v2"\n'
        'database = "x"\nusername = "u"\n'
        '[[output.influx]]\nurl = "ftp://db.lan"\nprecision = "h"\nbatch = 100\nqueue = 10\n'
        'tags = { device = "x", "bad tag" = "y" }\nmeasurement = ""\npassword = "p"\n'
        '[[output.influx]]\nname = "influx0"\ntoken = "${NOPE}"\nflsh = "1s"\n'
    )
    assert problems(text) == [
        "output.influx[0].url: holds credentials; expected them in username/password or "
        'token, e.g. "${INFLUX_PASSWORD}" (value not shown)',
        "output.influx[1].url: has a query or a fragment; expected the database's base URL "
        "like http://127.0.0.1:8086 (value not shown)",
        'output.influx[1].database: is not used with api = "v2"; expected org, bucket, token',
        'output.influx[1].username: is not used with api = "v2"; expected org, bucket, token',
        "output.influx[1].org: is missing; it is required",
        "output.influx[1].bucket: is missing; it is required",
        'output.influx[2].url: has the scheme "ftp" or no host; expected http://HOST/... or '
        "https://HOST/... (value not shown)",
        "output.influx[2].username: is missing; username and password go together",
        "output.influx[2].queue: 10 is smaller than batch (100); expected at least as many",
        'output.influx[2].precision: "h" is not one of "s", "ms", "us", "ns"',
        'output.influx[2].measurement: "" is not 1 to 256 characters on one line',
        "output.influx[2].tags.device: is a tag every point has; expected another name",
        "output.influx[2].tags.bad tag: is not a tag name of letters, digits, _.- (1 to 64)",
        "output.influx[3].url: is missing; it is required",
        'output.influx[3].token: is not used with api = "v1"; expected database, username, '
        "password",
        "output.influx[3].flsh: unknown key; did you mean 'flush'?",
        'output.influx[3].name: "influx0" is used twice; names must differ',
    ]


def test_prometheus_needs_match_and_a_sane_cap() -> None:
    assert problems("[output.prometheus]\nmax_series = 0\n") == [
        "output.prometheus.match: is missing; it is required",
        "output.prometheus.max_series: 0 is not a whole number from 1 to 100000",
    ]
    assert parse_config("").output.prometheus is None


def test_influx_ca_file_must_exist_and_go_with_https(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("-----BEGIN CERTIFICATE-----\n")
    text = f'[[output.influx]]\nurl = "https://db.lan:8086"\nca_file = "{ca}"\n'
    (out,) = parse_config(text).output.influx
    assert out.ca_file == str(ca)
    assert problems(
        f'[[output.influx]]\nurl = "http://db.lan:8086"\nca_file = "{ca}"\n'
        f'[[output.influx]]\nurl = "https://db.lan:8086"\nca_file = "{tmp_path}/nope.pem"\n'
    ) == [
        'output.influx[0].ca_file: is for an https URL; expected url = "https://..."',
        f'output.influx[1].ca_file: "{tmp_path}/nope.pem" is not a readable file',
    ]


def test_influx_refuses_a_measurement_that_makes_each_line_a_comment() -> None:
    # Line protocol reads a line starting with # as a comment: VictoriaMetrics answers
    # 204 and stores nothing, so every point would count as sent and be lost.
    assert problems('[[output.influx]]\nurl = "http://db.lan"\nmeasurement = "#home"\n') == [
        'output.influx[0].measurement: "#home" starts with #, which makes each line a '
        "comment the database ignores; expected a name starting otherwise",
    ]
