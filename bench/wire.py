"""Just enough MQTT 3.1.1 on a plain socket to set up the ingest benchmark.

The benchmark needs three things no consumer under test should do for it:
create a persistent session with a subscription, publish a backlog of QoS 0
messages into it as fast as TCP takes them, and delete the session afterwards.
Hand-built packets keep these steps independent of paho (one of the things
measured) and cheap: the whole backlog is encoded once and written with one
`sendall`.

Completion is checked with a PINGREQ after the last PUBLISH: mosquitto handles
one connection's packets in order, so its PINGRESP means every message before
it has been routed into the queues of the sessions that subscribe.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterable

from bench.model import BenchError

TIMEOUT = 30.0
KEEPALIVE = 600


def _length(n: int) -> bytes:
    """MQTT's variable-length "remaining length" field."""
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str | bytes) -> bytes:
    raw = text.encode("utf-8") if isinstance(text, str) else text
    return struct.pack("!H", len(raw)) + raw


def _packet(first: int, body: bytes) -> bytes:
    return bytes((first,)) + _length(len(body)) + body


def connect_packet(client_id: str, *, clean: bool) -> bytes:
    flags = 0x02 if clean else 0x00
    body = _string("MQTT") + bytes((4, flags)) + struct.pack("!H", KEEPALIVE) + _string(client_id)
    return _packet(0x10, body)


def publish_packet(topic: str, payload: bytes, *, packet_id: int = 0) -> bytes:
    """One PUBLISH, not retained: QoS 0, or QoS 1 with a `packet_id` (1-65535)."""
    if packet_id:
        return _packet(0x32, _string(topic) + struct.pack("!H", packet_id) + payload)
    return _packet(0x30, _string(topic) + payload)


def subscribe_packet(topic_filter: str, qos: int = 0) -> bytes:
    return _packet(0x82, struct.pack("!H", 1) + _string(topic_filter) + bytes((qos,)))


PINGREQ = b"\xc0\x00"
DISCONNECT = b"\xe0\x00"


class WireError(BenchError):
    """The broker answered something this helper did not expect."""


class Connection:
    """One MQTT connection used synchronously; a context manager that disconnects."""

    def __init__(
        self, host: str, port: int, client_id: str, *, clean: bool, nodelay: bool = False
    ) -> None:
        self._sock = socket.create_connection((host, port), timeout=TIMEOUT)
        if nodelay:  # every `send` its own TCP segment: one message per packet
            self._sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        try:
            self._sock.sendall(connect_packet(client_id, clean=clean))
            connack = self._read_packet()
            if connack[0] != 0x20 or connack[-1] != 0:
                raise WireError(f"{client_id}: connection refused: {connack!r}")
        except BaseException:
            self._sock.close()
            raise

    def _read_exactly(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self._sock.recv(n - len(data))
            if not chunk:
                raise WireError("the broker closed the connection")
            data += chunk
        return data

    def _read_packet(self) -> bytes:
        """The first byte of the next packet followed by its body."""
        head = self._read_exactly(1)
        length, shift = 0, 0
        while True:
            byte = self._read_exactly(1)[0]
            length |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
        return head + self._read_exactly(length)

    def subscribe(self, topic_filter: str, qos: int = 0) -> None:
        self._sock.sendall(subscribe_packet(topic_filter, qos))
        suback = self._read_packet()
        if suback[0] != 0x90 or suback[-1] not in (0, 1, 2):
            raise WireError(f"subscription to {topic_filter!r} refused: {suback!r}")

    def send(self, data: bytes) -> None:
        self._sock.sendall(data)

    def sync(self) -> int:
        """Wait until the broker has handled everything sent so far; the PUBACKs
        (of QoS 1 PUBLISHes) read on the way, counted."""
        self._sock.sendall(PINGREQ)
        # Nothing else arrives on a connection that subscribes to nothing.
        acks = 0
        while (answer := self._read_packet()) != b"\xd0":
            if answer[0] != 0x40:
                raise WireError(f"expected PUBACK or PINGRESP, got {answer!r}")
            acks += 1
        return acks

    def close(self) -> None:
        try:
            self._sock.sendall(DISCONNECT)
        except OSError:
            pass
        finally:
            self._sock.close()

    def __enter__(self) -> Connection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def encode_backlog(messages: Iterable[tuple[str, bytes]]) -> bytes:
    return b"".join(publish_packet(topic, payload) for topic, payload in messages)
