"""The MQTT reader: one paho client per `[[mqtt]]` section, in a thread it owns.

The thread connects, runs paho's network loop and, when the broker is absent,
refuses or goes away, waits a jittered, capped backoff and connects again; it
never gives up and `start` never waits for it.  paho does not resubscribe after
a reconnect, so `on_connect` subscribes every time.

Messages come in on two paths, and both are routed by the broker's
`RoutingTable`: one message per subscription that takes the topic, in config
order, each read the way its subscription says.  Plain (QoS 0) PUBLISHes do not
go through paho's packet reading at all: the reader cuts them out of each read
of the socket and hands a read's worth to the inbox at once
(`_ReadAhead`, `split_packets`); paho still connects, subscribes, pings and
acknowledges QoS 1 and 2, whose messages come through its one `on_message`.
Callbacks only hand over: build `RawMessage`s, put them in the inbox.  Every
callback catches everything: an exception escaping into paho would end the
network loop and with it the reader.  What is skipped (oversized payloads,
non-UTF-8 topics, messages no subscription claims) is counted in `rejected`.
Credentials are handed to paho and never logged.
"""

from __future__ import annotations

import logging
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from devices import BACKPRESSURE_AT, ReconnectingSource, count_rejection
from devices.backoff import Backoff
from telemetry.config import LimitsConfig, MqttConfig
from telemetry.errors import SourceError
from telemetry.handoff import Inbox
from telemetry.model import RawMessage
from telemetry.routing import Routed, RoutingTable

logger = logging.getLogger(__name__)

# How often the network thread looks at the stop flag: bounds `stop()`.
LOOP_TIMEOUT = 0.2
# Seconds a TCP/TLS connect may take before the attempt counts as failed.
CONNECT_TIMEOUT = 5.0
# MQTT 5 only: how long the broker keeps a persistent session after a disconnect.
SESSION_EXPIRY = 3600
# CONNACK reason codes that mean "your credentials": retrying fast cannot help,
# and hammering a broker with bad passwords can get the client banned.
AUTH_REFUSALS = frozenset({134, 135})  # bad user name or password, not authorized


class TrackingContext(ssl.SSLContext):
    """An SSL context that can close the last socket it wrapped.

    paho 2.2 drops, without closing it, the socket of a TLS handshake that
    fails (a wrong certificate): without this every retry would leak one.
    """

    last: ssl.SSLSocket | None = None

    def wrap_socket(  # noqa: PLR0917 (the signature of ssl.SSLContext.wrap_socket)
        self,
        sock: socket.socket,
        server_side: bool = False,
        do_handshake_on_connect: bool = True,
        suppress_ragged_eofs: bool = True,
        server_hostname: str | bytes | None = None,
        session: ssl.SSLSession | None = None,
    ) -> ssl.SSLSocket:
        self.last = super().wrap_socket(
            sock,
            server_side,
            do_handshake_on_connect,
            suppress_ragged_eofs,
            server_hostname,
            session,
        )
        return self.last

    def close_last(self) -> None:
        """Close the socket of a failed connect attempt (paho does not hold it)."""
        last, self.last = self.last, None
        if last is not None:
            last.close()


READ_AHEAD = 8192


Publish = tuple[bytes, bytes]  # (topic, payload) of a QoS 0 PUBLISH


def split_packets(data: bytes, v5: bool) -> tuple[list[Publish], list[bytes], int, int]:
    """The whole packets at the start of `data`: QoS 0 PUBLISHes as (topic, payload),
    every other packet as its bytes, where the first incomplete packet starts and
    how many of its bytes are missing (0 when even its length is not all here).

    A PUBLISH that needs paho (QoS 1 and 2 are acknowledged; MQTT 5 properties; a
    topic alias) stays whole.  A length that is not MQTT's (over four bytes) ends
    the split there: paho reads the rest and refuses it, dropping the connection.
    """
    publishes: list[Publish] = []
    others: list[bytes] = []
    at, end_of_data = 0, len(data)
    while at < end_of_data:
        # The remaining length: seven bits a byte, least significant first.
        body, length, shift = at + 1, 0, 0
        while body < end_of_data and shift < 28:
            byte = data[body]
            body += 1
            length |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                break
        else:
            if shift >= 28:  # malformed: leave it and all after it to paho
                others.append(data[at:])
                return publishes, others, end_of_data, 0
            return publishes, others, at, 0  # the length itself is not all here yet
        end = body + length
        if end > end_of_data:
            return publishes, others, at, end - end_of_data
        if data[at] & 0xF6 == 0x30 and length >= 2:  # PUBLISH, QoS 0 (DUP, RETAIN any)
            topic_end = body + 2 + (data[body] << 8 | data[body + 1])
            if v5:  # no properties (one zero byte) is the usual case; else paho's
                simple = topic_end < end and data[topic_end] == 0
                payload_at = topic_end + 1
            else:
                simple, payload_at = True, topic_end
            if simple and body + 2 < topic_end <= end:
                publishes.append((data[body + 2 : topic_end], data[payload_at:end]))
                at = end
                continue
        others.append(data[at:end])
        at = end
    return publishes, others, at, 0


class _ReadAhead:
    """paho's socket, read up to READ_AHEAD bytes at a time; QoS 0 PUBLISHes go
    straight to `take`, every other packet to paho.

    paho reads a packet with a `recv` for its first byte, one per byte of its
    length and one for its body, `Client.loop` reads one packet per `select`,
    and each PUBLISH becomes an `MQTTMessage` matched against the subscriptions
    in Python: paho's own loop, doing nothing with what it reads, took 15 µs a
    message here, more than the pipeline then spends normalizing and storing it
    (bench/README.md, ingest).  This reads whatever the kernel holds, cuts it
    into packets (`split_packets`), hands the plain PUBLISHes over as one list,
    and serves paho's `recv`s with the rest (CONNACK, SUBACK, PINGRESP, QoS 1
    and 2): paho still does the connecting, subscribing, keepalive and acks.
    Every other use of the socket goes to it unchanged.
    """

    def __init__(self, sock: Any, take: Callable[[list[Publish]], None], v5: bool) -> None:
        self._sock = sock
        self._take = take
        self._v5 = v5
        self._buf = b""  # whole packets for paho
        self._pos = 0
        self._partial = b""  # the start of a packet whose end has not come yet
        self._through = 0  # bytes of a big packet that go to paho as they come

    @classmethod
    def install(
        cls, client: mqtt.Client, take: Callable[[list[Publish]], None], v5: bool
    ) -> _ReadAhead:
        """Put one between `client` and its socket (paho has no hook for its reads)."""
        ahead = cls(client._sock, take, v5)
        if client._sock is not None:
            client._sock = ahead
        return ahead

    def held(self) -> int:
        """Bytes read for paho that it has not taken yet."""
        return len(self._buf) - self._pos

    def recv(self, size: int) -> bytes:
        if self._pos >= len(self._buf):
            if self._through:  # the rest of a packet too big to gather here
                passed: bytes = self._sock.recv(min(size, self._through))
                self._through -= len(passed)
                return passed
            data = self._sock.recv(READ_AHEAD)  # BlockingIOError when nothing is there
            if not data:
                return b""  # closed: paho says so
            data = self._partial + data
            publishes, others, used, missing = split_packets(data, self._v5)
            self._partial = data[used:]
            if missing > READ_AHEAD:  # a big packet: paho gathers it (and the limit
                others.append(self._partial)  # on payloads refuses it)
                self._partial, self._through = b"", missing
            if publishes:
                self._take(publishes)
            self._buf, self._pos = b"".join(others), 0
            if not self._buf:
                raise BlockingIOError  # nothing for paho: its read ends; `loop` reads on
        end = self._pos + size
        chunk = self._buf[self._pos : end]
        self._pos = min(end, len(self._buf))
        return chunk

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


class MqttSource(ReconnectingSource):
    """Reads the subscriptions of one broker into an `Inbox`."""

    kind = "mqtt"

    def __init__(
        self, cfg: MqttConfig, limits: LimitsConfig, *, backoff: Backoff | None = None
    ) -> None:
        super().__init__(cfg.name, backoff)
        self.cfg = cfg
        self.limits = limits
        # Which subscriptions' routes a topic gets; both paths of messages ask it.
        self.table = RoutingTable(cfg.name, cfg.subscribe)
        # Why the current connection ended; set by paho's callbacks in the thread.
        self._ended: str | None = None
        self._refused_credentials = False
        self._inbox: Inbox | None = None
        self._tls: TrackingContext | None = None
        self._client = self._make_client()

    def _run(self, inbox: Inbox) -> None:
        self._inbox = inbox
        client = self._client
        try:
            while not self._stopping:
                self._connecting()
                self._ended = None
                self._refused_credentials = False
                try:
                    self._connect(client)
                except Exception as exc:  # refused, unreachable, TLS failure, bad host
                    if self._tls is not None:
                        self._tls.close_last()
                    self._retry(f"cannot connect to {self.cfg.url}: {exc}")
                    continue
                if self._tls is not None:
                    self._tls.last = None  # paho owns (and will close) this socket now
                ahead = _ReadAhead.install(client, self._take, self.cfg.protocol == "5")
                while not self._stopping:
                    # (Reading without system calls, this thread would otherwise hold
                    # the GIL and starve the loop that drains the inbox.)
                    self._wait_for_room(inbox)
                    rc = client.loop(LOOP_TIMEOUT)
                    # What is already read needs no `select`: take its packets (a
                    # read may refill it, so the inbox's level ends the run too).
                    while (
                        rc == MQTTErrorCode.MQTT_ERR_SUCCESS
                        and ahead.held()
                        and len(inbox) <= BACKPRESSURE_AT
                    ):
                        rc = client.loop_read()
                    if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                        self._ended = self._ended or f"connection lost: {mqtt.error_string(rc)}"
                        break
                if not self._stopping:
                    slow = self._backoff.cap if self._refused_credentials else 0.0
                    self._retry(self._ended or "connection lost", at_least=slow)
        finally:
            self._close(client)

    def _connect(self, client: mqtt.Client) -> None:
        cfg = self.cfg
        keepalive = max(1, round(cfg.keepalive))
        if cfg.protocol != "5":
            client.connect(cfg.host, cfg.port, keepalive)
            return
        persistent = cfg.client_id is not None
        properties = None
        if persistent:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = SESSION_EXPIRY
        client.connect(
            cfg.host, cfg.port, keepalive, clean_start=not persistent, properties=properties
        )

    def _close(self, client: mqtt.Client) -> None:
        try:
            if client.is_connected():
                # Without our own paho thread, disconnect() writes DISCONNECT and
                # closes the socket before it returns.
                client.disconnect()
        except Exception:
            logger.debug("mqtt %r: disconnect failed", self.cfg.name, exc_info=True)
        # paho has no public call that closes its socket and wake-up socketpair.
        client._reset_sockets()

    def _make_client(self) -> mqtt.Client:
        cfg = self.cfg
        v5 = cfg.protocol == "5"
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=cfg.client_id or "",
            # Persistent sessions only with an explicit, stable client id.
            clean_session=None if v5 else cfg.client_id is None,
            protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
        )
        client.suppress_exceptions = True  # second guard; every callback catches already
        client.connect_timeout = CONNECT_TIMEOUT
        if cfg.username is not None:
            client.username_pw_set(cfg.username, cfg.password)
        if cfg.tls:
            self._tls = self._tls_context()
            client.tls_set_context(self._tls)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        # One callback for every subscription: the table routes, as on the fast path
        # (paho's per-filter callbacks would run in the order of its own matcher).
        client.on_message = self._on_message
        return client

    def _tls_context(self) -> TrackingContext:
        cfg = self.cfg
        # Like ssl.create_default_context: verifies the certificate and the host name.
        context = TrackingContext(ssl.PROTOCOL_TLS_CLIENT)
        try:
            if cfg.ca_file:
                context.load_verify_locations(cafile=cfg.ca_file)
            else:
                context.load_default_certs()
            if cfg.cert_file:
                context.load_cert_chain(cfg.cert_file, cfg.key_file)
        except (OSError, ssl.SSLError) as exc:
            raise SourceError(
                f"mqtt {cfg.name!r}: cannot load the TLS files (ca_file {cfg.ca_file!r}, "
                f"cert_file {cfg.cert_file!r}, key_file {cfg.key_file!r}): {exc}; "
                "expected readable PEM files"
            ) from None
        return context

    # -- paho callbacks: they run in the thread, inside client.loop() ---------

    def _on_connect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        try:
            if reason_code.is_failure:
                self._ended = f"broker refused the connection: {reason_code}"
                if reason_code.value in AUTH_REFUSALS:
                    self._refused_credentials = True
                    self._ended += f"; check username and password of [[mqtt]] {self.cfg.name!r}"
                return
            if self.cfg.subscribe:
                client.subscribe([(sub.topic, sub.qos) for sub in self.cfg.subscribe])
            self._connected()
            logger.info("mqtt %r: connected to %s", self.cfg.name, self.cfg.url)
        except Exception:
            logger.exception("mqtt %r: on_connect failed", self.cfg.name)

    def _on_disconnect(
        self,
        client: mqtt.Client,
        userdata: Any,
        flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        properties: Properties | None,
    ) -> None:
        # A refusal seen in on_connect says more than the disconnect that follows it.
        self._ended = self._ended or f"connection lost: {reason_code}"

    def _on_subscribe(
        self,
        client: mqtt.Client,
        userdata: Any,
        mid: int,
        reason_codes: list[ReasonCode],
        properties: Properties | None,
    ) -> None:
        try:
            for sub, code in zip(self.cfg.subscribe, reason_codes, strict=False):
                if code.is_failure:
                    logger.warning(
                        "mqtt %r: broker refused the subscription %r: %s",
                        self.cfg.name,
                        sub.topic,
                        code,
                    )
        except Exception:
            logger.exception("mqtt %r: on_subscribe failed", self.cfg.name)

    def _on_message(self, client: mqtt.Client, userdata: Any, message: mqtt.MQTTMessage) -> None:
        # paho's path: QoS 1 and 2, and the PUBLISHes the fast path leaves to paho
        # (MQTT 5 properties, topic aliases); routed as the fast path routes.
        try:
            try:
                raw_topic = message.topic.encode()
            except UnicodeDecodeError as exc:  # paho decodes it; `_take` counts it
                raw_topic = exc.object
            self._take([(raw_topic, bytes(message.payload))])
        except Exception:
            count_rejection(
                self.rejected,
                logger,
                "handler_error",
                "mqtt %r: could not hand over a message",
                self.cfg.name,
            )

    def _take(self, publishes: list[Publish]) -> None:
        """Messages as (topic, payload), a read's QoS 0 PUBLISHes (see
        `_ReadAhead`) or one from `on_message`, into the inbox at once."""
        try:
            now = time.time  # each its own time: a series' points in one read stay apart
            max_payload = self.limits.max_payload
            known = self.table.known
            batch = []
            for raw_topic, payload in publishes:
                routed = known(raw_topic) or self._learn(raw_topic)
                if routed is None:
                    continue
                topic, routes = routed
                if len(payload) > max_payload:
                    self._too_large(topic, len(payload))
                    continue
                recv_ts = now()
                for route in routes:
                    batch.append(RawMessage(route, topic, payload, recv_ts))
            inbox = self._inbox
            if inbox is not None and batch:
                inbox.put_many(batch)
                self.received += len(batch)
        except Exception:
            count_rejection(
                self.rejected,
                logger,
                "handler_error",
                "mqtt %r: could not hand over %d messages",
                self.cfg.name,
                len(publishes),
            )

    def _learn(self, raw_topic: bytes) -> Routed | None:
        """The routes of a topic the table does not know yet; None (counted) for a
        topic that is not UTF-8 or that no subscription takes."""
        try:
            routed = self.table.learn(raw_topic)
        except UnicodeDecodeError:
            count_rejection(
                self.rejected,
                logger,
                "topic_not_utf8",
                "mqtt %r: topic %r is not UTF-8",
                self.cfg.name,
                raw_topic,
            )
            return None
        if not routed[1]:
            count_rejection(
                self.rejected,
                logger,
                "unrouted",
                "mqtt %r: no subscription matches topic %r",
                self.cfg.name,
                routed[0],
            )
            return None
        return routed

    def _too_large(self, topic: str, size: int) -> None:
        count_rejection(
            self.rejected,
            logger,
            "payload_too_large",
            "mqtt %r: %d bytes on %r; the limit is %d",
            self.cfg.name,
            size,
            topic,
            self.limits.max_payload,
        )
