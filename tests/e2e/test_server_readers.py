"""The whole server with its real readers: a real mosquitto, a pty, uvicorn, SSE.

What a Pi owner sees when the broker dies, starts late, or devices send junk:
the server keeps serving, shows what is wrong, and catches up by itself.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators import signals
from simulators.broker import Broker
from simulators.serial import PtyDevice, SerialSimulator
from telemetry.config import Config, MqttConfig, SerialConfig, Subscription
from telemetry.parsetool import ParseTool
from tests.harness.broker import MosquittoFactory
from tests.harness.mqtt_reader import send
from tests.harness.server import RunningServer, StartServer
from tests.harness.sse_client import SSEClient
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.broker


def _get(url: str) -> tuple[int, Any]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.load(error)


def _mqtt(name: str, broker: Broker, prefix: str) -> MqttConfig:
    subscription = Subscription(
        topic=f"{prefix}/#", template=f"{prefix}/{{device}}/{{sensor...}}", format="number"
    )
    return MqttConfig(name=name, host=broker.host, port=broker.port, subscribe=(subscription,))


@pytest.fixture
def bench_device(tmp_path: Path) -> Iterator[PtyDevice]:
    with PtyDevice(tmp_path / "ttyBENCH") as device:
        simulator = SerialSimulator(device, signals.sawtooth(0.0, 10.0, 5.0), rate_hz=20.0)
        simulator.start()
        yield device
        simulator.stop()


def _write_all(device: PtyDevice, data: bytes) -> None:
    """Write all of `data` as a device would: at the pace the reader takes it."""
    deadline = time.monotonic() + 20
    for start in range(0, len(data), 1024):
        chunk = data[start : start + 1024]
        while (sent := device.write(chunk)) < len(chunk):
            chunk = chunk[sent:]
            assert time.monotonic() < deadline, "the reader stopped taking bytes"
            time.sleep(0.002)


def _serial(device: PtyDevice) -> SerialConfig:
    return SerialConfig(name="bench", port=str(device.link), format="number")


def _series_seen(server: RunningServer, wanted: set[str], timeout: float = 15.0) -> set[str]:
    """Series ids that arrive on a fresh stream within `timeout` (until all are seen)."""
    seen: set[str] = set()
    with SSEClient(server.url + "events", timeout=timeout) as client:
        deadline = time.monotonic() + timeout
        while not wanted <= seen and time.monotonic() < deadline:
            event = client.next_event()
            assert event is not None
            if event.name == "readings":
                seen.update(event.json()["series"])
    return seen


@contextlib.contextmanager
def _publishing(broker: Broker, topic: str) -> Iterator[None]:
    """Publish `topic` every 100 ms in the background, broker up or not."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(0.1):
            with contextlib.suppress(OSError):  # the broker may be down: that is the point
                send(broker, topic, b"21.5")

    thread = threading.Thread(target=run, name="test-publisher")
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(15)


def _until_series(client: SSEClient, series: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while (
        series not in client.until("readings", timeout=deadline - time.monotonic()).json()["series"]
    ):
        pass


def test_server_with_the_broker_down_serves_serial_then_catches_up(
    start_server: StartServer, mosquitto_factory: MosquittoFactory, bench_device: PtyDevice
) -> None:
    broker: Broker = mosquitto_factory(start=False)
    config = Config(mqtt=(_mqtt("home", broker, "e1"),), serial=(_serial(bench_device),))
    server = start_server(config, None)

    assert _series_seen(server, {"bench/value"}) >= {"bench/value"}
    status, health = _get(server.url + "healthz")
    assert status == 503
    (problem,) = health["problems"]
    assert problem["source"] == "home" and problem["state"] in ("connecting", "disconnected")
    assert problem["last_error"]

    broker.start()
    with (
        SSEClient(server.url + "events", timeout=20) as client,
        _publishing(broker, "e1/boiler/temperature"),
    ):
        _until_series(client, "boiler/temperature", timeout=20)
    assert wait_until(lambda: _get(server.url + "healthz")[0] == 200, timeout=10)


def test_server_rides_out_a_broker_killed_and_restarted(
    start_server: StartServer, mosquitto_factory: MosquittoFactory
) -> None:
    broker: Broker = mosquitto_factory()
    server = start_server(Config(mqtt=(_mqtt("home", broker, "e2"),)), None)
    with (
        SSEClient(server.url + "events", timeout=20) as client,
        _publishing(broker, "e2/boiler/temperature"),
    ):
        _until_series(client, "boiler/temperature", timeout=10)

        broker.kill()  # kill -9: no goodbye to anyone
        wait_until(lambda: server.runtime.statuses()[0].state != "connected", what="noticed")
        broker.start()
        restarted = time.monotonic()
        # Readings again within the backoff cap (30 s) plus 2 s; in practice far sooner.
        _until_series(client, "boiler/temperature", timeout=32)
        assert time.monotonic() - restarted < 32
    assert server.runtime.statuses()[0].reconnects >= 1


def test_server_reads_several_brokers_at_once(
    start_server: StartServer, mosquitto_factory: MosquittoFactory
) -> None:
    first: Broker = mosquitto_factory()
    second: Broker = mosquitto_factory()
    config = Config(mqtt=(_mqtt("upstairs", first, "e3"), _mqtt("garden", second, "e3")))
    server = start_server(config, None)
    wanted = {"attic/temperature", "shed/temperature"}
    seen: set[str] = set()
    with SSEClient(server.url + "events", timeout=20) as client:
        deadline = time.monotonic() + 15
        while not wanted <= seen and time.monotonic() < deadline:
            send(first, "e3/attic/temperature", b"18")
            send(second, "e3/shed/temperature", b"9")
            seen.update(client.until("readings", timeout=10).json()["series"])
    assert wanted <= seen
    _, catalog = _get(server.url + "api/series")
    sources = {s["id"]: s["source"] for s in catalog["series"]}
    assert sources == {"attic/temperature": "upstairs", "shed/temperature": "garden"}


def test_server_counts_junk_from_devices_and_keeps_streaming(
    start_server: StartServer, mosquitto: Broker, tmp_path: Path
) -> None:
    # One writer on the port (a second one would split the long line in two).
    bench_device = PtyDevice(tmp_path / "ttyJUNK").open()
    config = Config(mqtt=(_mqtt("home", mosquitto, "e4"),), serial=(_serial(bench_device),))
    server = start_server(config, None)

    def subscribed() -> bool:  # "connected" comes before the broker's SUBACK
        send(mosquitto, "e4/dev/probe", b"1")
        return "dev/probe" in server.runtime.pipeline.store.series

    wait_until(subscribed, what="the subscription is in place")
    send(mosquitto, "e4/dev/temp", b"x" * (10 * 1024 * 1024))  # 10 MiB
    send(mosquitto, "e4/dev/temp", b"\xc3\x28\xa0\xa1")  # not UTF-8
    send(mosquitto, "e4/dev/temp", b"NaN")
    _write_all(bench_device, bytes(range(128, 256)) * 8 + b"\n")  # wrong-baud garbage
    _write_all(bench_device, b"9" * (1024 * 1024) + b"\n")  # a 1 MiB line
    _write_all(bench_device, b"\x00\x00\x00boot\n")
    _write_all(bench_device, b"21.5\n")  # the first good line after the junk

    last: list[Any] = []

    def counted() -> bool:
        _, catalog = _get(server.url + "api/series")
        last[:] = [catalog]
        readers = {s["name"]: s["rejected"] for s in catalog["sources"]}
        return bool(
            readers["home"].get("payload_too_large") == 1
            and readers["bench"].get("line_too_long") == 1
            and readers["bench"].get("nul_bytes") == 1
            and catalog["rejected"].get("not_utf8", 0) >= 2
            and catalog["rejected"].get("not_a_number", 0) >= 1
            and catalog["rejected_by_source"]["home"].get("not_a_number", 0) >= 1
            and catalog["rejected_by_source"]["bench"].get("not_utf8", 0) >= 1
            and any(s["id"] == "bench/value" for s in catalog["series"])
        )

    try:
        try:
            wait_until(counted, timeout=10)
        except AssertionError:
            raise AssertionError(f"not every kind of junk was counted: {last}") from None
        assert [s["last_value"] for s in last[0]["series"] if s["id"] == "bench/value"] == [21.5]
        assert _get(server.url + "healthz")[0] == 200
    finally:
        bench_device.close()
    assert last and last[0]["inbox"]["dropped"] == 0


def test_server_reads_a_topic_under_overlapping_subscriptions_as_telemetry_parse_does(
    start_server: StartServer, mosquitto: Broker
) -> None:
    """`telemetry parse` says what the server makes of a message: with `e6/+/SENSOR`
    and `e6/#` both subscribed, the first that matches reads it, on QoS 0 and QoS 1."""
    subscriptions = (
        Subscription(topic="e6/+/SENSOR", template="e6/{device}/SENSOR", format="auto", qos=1),
        Subscription(topic="e6/#", format="auto", qos=1),
    )
    config = Config(
        mqtt=(
            MqttConfig(
                name="home", host=mosquitto.host, port=mosquitto.port, subscribe=subscriptions
            ),
        )
    )
    tasmota = b'{"AM2301":{"Temperature":21.4,"Humidity":48.1},"TempUnit":"C"}'
    messages = [  # (topic, payload, QoS)
        ("e6/probe/x", b"1", 0),
        ("e6/kitchen/SENSOR", tasmota, 0),
        ("e6/hall/SENSOR", b"19.5", 1),
        ("e6/hall/temp", b"7.25 \xc2\xb0C", 1),
    ]
    lines = [
        json.dumps({"transport": "mqtt", "topic": topic, "payload": payload.decode()})
        for topic, payload, _ in messages
    ]
    parsed = [json.loads(line) for line in ParseTool(config).run(lines)]
    expected = {
        (r["device"], r["sensor"], r["value"], r["unit"]) for out in parsed for r in out["readings"]
    }
    # The template reads e6/hall/SENSOR; `e6/#` takes what it leaves.
    assert {("hall", "value", 19.5, None), ("e6", "hall/temp", 7.25, "°C")} <= expected
    assert ("e6", "hall/SENSOR", 19.5, None) not in expected

    server = start_server(config, None)

    def stored() -> set[tuple[str, str, float, str | None]]:
        catalog = _get(server.url + "api/series")[1]["series"]
        return {(s["device"], s["sensor"], s["last_value"], s["unit"]) for s in catalog}

    def subscribed() -> bool:  # "connected" comes before the broker's SUBACK
        send(mosquitto, *messages[0][:2])
        return ("e6", "probe/x", 1.0, None) in stored()

    wait_until(subscribed, timeout=10, what="the subscriptions are in place")
    for topic, payload, qos in messages[1:]:
        send(mosquitto, topic, payload, qos=qos)
    wait_until(lambda: stored() >= expected, timeout=10, what=f"{expected} stored")
    assert stored() == expected
