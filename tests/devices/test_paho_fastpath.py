"""The reader's reach into paho, against a real mosquitto: what `paho_fastpath`
relies on (see its docstring) holds in the installed paho, and `ReadAhead`
cuts reads as it should.  A paho release that changes what this module
relies on fails here."""

from __future__ import annotations

import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from devices.paho_fastpath import READ_AHEAD, ReadAhead, close_sockets, install, queue_packets
from simulators.broker import Broker
from tests.harness.broker import MosquittoFactory
from tests.harness.mqtt_reader import send
from tests.harness.mqtt_watch import Watcher
from tests.harness.mqtt_wire import PINGRESP, publish_packet


def _open_fds() -> set[str]:
    return set(os.listdir("/proc/self/fd"))


class Subscriber:
    """A paho client run by hand, as the reader runs it, with a `ReadAhead` installed."""

    def __init__(self, broker: Broker, topic: str) -> None:
        self.taken: list[tuple[bytes, bytes]] = []  # what the fast path took
        self.through_paho: list[tuple[str, bytes]] = []  # what paho's on_message got
        self.subscribed = False
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.on_connect = lambda client, *_: client.subscribe(topic, qos=1)
        self.client.on_subscribe = lambda *_: self._suback()
        self.client.on_message = lambda _c, _u, m: self.through_paho.append(
            (m.topic, bytes(m.payload))
        )
        self.client.connect(broker.host, broker.port)
        self.socket = self.client.socket()
        self.ahead = install(self.client, self.taken.extend, v5=False)

    def _suback(self) -> None:
        self.subscribed = True

    def loop_until(self, what: str, done: Callable[[], object]) -> None:
        deadline = time.monotonic() + 10
        while not done():
            assert self.client.loop(0.05) == MQTTErrorCode.MQTT_ERR_SUCCESS
            assert time.monotonic() < deadline, f"paho did not see {what}"


@pytest.fixture
def subscriber(mosquitto: Broker) -> Iterator[Subscriber]:
    sub = Subscriber(mosquitto, "pf/#")
    yield sub
    close_sockets(sub.client)


def test_paho_keeps_its_connected_socket_where_install_puts_the_read_ahead(
    subscriber: Subscriber,
) -> None:
    assert isinstance(subscriber.socket, socket.socket)
    assert subscriber.socket.fileno() >= 0
    # `socket()` reads `_sock`: what install wrote is what paho now uses.
    assert subscriber.client.socket() is subscriber.ahead


def test_paho_reads_every_packet_through_the_installed_socket(
    mosquitto: Broker, subscriber: Subscriber
) -> None:
    # CONNACK and SUBACK reach paho through `ReadAhead.recv`.
    subscriber.loop_until("its SUBACK", lambda: subscriber.subscribed)

    send(mosquitto, "pf/plain", b"0")
    send(mosquitto, "pf/acked", b"1", qos=1)
    subscriber.loop_until("both messages", lambda: subscriber.taken and subscriber.through_paho)

    # The QoS 0 one went to the fast path only: paho read nothing around it.
    assert subscriber.taken == [(b"pf/plain", b"0")]
    assert subscriber.through_paho == [("pf/acked", b"1")]
    # Nothing left to read is a BlockingIOError to paho: "no more for now".
    assert subscriber.client.loop_read() == MQTTErrorCode.MQTT_ERR_SUCCESS


def test_paho_takes_the_end_of_the_installed_socket_as_a_lost_connection(
    mosquitto_factory: MosquittoFactory,
) -> None:
    broker = mosquitto_factory()
    subscriber = Subscriber(broker, "pf/#")
    try:
        subscriber.loop_until("its SUBACK", lambda: subscriber.subscribed)
        broker.stop()
        deadline = time.monotonic() + 10
        while (rc := subscriber.client.loop(0.05)) == MQTTErrorCode.MQTT_ERR_SUCCESS:
            assert time.monotonic() < deadline, "paho did not see the broker go"
        assert rc == MQTTErrorCode.MQTT_ERR_CONN_LOST
    finally:
        close_sockets(subscriber.client)


def test_close_sockets_closes_the_socket_and_pahos_wakeup_pair(mosquitto: Broker) -> None:
    before = _open_fds()
    subscriber = Subscriber(mosquitto, "pf/#")
    subscriber.loop_until("its SUBACK", lambda: subscriber.subscribed)  # loop() opens the pair
    assert len(_open_fds() - before) >= 3  # the socket and the pair

    close_sockets(subscriber.client)

    assert subscriber.socket is not None and subscriber.socket.fileno() == -1
    assert subscriber.client.socket() is None
    assert _open_fds() - before == set()


class _CountingSocket:
    """A real socket, its `recv` calls counted."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.calls = 0

    def recv(self, size: int) -> bytes:
        self.calls += 1
        return self.sock.recv(size)


def test_read_ahead_hands_publishes_over_in_one_list_and_serves_paho_the_rest() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.setblocking(False)  # as paho's socket is
        packets = [publish_packet(b"a/b", str(i % 10).encode() * 2) for i in range(200)]
        right.sendall(b"".join(packets[:100]) + PINGRESP + b"".join(packets[100:]))
        counted = _CountingSocket(left)
        taken: list[list[tuple[bytes, bytes]]] = []
        ahead = ReadAhead(counted, taken.append, v5=False)
        # What paho asks for a packet: its first byte, its length byte (no body here).
        assert ahead.recv(1) + ahead.recv(1) == PINGRESP
        assert counted.calls == 1
        assert [len(batch) for batch in taken] == [200]
        assert taken[0][0] == (b"a/b", b"00")
        with pytest.raises(BlockingIOError):  # nothing more for paho: its read ends
            ahead.recv(1)
        right.close()
        assert ahead.recv(1) == b""  # the peer closed: paho sees the end as before


def test_read_ahead_lets_paho_gather_a_packet_too_big_to_hold() -> None:
    left, right = socket.socketpair()
    with left, right:
        topic, payload = b"big", b"p" * (3 * READ_AHEAD)
        body = len(topic).to_bytes(2, "big") + topic + payload
        length = bytes([len(body) & 0x7F | 0x80, len(body) >> 7 & 0x7F | 0x80, len(body) >> 14])
        packet = bytes([0x30]) + length + body
        taken: list[list[tuple[bytes, bytes]]] = []
        ahead = ReadAhead(left, taken.append, v5=False)
        sender = threading.Thread(target=right.sendall, args=(packet + PINGRESP,))
        sender.start()
        got = b""
        while len(got) < len(packet) + len(PINGRESP):
            got += ahead.recv(len(packet) + len(PINGRESP) - len(got))
        sender.join()
        assert got == packet + PINGRESP  # paho got it whole, and what came after
        assert taken == []


def test_read_ahead_fill_takes_publishes_and_says_when_paho_has_something_to_read() -> None:
    left, right = socket.socketpair()
    with left, right:
        left.setblocking(False)
        taken: list[list[tuple[bytes, bytes]]] = []
        ahead = ReadAhead(left, taken.append, v5=False)
        assert ahead.fill() is False  # nothing there
        right.sendall(publish_packet(b"a/b", b"1") + publish_packet(b"a/b", b"2"))
        assert ahead.fill() is False  # publishes only: nothing for paho
        assert taken == [[(b"a/b", b"1"), (b"a/b", b"2")]]
        right.sendall(PINGRESP)
        assert ahead.fill() is True
        assert ahead.recv(1) + ahead.recv(1) == PINGRESP
        right.close()
        assert ahead.fill() is True  # the end: paho reads it and ends the connection
        assert ahead.recv(1) == b""


def test_queue_packets_is_written_by_pahos_thread_in_order_and_reports_its_mid(
    mosquitto: Broker, watch: Callable[..., Watcher]
) -> None:
    w = watch(mosquitto, "fastpath-q/#")
    published: list[int] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_publish = lambda _c, _u, mid, *_: published.append(mid)
    client.connect(mosquitto.host, mosquitto.port)
    client.loop_start()
    try:
        ordinary = client.publish("fastpath-q/a", b"first")
        data = b"".join(
            publish_packet(f"fastpath-q/b{i}".encode(), str(i).encode()) for i in range(3)
        )
        info = queue_packets(client, data, -7)
        info.wait_for_publish(5)
        assert info.is_published() and info.mid == -7
        w.wait_for("fastpath-q/b2", b"2")
        assert [(m.topic, m.payload) for m in w.messages()] == [
            ("fastpath-q/a", b"first"),
            *((f"fastpath-q/b{i}", str(i).encode()) for i in range(3)),
        ]
        assert published == [ordinary.mid, -7]
    finally:
        client.disconnect()
        client.loop_stop()
