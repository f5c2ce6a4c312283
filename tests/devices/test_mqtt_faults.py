"""The MQTT reader against the ways brokers and networks fail in the field."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from devices.backoff import Backoff
from simulators.broker import Broker
from telemetry.config import Subscription
from tests.harness.broker import MosquittoFactory
from tests.harness.mqtt_reader import Address, Reader, receive, send, sensors, start_reader
from tests.harness.parts import find_program
from tests.harness.proxy import TcpProxy
from tests.harness.waiting import wait_for_state, wait_until

pytestmark = pytest.mark.broker


@pytest.fixture
def proxy_to(mosquitto: Broker) -> Iterator[TcpProxy]:
    proxy = TcpProxy(mosquitto.host, mosquitto.port)
    yield proxy
    proxy.close()


def test_mqtt_reader_detects_a_silent_broker_by_keepalive_and_comes_back(
    mosquitto: Broker, proxy_to: TcpProxy, readers: list[Reader]
) -> None:
    reader = start_reader(
        readers, Address(proxy_to.host, proxy_to.port), [sensors("f1")], keepalive=1.0
    )
    receive(mosquitto, reader, "f1/dev/temp", b"1")

    proxy_to.freeze()  # no FIN, no RST: the link just goes quiet
    status = wait_for_state(reader.source, "disconnected", timeout=6)
    assert status.last_error

    proxy_to.thaw()
    wait_for_state(reader.source, "connected", timeout=10)
    receive(mosquitto, reader, "f1/dev/temp", b"2")
    assert reader.source.status().reconnects >= 1


def test_mqtt_reader_reconnects_after_the_connection_is_reset(
    mosquitto: Broker, proxy_to: TcpProxy, readers: list[Reader]
) -> None:
    reader = start_reader(readers, Address(proxy_to.host, proxy_to.port), [sensors("f2")])
    receive(mosquitto, reader, "f2/dev/temp", b"1")
    proxy_to.cut()
    receive(mosquitto, reader, "f2/dev/temp", b"2")
    assert reader.source.status().reconnects >= 1


@pytest.fixture
def password_broker(mosquitto_factory: MosquittoFactory, tmp_path: Path) -> Broker:
    tool = find_program("mosquitto_passwd", "/usr/bin", hint="sudo apt-get install mosquitto")
    passwords = tmp_path / "passwords"
    subprocess.run([tool, "-b", "-c", str(passwords), "pi", "right"], check=True)
    passwords.chmod(0o600)
    broker: Broker = mosquitto_factory(
        start=False, listener_options=(f"password_file {passwords}",), anonymous=False
    )
    return broker.start()


def test_mqtt_reader_refused_credentials_give_a_clear_error_and_slow_retries(
    password_broker: Broker, readers: list[Reader]
) -> None:
    reader = start_reader(
        readers,
        password_broker,
        [sensors("f3")],
        username="pi",
        password="wrong",
        backoff=Backoff(base=0.05, cap=5.0),
    )
    status = wait_for_state(reader.source, "disconnected", timeout=5)
    assert "check username and password" in (status.last_error or "")
    assert "wrong" not in (status.last_error or "")
    # Bad credentials are retried at the backoff's cap at once, not in quick steps.
    assert status.next_attempt is not None and status.next_attempt - status.since >= 4.5
    time.sleep(1.0)
    assert reader.source.status().reconnects == 1


def test_mqtt_reader_with_the_right_password_reads(
    password_broker: Broker, readers: list[Reader]
) -> None:
    reader = start_reader(
        readers, password_broker, [sensors("f4")], username="pi", password="right"
    )
    receive(password_broker, reader, "f4/dev/temp", b"4", login=("pi", "right"))


def test_mqtt_reader_never_takes_dollar_topics_by_accident(
    mosquitto_factory: MosquittoFactory, readers: list[Reader]
) -> None:
    broker: Broker = mosquitto_factory(listener_options=("sys_interval 1",))
    reader = start_reader(
        readers, broker, [Subscription(topic="#", template="{device}/{sensor...}")]
    )
    receive(broker, reader, "f5/dev/temp", b"5")
    time.sleep(2.5)  # mosquitto publishes $SYS/... every second
    assert not [m.topic for m in reader.received() if m.topic.startswith("$")]


def test_mqtt_reader_skips_a_10_mib_payload_and_reads_the_next(
    mosquitto: Broker, readers: list[Reader]
) -> None:
    reader = start_reader(readers, mosquitto, [sensors("f6")])
    receive(mosquitto, reader, "f6/dev/temp", b"1")
    send(mosquitto, "f6/dev/temp", b"7" * (10 * 1024 * 1024))
    send(mosquitto, "f6/dev/temp", b"\xff\xfe not utf-8")
    receive(mosquitto, reader, "f6/dev/temp", b"2")
    wait_until(lambda: reader.source.rejected["payload_too_large"] == 1, what="the count")
    # A payload that is not UTF-8 is the normalizer's to count: it is handed over.
    assert b"\xff\xfe not utf-8" in reader.payloads()
    assert reader.state() == "connected"


def test_mqtt_reader_reads_long_topics_without_remembering_them(
    mosquitto: Broker, readers: list[Reader]
) -> None:
    """A topic may be 64 KiB: the reader routes a long one each time it comes
    instead of remembering it, so 10,000 of them cannot take 640 MB."""
    reader = start_reader(readers, mosquitto, [sensors("f7")])
    long_topic = "f7/dev/" + "s" * 2000
    for payload in (b"1", b"2"):
        assert receive(mosquitto, reader, long_topic, payload).topic == long_topic
    receive(mosquitto, reader, "f7/dev/temp", b"3")
    assert len(reader.source.table) == 1
    assert reader.source.table.known(b"f7/dev/temp") is not None
