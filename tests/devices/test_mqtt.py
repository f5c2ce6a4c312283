"""The MQTT reader against a real mosquitto."""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

import devices
from devices import paho_fastpath
from simulators.broker import Broker
from telemetry.config import LimitsConfig, Subscription
from telemetry.handoff import Inbox
from telemetry.model import RawMessage, Route
from telemetry.normalize import Normalizer
from tests.harness.broker import MosquittoFactory
from tests.harness.mqtt_reader import Address, Reader, receive, send, sensors, start_reader
from tests.harness.mqtt_wire import ScriptedBroker, publish_packet
from tests.harness.parts import find_program
from tests.harness.waiting import wait_for_state, wait_until

pytestmark = pytest.mark.broker


def test_mqtt_reader_hands_over_messages_with_their_subscriptions_route(
    mosquitto: Broker, readers: list[Reader]
) -> None:
    reader = start_reader(
        readers,
        mosquitto,
        [
            sensors("t1"),
            Subscription(topic="t1x/boiler", format="number", device="boiler"),
        ],
    )

    message = receive(mosquitto, reader, "t1/greenhouse/air/temperature", "21.5 °C".encode())
    other = receive(mosquitto, reader, "t1x/boiler", b"63")

    assert message.route == Route(
        source="home", transport="mqtt", format="number", template="t1/{device}/{sensor...}"
    )
    assert message.topic == "t1/greenhouse/air/temperature"
    assert abs(message.recv_ts - time.time()) < 10
    assert other.route == Route(source="home", transport="mqtt", format="number", device="boiler")
    normalizer = Normalizer()
    reading = normalizer.normalize(message).readings[0]
    assert (reading.series, reading.value, reading.unit) == (
        "greenhouse/air/temperature",
        21.5,
        "°C",
    )
    assert reader.source.status().state == "connected"
    assert reader.source.status().received >= 2


@pytest.mark.parametrize("qos", [0, 1, 2])
def test_mqtt_reader_reads_a_message_by_the_first_matching_subscription_in_config_order(
    mosquitto: Broker, readers: list[Reader], qos: int
) -> None:
    """QoS 0 comes through the fast path, QoS 1 and 2 through paho: routed alike."""
    subscriptions = [
        Subscription(
            topic=f"o{qos}/+/SENSOR", template=f"o{qos}/{{device}}/SENSOR", format="number", qos=qos
        ),
        Subscription(topic=f"o{qos}/#", format="number", qos=qos, device="all"),
        Subscription(topic=f"o{qos}/+/STATE", format="number", qos=qos, device="states"),
    ]
    reader = start_reader(readers, mosquitto, subscriptions)
    receive(mosquitto, reader, f"o{qos}/warm/up", b"0", qos=qos)  # subscribed

    send(mosquitto, f"o{qos}/kitchen/SENSOR", b"21.5", qos=qos)
    send(mosquitto, f"o{qos}/kitchen/STATE", b"1", qos=qos)

    wait_until(lambda: any(m.payload == b"1" for m in reader.received()))
    time.sleep(0.2)  # no second copy on its way
    got = [m for m in reader.received() if m.payload in (b"21.5", b"1")]
    # `o/#` comes before `o/+/STATE`: it takes the STATE topic too.
    assert [(m.topic, m.route) for m in got] == [
        (f"o{qos}/kitchen/SENSOR", subscriptions[0].route("home")),
        (f"o{qos}/kitchen/STATE", subscriptions[1].route("home")),
    ]


@pytest.mark.parametrize(("protocol", "qos"), [("3.1.1", 0), ("5", 0), ("5", 1)])
def test_mqtt_reader_reads_a_shared_subscription_by_its_filter(
    mosquitto: Broker, readers: list[Reader], protocol: str, qos: int
) -> None:
    """On both paths (QoS 0: the fast path; QoS 1: paho's) and both protocols."""
    shared = Subscription(
        topic=f"$share/pis/sh{protocol}{qos}/+/temp",
        template=f"sh{protocol}{qos}/{{device}}/temp",
        format="number",
        qos=qos,
    )
    reader = start_reader(readers, mosquitto, [shared], protocol=protocol)

    message = receive(mosquitto, reader, f"sh{protocol}{qos}/boiler/temp", b"63", qos=qos)

    assert message.route == shared.route("home")
    assert reader.source.rejected["unrouted"] == 0


def test_mqtt_reader_connects_when_the_broker_starts_later(
    mosquitto_factory: MosquittoFactory, readers: list[Reader]
) -> None:
    broker = mosquitto_factory(start=False)
    reader = start_reader(readers, broker, [sensors("t2")])

    status = wait_for_state(reader.source, "disconnected")
    assert "cannot connect" in (status.last_error or "")
    assert status.next_attempt is not None and status.next_attempt >= status.since

    broker.start()
    wait_for_state(reader.source, "connected", timeout=10)
    assert reader.source.status().last_error is None
    receive(broker, reader, "t2/dev/temp", b"1")


def test_mqtt_reader_resubscribes_after_broker_restart(
    mosquitto_factory: MosquittoFactory, readers: list[Reader]
) -> None:
    broker = mosquitto_factory()
    reader = start_reader(readers, broker, [sensors("t3")])
    receive(broker, reader, "t3/dev/temp", b"1")

    broker.stop()
    wait_for_state(reader.source, "disconnected")
    broker.start()  # a fresh broker: it remembers no subscriptions

    wait_for_state(reader.source, "connected", timeout=10)
    receive(broker, reader, "t3/dev/temp", b"2")


def test_mqtt_reader_counts_and_skips_oversized_payloads(
    mosquitto: Broker, readers: list[Reader]
) -> None:
    reader = start_reader(readers, mosquitto, [sensors("t4")], limits=LimitsConfig(max_payload=16))
    receive(mosquitto, reader, "t4/dev/temp", b"0")

    send(mosquitto, "t4/dev/temp", b"9" * 17)
    receive(mosquitto, reader, "t4/dev/temp", b"2.5")

    assert b"9" * 17 not in reader.payloads()
    assert reader.source.rejected["payload_too_large"] == 1


class FailingOnceInbox(Inbox):
    """Injects a fault: the first hand-over raises."""

    failed = False

    def put_many(self, msgs: Sequence[RawMessage]) -> None:
        if not self.failed:
            self.failed = True
            raise RuntimeError("injected fault")
        super().put_many(msgs)


def test_mqtt_reader_survives_an_exception_in_its_message_callback(
    mosquitto: Broker, readers: list[Reader]
) -> None:
    reader = start_reader(readers, mosquitto, [sensors("t5")], inbox_class=FailingOnceInbox)

    receive(mosquitto, reader, "t5/dev/temp", b"1")

    assert isinstance(reader.inbox, FailingOnceInbox) and reader.inbox.failed
    assert reader.source.rejected["handler_error"] == 1
    assert reader.state() == "connected"


@pytest.fixture
def scripted_broker() -> Iterator[ScriptedBroker]:
    broker = ScriptedBroker()
    yield broker
    broker.close()


def test_mqtt_reader_counts_and_skips_a_topic_that_is_not_utf8(
    scripted_broker: ScriptedBroker, readers: list[Reader]
) -> None:
    # mosquitto refuses such topics itself, so a scripted broker sends them.
    reader = start_reader(
        readers, Address(scripted_broker.host, scripted_broker.port), [sensors("t6")]
    )
    qos1 = 0x02
    scripted_broker.send(
        publish_packet(b"t6/\xff/temp", b"2"),  # the fast path's
        publish_packet(b"t6/\xfe/temp", b"3", flags=qos1, packet_id=b"\x00\x01"),  # paho's
        publish_packet(b"t6/dev/temp", b"1"),
        publish_packet(b"t6/dev/temp", b"4", flags=qos1, packet_id=b"\x00\x02"),
    )

    wait_until(lambda: len(reader.payloads()) == 2, what="the two good messages")
    assert sorted(reader.payloads()) == [b"1", b"4"]
    assert reader.source.rejected["topic_not_utf8"] == 2
    assert reader.state() == "connected"


def test_mqtt_reader_speaks_mqtt5_with_a_client_id(
    mosquitto: Broker, readers: list[Reader]
) -> None:
    reader = start_reader(
        readers,
        mosquitto,
        [sensors("t7")],
        protocol="5",
        client_id="telemetry-test-t7",
        keepalive=5.0,
    )
    message = receive(mosquitto, reader, "t7/dev/temp", b"7")
    assert message.topic == "t7/dev/temp"


def test_mqtt_reader_never_logs_the_password(
    mosquitto_factory: MosquittoFactory, readers: list[Reader], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    broker = mosquitto_factory(start=False)
    reader = start_reader(
        readers, broker, [sensors("t8")], username="pi", password="hunter2-secret"
    )
    status = wait_for_state(reader.source, "disconnected")
    broker.start()
    wait_for_state(reader.source, "connected", timeout=10)

    assert caplog.records
    assert "hunter2-secret" not in caplog.text
    assert "hunter2-secret" not in repr(status) + repr(reader.source.cfg)


def test_mqtt_reader_stop_disconnects_within_its_timeout(
    mosquitto: Broker, readers: list[Reader]
) -> None:
    reader = start_reader(readers, mosquitto, [sensors("t9")])
    wait_for_state(reader.source, "connected")

    started = time.monotonic()
    reader.source.stop(timeout=1.0)

    assert time.monotonic() - started < 1.0
    assert reader.state() == "stopped"
    assert not reader.source._client.is_connected()


def test_mqtt_reader_gives_up_on_a_broker_that_never_answers(readers: list[Reader]) -> None:
    # A listening socket nobody accepts from: TCP connects, CONNACK never comes.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        host, port = silent.getsockname()
        reader = start_reader(readers, Address(host, port), [sensors("t10")], keepalive=1.0)

        status = wait_for_state(reader.source, "disconnected", timeout=5)
        assert status.last_error


def tls_broker(mosquitto_factory: MosquittoFactory, certificates: Path) -> Broker:
    return mosquitto_factory(
        listener_options=(
            f"certfile {certificates / 'broker.pem'}",
            f"keyfile {certificates / 'broker.key'}",
        )
    )


def test_mqtt_reader_reads_over_tls_verifying_the_broker(
    mosquitto_factory: MosquittoFactory, certificates: Path, readers: list[Reader]
) -> None:
    broker = tls_broker(mosquitto_factory, certificates)
    reader = start_reader(
        readers, broker, [sensors("t11")], tls=True, ca_file=str(certificates / "ca.pem")
    )

    wait_for_state(reader.source, "connected", timeout=10)


def test_mqtt_reader_refuses_a_broker_certificate_for_another_host(
    mosquitto_factory: MosquittoFactory, certificates: Path, readers: list[Reader]
) -> None:
    broker = tls_broker(mosquitto_factory, certificates)
    reader = start_reader(
        readers,
        broker,
        [sensors("t12")],
        tls=True,
        host="localhost",
        ca_file=str(certificates / "ca.pem"),
    )

    status = wait_for_state(reader.source, "disconnected", timeout=10)
    assert "certificate" in (status.last_error or "").lower()


def test_mqtt_reader_refuses_a_broker_signed_by_another_ca(
    mosquitto_factory: MosquittoFactory, certificates: Path, readers: list[Reader]
) -> None:
    openssl = find_program("openssl", hint="sudo apt-get install openssl")
    subprocess.run(
        [
            openssl,
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            "other.key",
            "-out",
            "other.pem",
            "-days",
            "1",
            "-subj",
            "/CN=someone else's CA",
        ],
        cwd=certificates,
        check=True,
        capture_output=True,
    )
    broker = tls_broker(mosquitto_factory, certificates)
    reader = start_reader(
        readers, broker, [sensors("t13")], tls=True, ca_file=str(certificates / "other.pem")
    )

    status = wait_for_state(reader.source, "disconnected", timeout=10)
    assert "certificate verify failed" in (status.last_error or "")
    assert reader.source.status().received == 0


def test_mqtt_reader_pauses_rather_than_drops_when_the_pipeline_is_behind(
    mosquitto: Broker, readers: list[Reader], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(devices, "BACKPRESSURE_MAX", 30.0)  # longer than this test
    reader = start_reader(readers, mosquitto, [Subscription(topic="bp/#", format="number")])
    wait_for_state(reader.source, "connected", timeout=10)
    time.sleep(0.3)  # the subscription is in place
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2)
    publisher.connect(mosquitto.host, mosquitto.port)
    publisher.loop_start()
    try:
        infos = [publisher.publish(f"bp/d{i % 7}/t", str(i)) for i in range(5_000)]
        for info in infos:
            info.wait_for_publish(10)
    finally:
        publisher.disconnect()
        publisher.loop_stop()
    # Nobody drains the inbox: the reader stops taking messages near its mark.
    time.sleep(1.0)
    # It reads on below BACKPRESSURE_AT (1,000); one read holds at most READ_AHEAD
    # bytes, and these packets are 14 bytes or more: without the pause, 5,000.
    most = devices.BACKPRESSURE_AT + paho_fastpath.READ_AHEAD // 14
    assert len(reader.inbox) <= most < 2_000
    got: list[bytes] = []
    deadline = time.monotonic() + 20
    while len(got) < 5_000 and time.monotonic() < deadline:
        got.extend(m.payload for m in reader.received())
        reader.messages.clear()  # what a pipeline would have taken
        time.sleep(0.01)
    assert reader.inbox.dropped == 0
    assert sorted(int(p) for p in got) == list(range(5_000))
