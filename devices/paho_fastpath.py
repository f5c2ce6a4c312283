"""The MQTT reader's one reach into paho's private parts: where it keeps its socket.

paho has no hook for its reads, and no public call that closes its sockets.
To take plain (QoS 0) PUBLISHes out of each read of the socket itself, the
reader puts a `ReadAhead` where paho keeps its socket (`install`), and to
close what paho leaves open it calls `close_sockets`.  No other module of the
readers touches paho's private attributes (ruff's SLF001 holds them to that).
What this relies on, as paho 2.2 does it (pinned in pyproject.toml):

- after `connect()` returns, the socket (or TLS socket) is `Client._sock`,
  which `Client.socket()` returns, and paho uses whatever `_sock` holds;
- paho reads only through `_sock.recv`: a packet is a `recv(1)` for its first
  byte, one `recv(1)` per byte of its remaining length, then its body (one
  or more `recv`s); `BlockingIOError` means nothing more for now, `b""` that
  the broker closed;
- everything else goes through a socket's own methods (`send`, `fileno` for
  `select`, `pending` on TLS, `close`), which a `ReadAhead` passes on;
- the reader runs paho by its external-loop interface (`loop_read`,
  `loop_write`, `loop_misc`, `want_write`: public), and reads the socket itself
  when `select` says so (`ReadAhead.fill`), asking paho to read only when a
  packet is held for it;
- `Client._reset_sockets()` closes the socket and the wake-up socketpair.

And the republisher's (`devices.republish`) one reach, for writing: many QoS 0
PUBLISH packets, encoded by `devices.republish_wire`, go to paho's network
thread as one write (`queue_packets`), in order with paho's own packets:

- `Client._packet_queue(command, packet, mid, qos, info)` appends to the
  queue paho's thread writes from, wakes that thread, and once every byte is
  written calls `on_publish(mid)` for a PUBLISH at QoS 0 and marks `info`
  published; `reconnect()` empties that queue (what was not written is lost).

tests/devices/test_paho_fastpath.py checks these against a real mosquitto
(TLS: the reader's TLS tests in test_mqtt.py connect through a `ReadAhead`): a
paho release that changes one fails there, not in the field.
"""

from __future__ import annotations

import ssl
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from devices.mqtt_packets import Publish, split_packets

READ_AHEAD = 8192  # bytes asked of the socket at a time

Take = Callable[[list[Publish]], None]


class ReadAhead:
    """paho's socket, read up to READ_AHEAD bytes at a time; QoS 0 PUBLISHes go
    straight to `take`, every other packet to paho.

    paho reads a packet with a `recv` for its first byte, one per byte of its
    length and one for its body, `Client.loop` reads one packet per `select`,
    and each PUBLISH becomes an `MQTTMessage` matched against the subscriptions
    in Python: paho's own loop, doing nothing with what it reads, costs more per
    message than the pipeline then spends normalizing and storing it
    (bench/README.md, ingest).  This reads whatever the kernel holds, cuts it
    into packets (`split_packets`), hands the plain PUBLISHes over as one list,
    and serves paho's `recv`s with the rest (CONNACK, SUBACK, PINGRESP, QoS 1
    and 2): paho still does the connecting, subscribing, keepalive and acks.
    Every other use of the socket goes to it unchanged.
    """

    def __init__(self, sock: Any, take: Take, v5: bool) -> None:
        self._sock = sock
        self._take = take
        self._v5 = v5
        self._buf = b""  # whole packets for paho
        self._pos = 0
        self._partial = b""  # the start of a packet whose end has not come yet
        self._through = 0  # bytes of a big packet that go to paho as they come
        self._closed = False  # the broker closed the connection

    def held(self) -> int:
        """Bytes read for paho that it has not taken yet."""
        return len(self._buf) - self._pos

    def fill(self) -> bool:
        """Read what the socket holds, for the reader's own loop once `select` says
        there is something: the QoS 0 PUBLISHes go to `take`.  True when paho has
        something to read (packets held for it, the end of the connection, an
        error), False when not."""
        if self._pos < len(self._buf) or self._through or self._closed:
            return True
        try:
            self._read()
        except (BlockingIOError, ssl.SSLWantReadError):
            return False
        except OSError:
            return True  # paho's own read meets it again and ends the connection
        return self._closed or self._pos < len(self._buf)

    def recv(self, size: int) -> bytes:
        if self._pos >= len(self._buf):
            if self._through:  # the rest of a packet too big to gather here
                passed: bytes = self._sock.recv(min(size, self._through))
                self._through -= len(passed)
                return passed
            if not self._closed:
                self._read()  # BlockingIOError when nothing is there
            if self._closed:
                return b""  # paho sees the end
            if not self._buf:
                raise BlockingIOError  # nothing for paho: its read ends; `loop` reads on
        end = self._pos + size
        chunk = self._buf[self._pos : end]
        self._pos = min(end, len(self._buf))
        return chunk

    def _read(self) -> None:
        data = self._sock.recv(READ_AHEAD)
        if not data:
            self._closed = True
            return
        data = self._partial + data
        publishes, others, used, missing = split_packets(data, self._v5)
        self._partial = data[used:]
        if missing > READ_AHEAD:  # a big packet: paho gathers it (and the limit
            others.append(self._partial)  # on payloads refuses it)
            self._partial, self._through = b"", missing
        if publishes:
            self._take(publishes)
        self._buf, self._pos = b"".join(others), 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def install(client: mqtt.Client, take: Take, v5: bool) -> ReadAhead:
    """Put a `ReadAhead` between a connected `client` and its socket."""
    sock = client.socket()
    ahead = ReadAhead(sock, take, v5)
    if sock is not None:
        client._sock = ahead  # noqa: SLF001 (paho reads `_sock` and has no hook for its reads)
    return ahead


def queue_packets(client: mqtt.Client, packets: bytes, mid: int) -> mqtt.MQTTMessageInfo:
    """QoS 0 PUBLISH `packets` written by `client`'s network thread as one, after what
    it already queued; `on_publish` gets `mid` (the caller's own numbering) when
    all are written."""
    info = mqtt.MQTTMessageInfo(mid)
    client._packet_queue(mqtt.PUBLISH, packets, mid, 0, info)  # noqa: SLF001 (no public batch write)
    return info


def close_sockets(client: mqtt.Client) -> None:
    """Close `client`'s socket, if any, and its wake-up socketpair."""
    client._reset_sockets()  # noqa: SLF001 (no public call closes both; disconnect leaves the pair)
