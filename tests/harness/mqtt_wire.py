"""MQTT packets made by hand, and a scripted broker that sends them.

For faults a real mosquitto never lets through (a topic that is not UTF-8):
`ScriptedBroker` accepts one client, answers its CONNECT and SUBSCRIBE as a
3.1.1 broker does, then writes whatever packets a test gives it.
"""

from __future__ import annotations

import contextlib
import socket
import threading

PINGRESP = bytes([0xD0, 0])


def publish_packet(topic: bytes, payload: bytes, flags: int = 0, packet_id: bytes = b"") -> bytes:
    """A PUBLISH; `flags` 0x02 with a two-byte `packet_id` is QoS 1, 0x01 retained."""
    body = len(topic).to_bytes(2, "big") + topic + packet_id + payload
    assert len(body) < 128
    return bytes([0x30 | flags, len(body)]) + body


def _read_packet(sock: socket.socket) -> tuple[int, bytes]:
    """One packet's first byte and body (a length under 128 bytes is enough here)."""
    head = sock.recv(2, socket.MSG_WAITALL)
    if len(head) < 2:
        raise ConnectionError("the client closed")
    assert head[1] < 0x80, "a packet too long for this broker"
    return head[0], sock.recv(head[1], socket.MSG_WAITALL) if head[1] else b""


class ScriptedBroker:
    """One client's broker on loopback: CONNACK, SUBACK, then `send(packets)`."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = self._listener.getsockname()[:2]
        self._client: socket.socket | None = None
        self._subscribed = threading.Event()
        self._thread = threading.Thread(target=self._serve, name="scripted-broker", daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        with contextlib.suppress(OSError):
            client, _ = self._listener.accept()
            self._client = client
            kind, _ = _read_packet(client)
            assert kind == 0x10, f"expected CONNECT, got {kind:#x}"
            client.sendall(bytes([0x20, 2, 0, 0]))  # CONNACK: accepted
            kind, body = _read_packet(client)
            assert kind == 0x82, f"expected SUBSCRIBE, got {kind:#x}"
            at, granted = 2, b""
            while at < len(body):  # each filter: its length, itself, its options
                at += 2 + int.from_bytes(body[at : at + 2], "big") + 1
                granted += b"\x01"  # QoS 1
            client.sendall(bytes([0x90, 2 + len(granted)]) + body[:2] + granted)
            self._subscribed.set()
            while _read_packet(client):  # PUBACKs, PINGREQs: read and let be
                pass

    def send(self, *packets: bytes) -> None:
        """Write `packets` to the client once it has subscribed."""
        assert self._subscribed.wait(10), "the client did not subscribe"
        assert self._client is not None
        self._client.sendall(b"".join(packets))

    def close(self) -> None:
        self._listener.close()
        if self._client is not None:
            with contextlib.suppress(OSError):
                self._client.shutdown(socket.SHUT_RDWR)
            self._client.close()
        self._thread.join(5)
