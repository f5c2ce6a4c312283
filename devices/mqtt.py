"""The MQTT reader: one paho client per `[[mqtt]]` section, in a thread it owns.

The thread connects, runs paho through its external-loop interface around a
`select` of its own (`_serve`) and, when the broker is absent,
refuses or goes away, waits a jittered, capped backoff and connects again; it
never gives up and `start` never waits for it.  paho does not resubscribe after
a reconnect, so `on_connect` subscribes every time.

Messages come in on two paths, and both are routed by the broker's
`RoutingTable`: one message per subscription that takes the topic, in config
order, each read the way its subscription says.  Plain (QoS 0) PUBLISHes do not
go through paho's packet reading at all: the reader cuts them out of each read
of the socket and hands a read's worth to the inbox at once
(`paho_fastpath.ReadAhead`); paho still connects, subscribes, pings and
acknowledges QoS 1 and 2, whose messages come through its one `on_message`.
Callbacks only hand over: build `RawMessage`s, put them in the inbox.  Every
callback catches everything: an exception escaping into paho would end the
network loop and with it the reader.  What is skipped (oversized payloads,
non-UTF-8 topics, messages no subscription claims) is counted in `rejected`.
Credentials are handed to paho and never logged.
"""

from __future__ import annotations

import contextlib
import logging
import select
import socket
import ssl
import time
from typing import Any, TypeVar

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode

from devices import BACKPRESSURE_AT, ReconnectingSource, count_rejection, paho_fastpath
from devices.backoff import Backoff
from devices.mqtt_packets import Publish
from telemetry.config import LimitsConfig, MqttConfig
from telemetry.errors import SourceError
from telemetry.handoff import Inbox
from telemetry.model import RawMessage
from telemetry.routing import Routed, RoutingTable

_Context = TypeVar("_Context", bound=ssl.SSLContext)

logger = logging.getLogger(__name__)

# How long the reader waits for the socket when nothing arrives.  It must wake
# well within the keepalive (paho sends its PINGREQ from `loop_misc`); a stop wakes
# it at once (`_wake`), so an idle reader need not poll.
LOOP_TIMEOUT = 5.0
# Seconds between looks at the keepalive (paho's `loop_misc`: a PINGREQ when the
# connection has been quiet, the end of one whose PINGRESP did not come).
MISC_EVERY = 1.0
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


class MqttSource(ReconnectingSource):
    """Reads the subscriptions of one broker into an `Inbox`."""

    kind = "mqtt"

    def __init__(
        self, cfg: MqttConfig, limits: LimitsConfig, *, backoff: Backoff | None = None
    ) -> None:
        super().__init__(cfg.name, backoff)
        self.cfg = cfg
        self.limits = limits
        # Which subscription's route a topic gets; both paths of messages ask it.
        self.table = RoutingTable(cfg.name, cfg.subscribe)
        # Why the current connection ended; set by paho's callbacks in the thread.
        self._ended: str | None = None
        self._refused_credentials = False
        self._inbox: Inbox | None = None
        self._tls: TrackingContext | None = None
        self._client = self._make_client()
        # While the thread runs, a byte on this pair ends its wait in `select` (a
        # stop); paho's own wake-up pair belongs to its `loop()`, which the reader
        # does not call.
        self._wake_pair: tuple[socket.socket, socket.socket] | None = None

    def _run(self, inbox: Inbox) -> None:
        self._inbox = inbox
        client = self._client
        self._wake_pair = pair = socket.socketpair()
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
                ahead = paho_fastpath.install(client, self._take, self.cfg.protocol == "5")
                rc = self._serve(client, ahead, inbox)
                if rc != MQTTErrorCode.MQTT_ERR_SUCCESS:
                    self._ended = self._ended or f"connection lost: {mqtt.error_string(rc)}"
                if not self._stopping:
                    slow = self._backoff.cap if self._refused_credentials else 0.0
                    self._retry(self._ended or "connection lost", at_least=slow)
        finally:
            self._close(client)
            self._wake_pair = None
            for end in pair:
                end.close()

    def _serve(
        self, client: mqtt.Client, ahead: paho_fastpath.ReadAhead, inbox: Inbox
    ) -> MQTTErrorCode:
        """Run one connection until it ends (paho's code) or the reader stops.

        paho's own `loop()` is a `select` and a packet per call, with its
        keepalive bookkeeping each time; this is paho's external-loop interface
        instead (`loop_read`, `loop_write`, `loop_misc`), around one `select` on
        the socket and the reader's wake-up pair: a read's QoS 0 PUBLISHes go to
        the inbox without paho (`ReadAhead.fill`), paho reads the rest, and the
        keepalive is looked at once a second (`MISC_EVERY`)."""
        ok = MQTTErrorCode.MQTT_ERR_SUCCESS
        sock, pair = client.socket(), self._wake_pair
        if sock is None or pair is None:
            return MQTTErrorCode.MQTT_ERR_NO_CONN
        woken = pair[0]
        pending = getattr(sock, "pending", None)  # TLS: bytes decrypted and not read yet
        timeout = min(LOOP_TIMEOUT, self.cfg.keepalive / 2)
        every = min(MISC_EVERY, timeout)
        misc_due = time.monotonic() + every
        # Descriptors, not the sockets: `select` asks a socket for its own each time
        # (and the read-ahead passes that on through `__getattr__`).
        fd, wake_fd = sock.fileno(), woken.fileno()
        watched, writing = [fd, wake_fd], [fd]
        while True:
            if len(inbox) > BACKPRESSURE_AT:
                self._wait_for_room(inbox)
            ready = ahead.held() or (pending is not None and pending())
            readable, writable, _ = select.select(
                watched, writing if client.want_write() else [], [], 0.0 if ready else timeout
            )
            # A stop sets the flag, then wakes the pair: look at the flag when woken
            # or when the wait ran out, not at every message.
            if wake_fd in readable or not (readable or writable or ready):
                if wake_fd in readable:
                    with contextlib.suppress(OSError):
                        woken.recv(64)
                if self._stopping:
                    return ok
            rc = ok
            if (ready or fd in readable) and ahead.fill():
                rc = client.loop_read()
                # What is already read needs no `select`: give paho its packets (a
                # read may refill it, so the inbox's level ends the run too).
                while rc == ok and ahead.held() and len(inbox) <= BACKPRESSURE_AT:
                    rc = client.loop_read()
            if rc == ok and writable:
                rc = client.loop_write()
            now = time.monotonic()
            if rc == ok and now >= misc_due:
                rc, misc_due = client.loop_misc(), now + every
            if rc != ok:
                return rc

    def _wake(self) -> None:
        pair = self._wake_pair
        if pair is not None:
            with contextlib.suppress(OSError):  # the reader has ended meanwhile
                pair[1].send(b"0")

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
        paho_fastpath.close_sockets(client)

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
        # Like ssl.create_default_context: verifies the certificate and the host name.
        return load_tls(self.cfg, TrackingContext(ssl.PROTOCOL_TLS_CLIENT))

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
        `paho_fastpath.ReadAhead`) or one from `on_message`, into the inbox at once."""
        try:
            now = time.time  # each its own time: a series' points in one read stay apart
            max_payload = self.limits.max_payload
            known = self.table.known
            batch = []
            for raw_topic, payload in publishes:
                routed = known(raw_topic) or self._learn(raw_topic)
                if routed is None:
                    continue
                topic, route = routed
                if len(payload) > max_payload:
                    self._too_large(topic, len(payload))
                    continue
                batch.append(RawMessage(route, topic, payload, now()))
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
        """The route of a topic the table does not know yet; None (counted) for a
        topic that is not UTF-8 or that no subscription takes."""
        try:
            topic, route = self.table.learn(raw_topic)
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
        if route is None:
            count_rejection(
                self.rejected,
                logger,
                "unrouted",
                "mqtt %r: no subscription matches topic %r",
                self.cfg.name,
                topic,
            )
            return None
        return topic, route

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


def load_tls(cfg: MqttConfig, context: _Context) -> _Context:
    """`context` with the broker's CA (or the system's) and the client certificate
    loaded: the reader's and the MQTT alert sink's (`devices.sinks`)."""
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
