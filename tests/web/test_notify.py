"""The alert sinks (`[[notify]]`) on a real uvicorn: a webhook and ntfy received by a
local HTTP server on port 0, the MQTT sink's retained message read back from a real
mosquitto, and dead webhooks (hanging, answering 500) that never slow ingest."""

from __future__ import annotations

import json
import logging
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion
from prometheus_client.parser import text_string_to_metric_families

from devices.backoff import Backoff
from devices.sinks import MqttPublisher, Sink
from simulators.broker import Broker
from telemetry.config import Config, MqttConfig, NotifyConfig, parse_config
from tests.devices.test_sinks import notice
from tests.harness.broker import MosquittoFactory
from tests.harness.hook import Hook
from tests.harness.http import fetch
from tests.harness.parts import find_program
from tests.harness.server import RunningServer, StartServer
from tests.harness.waiting import wait_until
from tests.web.test_series_api import put

Hooks = Callable[[str], Hook]
TOKEN = "tk_s3cret_never_logged"
SECRET = "mqtt-s3cret-never-logged"

PLUG = """
[[alert]]
name = "plug-overload"
match = "plug/*"
above = 2000
notify = [{sinks}]
"""


def sink(name: str, kind: str, url: str, extra: str = "") -> str:
    return f'[[notify]]\nname = "{name}"\ntype = "{kind}"\nurl = "{url}"\n{extra}'


def plug_config(sinks: dict[str, str], env: dict[str, str] | None = None) -> Config:
    names = ", ".join(f'"{n}"' for n in sinks)
    return parse_config(PLUG.format(sinks=names) + "".join(sinks.values()), env or {})


def get_json(server: RunningServer, path: str) -> tuple[int, Any]:
    status, body, _ = fetch(server.url + path)
    return status, json.loads(body)


def sink_status(server: RunningServer, name: str) -> dict[str, Any]:
    (found,) = [s for s in get_json(server, "api/alerts")[1]["sinks"] if s["name"] == name]
    return found  # type: ignore[no-any-return]


def test_webhook_gets_the_alert_json_when_it_fires_and_resolves(
    start_server: StartServer, hooks: Hooks
) -> None:
    hook = hooks("ok")
    server = start_server(plug_config({"hook": sink("hook", "webhook", hook.url)}))
    put(server, ("plug/power", "2400"))
    wait_until(lambda: hook.received, what="the webhook's first POST")
    put(server, ("plug/power", "150"))
    wait_until(lambda: len(hook.received) >= 2, what="the resolved POST")
    fired, resolved = (json.loads(r.body) for r in hook.received[:2])
    assert hook.received[0].headers["Content-Type"] == "application/json"
    assert "Authorization" not in hook.received[0].headers
    assert (fired["rule"], fired["series"], fired["state"], fired["value"]) == (
        "plug-overload",
        "plug/power",
        "firing",
        2400.0,
    )
    assert fired["time"].endswith("Z") and abs(fired["since"] - time.time()) < 60
    assert (resolved["state"], resolved["value"]) == ("resolved", 150.0)
    wait_until(lambda: sink_status(server, "hook")["sent"] == 2, what="two sent")
    assert sink_status(server, "hook")["failed"] == 0


def test_ntfy_sends_the_message_as_body_with_title_priority_tags_and_a_token_never_logged(
    start_server: StartServer, hooks: Hooks, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    hook, refusing = hooks("ok"), hooks("fail")
    token = 'token = "${NTFY_TOKEN}"\npriority = "high"\n'
    config = plug_config(
        {
            "phone": sink("phone", "ntfy", hook.url, token),
            "refusing": sink("refusing", "ntfy", refusing.url, token),
        },
        {"NTFY_TOKEN": TOKEN},
    )
    assert TOKEN not in repr(config)
    server = start_server(config)
    put(server, ("plug/power", "2400"))
    wait_until(lambda: hook.received, what="the ntfy POST")
    put(server, ("plug/power", "100"))
    wait_until(lambda: len(hook.received) >= 2, what="the resolved ntfy POST")
    fired, resolved = hook.received[:2]
    assert fired.body == b"plug-overload: plug/power 2400"
    assert fired.headers["Title"] == "plug-overload firing"
    assert fired.headers["Priority"] == "high"
    assert fired.headers["Tags"] == "warning"
    assert fired.headers["Authorization"] == f"Bearer {TOKEN}"
    assert resolved.body == b"plug-overload: plug/power resolved at 100"
    assert resolved.headers["Tags"] == "white_check_mark"
    # The refusing server's failures are logged, and no line holds the token.
    wait_until(lambda: sink_status(server, "refusing")["failed"] >= 1, what="a failure")
    assert any("refusing" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if TOKEN in r.getMessage()]


def test_ntfy_message_carries_the_series_unit(start_server: StartServer, hooks: Hooks) -> None:
    hook = hooks("ok")
    server = start_server(plug_config({"phone": sink("phone", "ntfy", hook.url)}))
    put(server, ("plug/power", "2400 W"))
    wait_until(lambda: hook.received, what="the ntfy POST")
    assert hook.received[0].body == b"plug-overload: plug/power 2400 W"
    assert "Priority" not in hook.received[0].headers


def retained(
    broker: Broker, topic: str, tls: Path | None = None, login: tuple[str, str] | None = None
) -> dict[str, bytes]:
    """What a fresh subscriber to `topic` gets at once: the retained messages (over
    TLS verified against the CA file `tls`, logged in with `login`, when given)."""
    got: dict[str, bytes] = {}
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    if tls is not None:
        client.tls_set(ca_certs=str(tls))
    if login is not None:
        client.username_pw_set(*login)
    client.on_message = lambda c, u, m: got.__setitem__(m.topic, bytes(m.payload))
    client.connect(broker.host, broker.port)
    client.subscribe(topic, 1)
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline:
        client.loop(0.05)
    client.disconnect()
    return got


@pytest.mark.broker
def test_mqtt_sink_leaves_the_current_state_retained_for_a_fresh_subscriber(
    start_server: StartServer, mosquitto_factory: MosquittoFactory
) -> None:
    broker = mosquitto_factory()
    config = parse_config(
        PLUG.format(sinks='"home-mqtt"')
        + '[[notify]]\nname = "home-mqtt"\ntype = "mqtt"\nmqtt = "home"\n'
        + 'topic = "telemetry/alerts"\n'
        # Publish only: no [[mqtt.subscribe]], so no reader on this broker.
        + f'[[mqtt]]\nname = "home"\nurl = "mqtt://{broker.host}:{broker.port}"\n'
    )
    server = start_server(config)
    assert get_json(server, "api/series")[1]["sources"] == []
    put(server, ("plug/power", "2400"))
    topic = "telemetry/alerts/plug-overload/plug/power"
    wait_until(lambda: sink_status(server, "home-mqtt")["sent"] == 1, timeout=10, what="sent")
    message = json.loads(retained(broker, "telemetry/alerts/#")[topic])
    assert (message["rule"], message["series"], message["state"], message["value"]) == (
        "plug-overload",
        "plug/power",
        "firing",
        2400.0,
    )
    put(server, ("plug/power", "10"))
    wait_until(lambda: sink_status(server, "home-mqtt")["sent"] == 2, timeout=10, what="sent")
    assert json.loads(retained(broker, "telemetry/alerts/#")[topic])["state"] == "resolved"


@pytest.mark.broker
def test_mqtt_sink_over_tls_with_a_password_from_the_environment_never_logged(
    start_server: StartServer,
    mosquitto_factory: MosquittoFactory,
    certificates: Path,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The sink's broker verified against a private CA, logged in with a password from
    `${ENV}`: the retained message is read back over TLS; the password is in no log
    line and nowhere in what the API shows."""
    caplog.set_level(logging.DEBUG)
    tool = find_program("mosquitto_passwd", "/usr/bin", hint="sudo apt-get install mosquitto")
    passwords = tmp_path / "passwords"
    subprocess.run([tool, "-b", "-c", str(passwords), "pi", SECRET], check=True)
    passwords.chmod(0o600)
    broker = mosquitto_factory(
        listener_options=(
            f"certfile {certificates / 'broker.pem'}",
            f"keyfile {certificates / 'broker.key'}",
            f"password_file {passwords}",
        ),
        anonymous=False,
    )
    config = parse_config(
        PLUG.format(sinks='"home-mqtt"')
        + '[[notify]]\nname = "home-mqtt"\ntype = "mqtt"\nmqtt = "home"\n'
        + f'[[mqtt]]\nname = "home"\nurl = "mqtts://{broker.host}:{broker.port}"\n'
        + 'username = "pi"\npassword = "${MQTT_PASSWORD}"\n'
        + f'ca_file = "{certificates / "ca.pem"}"\n',
        {"MQTT_PASSWORD": SECRET},
    )
    server = start_server(config)
    put(server, ("plug/power", "2400"))
    wait_until(lambda: sink_status(server, "home-mqtt")["sent"] == 1, timeout=10, what="sent")

    got = retained(broker, "telemetry/alerts/#", tls=certificates / "ca.pem", login=("pi", SECRET))
    message = json.loads(got["telemetry/alerts/plug-overload/plug/power"])
    assert (message["rule"], message["state"], message["value"]) == (
        "plug-overload",
        "firing",
        2400.0,
    )
    assert caplog.records
    assert SECRET not in caplog.text
    for path in ("api/alerts", "api/series", "healthz", "metrics"):
        assert SECRET not in fetch(server.url + path)[1].decode()


def stored(server: RunningServer) -> int:
    return sum(s.raw_count for s in server.runtime.pipeline.store.series.values())


def test_dead_webhooks_hanging_or_answering_500_never_slow_ingest(
    start_server: StartServer, hooks: Hooks
) -> None:
    hanging, failing, slow = hooks("hang"), hooks("fail"), hooks("hang")
    config = plug_config(
        {
            "hanging": sink("hanging", "webhook", hanging.url, 'timeout = "30s"\n'),
            "failing": sink("failing", "webhook", failing.url),
            "slow": sink("slow", "webhook", slow.url, 'timeout = "1s"\n'),
        }
    )
    server = start_server(config)
    # Every new plug fires at once: a notice each, far more than a queue holds.
    rounds, per_round = 20, 10
    started = time.monotonic()
    for i in range(rounds):
        put(server, *((f"plug/p{i}-{j}", "2500") for j in range(per_round)))
        time.sleep(0.02)
    wait_until(lambda: stored(server) == rounds * per_round, what="every reading stored")
    elapsed = time.monotonic() - started
    assert elapsed < rounds * 0.02 + 3.0  # the readings' pace, not the webhooks'
    assert hanging.attempts >= 1
    wait_until(lambda: sink_status(server, "failing")["failed"] >= 2, timeout=10, what="retries")
    failing_status = sink_status(server, "failing")
    assert failing_status["failing"] and "500" in failing_status["last_error"]
    assert failing_status["sent"] == 0
    # A webhook that never answers fails at its timeout, counted like any failure.
    wait_until(lambda: sink_status(server, "slow")["failed"] >= 1, what="a timeout")
    assert "timed out" in sink_status(server, "slow")["last_error"]
    hanging_status = sink_status(server, "hanging")
    assert hanging_status["dropped"] + hanging_status["queued"] >= rounds * per_round - 2
    assert hanging_status["queued"] <= 100
    # Still ingesting, at the same pace, while the sinks fail.
    before = stored(server)
    put(server, ("plug/late", "10"))
    wait_until(lambda: stored(server) == before + 1, timeout=1, what="a reading after the failures")
    status, health = get_json(server, "healthz")
    assert status == 503 and health["status"] == "degraded"
    assert {"failing", "slow"} <= {s["sink"] for s in health["sinks"]}
    _, body, _ = fetch(server.url + "metrics")
    samples = {
        (s.name, s.labels.get("sink")): s.value
        for family in text_string_to_metric_families(body.decode())
        for s in family.samples
    }
    assert samples["telemetry_notify_failed_total", "failing"] >= 2
    assert samples["telemetry_notify_dropped_total", "hanging"] >= 1
    assert samples["telemetry_notify_failing", "failing"] == 1
    # Stopping does not wait for the hanging webhook.
    started = time.monotonic()
    server.stop(timeout=10)
    assert time.monotonic() - started < 5


def test_api_series_shows_the_sinks_counters(start_server: StartServer, hooks: Hooks) -> None:
    hook = hooks("ok")
    server = start_server(plug_config({"hook": sink("hook", "webhook", hook.url)}))
    put(server, ("plug/power", "2400"))
    wait_until(lambda: hook.received, what="the POST")
    _, series = get_json(server, "api/series")
    (shown,) = series["sinks"]
    assert shown["name"] == "hook" and shown["type"] == "webhook"
    wait_until(lambda: get_json(server, "api/series")[1]["sinks"][0]["sent"] == 1, what="sent")


def test_a_server_without_sinks_reports_none(start_server: StartServer) -> None:
    server = start_server()
    assert get_json(server, "api/alerts")[1]["sinks"] == []


@pytest.mark.broker
def test_mqtt_sink_sends_once_a_broker_that_was_down_comes_up(
    start_server: StartServer, mosquitto_factory: MosquittoFactory
) -> None:
    broker = mosquitto_factory(start=False)
    config = parse_config(
        PLUG.format(sinks='"home-mqtt"')
        + '[[notify]]\nname = "home-mqtt"\ntype = "mqtt"\nmqtt = "home"\ntimeout = "1s"\n'
        + f'[[mqtt]]\nname = "home"\nurl = "mqtt://{broker.host}:{broker.port}"\n'
        + '[[mqtt.subscribe]]\ntopic = "nothing/#"\n'
    )
    server = start_server(config)
    put(server, ("plug/power", "2400"))
    wait_until(lambda: sink_status(server, "home-mqtt")["failed"] >= 1, what="a failure")
    assert get_json(server, "healthz")[0] == 503
    broker.start()
    wait_until(lambda: sink_status(server, "home-mqtt")["sent"] == 1, timeout=30, what="sent")
    topic = "telemetry/alerts/plug-overload/plug/power"
    assert json.loads(retained(broker, "telemetry/alerts/#")[topic])["state"] == "firing"
    assert not sink_status(server, "home-mqtt")["failing"]


def test_repeat_sends_the_firing_notice_again_while_it_fires_then_stops_at_resolved(
    start_server: StartServer, hooks: Hooks
) -> None:
    hook = hooks("ok")
    config = parse_config(
        PLUG.format(sinks='"hook"').replace("above = 2000", 'above = 2000\nrepeat = "10s"')
        + sink("hook", "webhook", hook.url)
    )
    server = start_server(config)
    put(server, ("plug/power", "2400"))
    wait_until(lambda: hook.received, what="the first POST")
    first_at = time.monotonic()
    put(server, ("plug/power", "2500"))  # still firing: a reading is no new notice
    wait_until(lambda: len(hook.received) >= 2, timeout=20.0, what="the repeated POST")
    gap = time.monotonic() - first_at
    put(server, ("plug/power", "150"))
    wait_until(lambda: len(hook.received) >= 3, what="the resolved POST")
    fired, again, resolved = (json.loads(r.body) for r in hook.received[:3])
    # Repeated by the clock (checked once a second), 10 s after the first notice.
    assert 9.0 <= gap <= 13.0
    assert (fired["state"], again["state"], resolved["state"]) == ("firing", "firing", "resolved")
    assert again["since"] == fired["since"]  # the same firing, told again
    assert again["value"] == 2500.0  # with the value it has now
    wait_until(lambda: sink_status(server, "hook")["sent"] == 3, what="three sent")


@pytest.mark.broker
def test_mqtt_sink_retrying_a_notice_a_stalled_broker_did_not_acknowledge_delivers_it_once(
    mosquitto_factory: MosquittoFactory,
) -> None:
    # paho keeps a QoS 1 message until it is acknowledged (and sends it again after
    # a reconnect): a retry that published it anew delivered it once per attempt.
    broker = mosquitto_factory()
    cfg = NotifyConfig(name="home-mqtt", type="mqtt", mqtt="home", timeout=0.5)
    publisher = MqttPublisher(cfg, MqttConfig(name="home", host=broker.host, port=broker.port))
    sink = Sink(cfg, publisher, backoff=Backoff(0.2, 0.2))
    got: list[str] = []
    watcher = mqtt.Client(CallbackAPIVersion.VERSION2)
    watcher.on_message = lambda c, u, m: got.append(m.topic)
    watcher.connect(broker.host, broker.port)
    watcher.subscribe("telemetry/alerts/#", 1)
    watcher.loop_start()
    try:
        sink.submit([notice(1)])
        wait_until(lambda: sink.status().sent == 1, what="the first notice sent")
        broker.pause()
        try:
            sink.submit([notice(2)])
            wait_until(lambda: sink.status().failed >= 3, what="3 attempts unacknowledged")
        finally:
            broker.resume()
        wait_until(lambda: sink.status().sent == 2, what="the second notice acknowledged")
        time.sleep(1)  # time for any copies to arrive
        assert got.count("telemetry/alerts/r/s/2") == 1
        assert got.count("telemetry/alerts/r/s/1") == 1
    finally:
        watcher.loop_stop()
        watcher.disconnect()
        sink.stop()
        publisher.close()
