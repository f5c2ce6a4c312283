"""`[[output.mqtt]]`: every stored reading (or those matching globs) republished to
an MQTT broker under one topic scheme, optionally with Home Assistant discovery.

The wire (`devices.republish_wire`; what `format = "telemetry"` reads back):
topic `<prefix>/<device>/<sensor>`, payload `{"v", "u", "ts", "kind"}`, retained
by default; the instance's availability at `<prefix>/status`, `online` /
`offline`, retained, `offline` also the last will.

Threads: `submit` runs on the event loop and only filters (globs, the result
kept per series id), skips late points (older than the last one taken for the
series: a retained topic must hold the newest value), applies the `interval`
and appends to a bounded deque (full: the oldest dropped and counted), under
one lock held for a few dictionary operations a point.  A worker thread takes
what is queued, at most `WINDOW` messages not yet written (QoS 0) or
acknowledged (QoS 1), so paho's own queue stays small and an outage leaves the
backlog in the bounded deque.  At QoS 0 it encodes them into PUBLISH packets
handed to paho as one write (`paho_fastpath.queue_packets`); at QoS 1 each goes
through paho's `publish`, which keeps and resends it until acknowledged.
paho's network thread (`loop_start`) writes, keeps the connection alive and
reconnects with its own backoff (`reconnect_delay_set`).

`interval` > 0: a series' first point goes at once; points within the next
`interval` are held, each replacing the last, and the latest is sent when the
interval ends (the worker wakes for it), which starts the next interval: at most
one message per series per interval, and the value retained is never older than
an interval.

Discovery configs (`devices.hadiscovery`) are kept per series (not in the
deque: they are never dropped) and sent again at every connection, so a broker
restarted without persistence gets them back, and whenever Home Assistant's
birth message (`online` on `<discovery_prefix>/status`) arrives, as its
documentation asks of devices: a Home Assistant restarted, or whose retained
configs were cleared, gets them again.

The client connects at the first `submit`: a server built but never run opens
no connection and starts no thread.
"""

from __future__ import annotations

import contextlib
import fnmatch
import logging
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices import hadiscovery, republish_wire
from devices.mqtt_client import paho_client
from devices.paho_fastpath import queue_packets
from devices.republish_wire import Form, series_topic
from telemetry import __version__
from telemetry.config import Config, MqttConfig
from telemetry.config.model import MqttOutputConfig
from telemetry.config.output_mqtt import instance_name, output_prefix
from telemetry.errors import TelemetryError
from telemetry.outputs import OutPoint, OutputStatus
from telemetry.remember import Remembered

logger = logging.getLogger(__name__)

RECONNECT_MIN, RECONNECT_MAX = 1, 30  # seconds: paho's reconnect backoff
WINDOW = 1000  # messages handed to paho, not yet written (QoS 0) or acknowledged (QoS 1)
LINGER = 0.5  # seconds readings wait in the queue to go out together
SESSION_EXPIRY = 86400  # MQTT 5 persistent session: kept this long by the broker
ONLINE, OFFLINE = b"online", b"offline"

Message = tuple[Form, OutPoint | None]  # a reading, or (None) its retained topic cleared


class _Track:
    """What the loop keeps of one matching series.  Mutable and slotted: it is
    looked up and updated for every point."""

    __slots__ = ("form", "kind", "last_ts", "unit")

    def __init__(self, form: Form, unit: str | None, kind: str) -> None:
        self.form = form
        self.unit = unit
        self.kind = kind
        self.last_ts = float("-inf")


class _Announced(NamedTuple):
    topic: str  # its discovery config's topic
    payload: bytes
    unit: str | None
    kind: str


class _Flight(NamedTuple):
    """Messages handed to paho under one mid: what they were, and how many."""

    what: str  # "p" readings, "d" a discovery config, "s" the status
    n: int  # messages counted (the status is not)
    qos: int


class Republisher:
    """One `[[output.mqtt]]` (the `telemetry.outputs.Output` protocol)."""

    def __init__(
        self,
        cfg: MqttOutputConfig,
        broker: MqttConfig,
        instance: str,
        prefix: str,
        *,
        reconnect: tuple[int, int] = (RECONNECT_MIN, RECONNECT_MAX),
    ) -> None:
        self.cfg = cfg
        self.broker = broker
        self.instance = instance
        self.prefix = prefix
        self.status_topic = f"{prefix}/status"
        self.birth_topic = f"{cfg.discovery_prefix}/status"  # Home Assistant's birth
        self._v5 = broker.protocol == "5"
        self._reconnect = reconnect
        self._cond = threading.Condition()
        self._queue: deque[Message] = deque()
        self._held: dict[str, tuple[Form, OutPoint]] = {}  # a series' latest, in its interval
        self._due: dict[str, float] = {}  # when a series may send again (monotonic)
        # None: the series does not match.  Remembered: bounded like every map of input.
        self._tracks: Remembered[str, _Track | None] = Remembered()
        self._disc: dict[str, bytes] = {}  # discovery configs to send, by topic
        self._announced: dict[str, _Announced] = {}
        self._flights: dict[int, _Flight] = {}  # by mid: paho's, or ours (< 0) for batches
        self._in_flight = 0  # messages in `_flights`
        self._early: set[int] = set()  # paho's mids finished before `publish` returned
        self._batch_mid = 0
        self._online_due = False
        self._first_at = 0.0  # when the oldest reading in the queue was queued (monotonic)
        self._client: mqtt.Client | None = None
        self._thread: threading.Thread | None = None
        self._connected = False
        self._stopping = False
        self._closed = False
        self.state = "connecting"
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.late = 0  # points older than the series' last, not republished (retain)
        self.refused = 0  # values JSON cannot hold (NaN, infinity), not republished
        self.announced = 0  # discovery configs written
        self.births = 0  # Home Assistant's birth messages answered
        self.last_error: str | None = None

    # -- on the event loop ---------------------------------------------------------

    def submit(self, points: Sequence[OutPoint], removed: Sequence[str]) -> None:
        if self._thread is None and not self._stopping:
            self._start()
        now = time.monotonic()
        with self._cond:
            if self._stopping:
                return
            # The worker is woken for what changes its plan only: readings after an
            # empty queue (it waits LINGER from the first), a config, a held point.
            before = (bool(self._queue), len(self._disc), len(self._held))
            tracks, retain, interval = self._tracks, self.cfg.retain, self.cfg.interval
            for point in points:
                try:
                    track = tracks[point.series]
                except KeyError:
                    track = self._track(point)
                if track is None:
                    continue
                if retain:
                    if point.ts < track.last_ts:
                        self.late += 1
                        continue
                    track.last_ts = point.ts
                if point.unit != track.unit or point.kind != track.kind:
                    self._reform(track, point)
                if interval:
                    self._pace(track.form, point, now)
                else:
                    self._append((track.form, point), now)
            for series in removed:
                self._remove(series)
            after = (bool(self._queue), len(self._disc), len(self._held))
            if after != before or len(self._queue) >= WINDOW:
                self._cond.notify()

    def _matches(self, series: str) -> bool:
        patterns = self.cfg.match
        return not patterns or any(fnmatch.fnmatchcase(series, p) for p in patterns)

    def _form(self, point: OutPoint) -> Form:
        topic = series_topic(self.prefix, point.device, point.sensor)
        return republish_wire.form(
            topic, point.unit, point.kind, retain=self.cfg.retain, v5=self._v5
        )

    def _track(self, point: OutPoint) -> _Track | None:
        """A series seen for the first time (since it was deleted, or ever, or since
        the map was last forgotten)."""
        track = None
        if self._matches(point.series):
            track = _Track(self._form(point), point.unit, point.kind)
            before = self._announced.get(point.series)
            known = before is not None and (before.unit, before.kind) == (point.unit, point.kind)
            if self.cfg.discovery and not known:
                self._announce(point, track.form.topic)
        self._tracks[point.series] = track
        return track

    def _reform(self, track: _Track, point: OutPoint) -> None:
        """The series' unit or kind changed: its messages, and its discovery config."""
        track.form, track.unit, track.kind = self._form(point), point.unit, point.kind
        if self.cfg.discovery:
            self._announce(point, track.form.topic)

    def _pace(self, form: Form, point: OutPoint, now: float) -> None:
        series = point.series
        due = self._due.get(series)
        if due is None or now >= due:
            self._held.pop(series, None)
            self._due[series] = now + self.cfg.interval
            self._append((form, point), now)
        else:
            self._held[series] = (form, point)

    def _announce(self, point: OutPoint, state_topic: str) -> None:
        before = self._announced.get(point.series)
        dp = self.cfg.discovery_prefix
        topic = hadiscovery.config_topic(dp, self.instance, point.series, point.kind)
        if before is not None and before.topic != topic:
            self._disc[before.topic] = b""  # a number became a state: the old entity goes
        data = hadiscovery.series_config(
            point,
            state_topic=state_topic,
            prefix=self.prefix,
            instance=self.instance,
            sw_version=__version__,
        )
        self._announced[point.series] = _Announced(topic, data, point.unit, point.kind)
        self._disc[topic] = data

    def _remove(self, series: str) -> None:
        track = self._tracks.pop(series, None)
        if track is None and not self._matches(series):
            return
        self._held.pop(series, None)
        self._due.pop(series, None)
        if self.cfg.retain:
            if track is None:
                device, _, sensor = series.partition("/")
                topic = series_topic(self.prefix, device, sensor)
                form = republish_wire.form(topic, None, "number", retain=True, v5=self._v5)
            else:
                form = track.form
            self._append((form, None), time.monotonic())
        if self.cfg.discovery:
            before = self._announced.pop(series, None)
            kinds = (before.kind,) if before is not None else ("number", "state")
            for kind in kinds:
                dp = self.cfg.discovery_prefix
                self._disc[hadiscovery.config_topic(dp, self.instance, series, kind)] = b""

    def _append(self, message: Message, now: float) -> None:
        if not self._queue:
            self._first_at = now
        elif len(self._queue) >= self.cfg.queue:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped in (1, 10) or self.dropped % 1000 == 0:  # rate-limited
                logger.warning(
                    "output %s: buffer full (%d messages), the oldest dropped (%d so far)",
                    self.cfg.name,
                    self.cfg.queue,
                    self.dropped,
                )
        self._queue.append(message)

    def _start(self) -> None:
        cfg, broker = self.cfg, self.broker
        persistent = cfg.session == "persistent"
        client_id = cfg.client_id or (
            f"telemetry-{hadiscovery.slug(self.instance)}-{cfg.name}" if persistent else ""
        )
        try:
            client = paho_client(broker, client_id=client_id, clean=not persistent)
        except TelemetryError as exc:  # the TLS files: a config that cannot run
            with self._cond:
                self.state, self.last_error, self._stopping = "failing", str(exc), True
            logger.error("output %s: %s", cfg.name, exc)
            return
        client.will_set(self.status_topic, OFFLINE, 1, True)
        client.reconnect_delay_set(*self._reconnect)
        client.on_connect = self._on_connect
        client.on_connect_fail = self._on_connect_fail
        client.on_disconnect = self._on_disconnect
        client.on_publish = self._on_publish
        if cfg.discovery:
            client.message_callback_add(self.birth_topic, self._on_birth)
        properties = None
        if self._v5 and persistent:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = SESSION_EXPIRY
        client.connect_async(
            broker.host,
            broker.port,
            int(broker.keepalive),
            clean_start=(not persistent) if self._v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
            properties=properties,
        )
        self._client = client
        self._thread = threading.Thread(
            target=self._run, name=f"output-mqtt-{cfg.name}", daemon=True
        )
        self._thread.start()
        client.loop_start()

    # -- paho's network thread -----------------------------------------------------

    def _where(self) -> str:
        return f"the broker at {self.broker.host}:{self.broker.port}"

    def _failure(self, error: str) -> None:
        """Counted; logged when the output goes from working to failing, then quietly."""
        with self._cond:
            self.failed += 1
            self.last_error = error
            first = self.state != "failing"
            if not self._stopping:
                self.state = "failing"
        if first:
            logger.warning("output %s: %s (retrying with backoff)", self.cfg.name, error)
        else:
            logger.debug("output %s: %s", self.cfg.name, error)

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: Any, reason: Any, props: object
    ) -> None:
        if reason.is_failure:
            self._failure(f"{self._where()} refused the connection: {reason}")
            return
        if self.cfg.discovery:
            # Home Assistant's birth message: it (re)started and wants the configs.
            # Asked before anything is published, so the broker has the subscription
            # by the time it acknowledges the first config.
            client.subscribe(self.birth_topic, 1)
        with self._cond:
            was = self.state
            self._connected = True
            if not self._stopping:
                self.state = "ok"
            self._online_due = True
            self._announce_all()
            self._cond.notify_all()
        if was == "failing":
            logger.info("output %s: connected again to %s", self.cfg.name, self._where())

    def _announce_all(self) -> None:
        """Every discovery config known, queued again (under the lock): at each
        connection, and when Home Assistant says it is online."""
        if not self.cfg.discovery:
            return
        topic, data = hadiscovery.instance_config(
            self.cfg.discovery_prefix,
            prefix=self.prefix,
            instance=self.instance,
            sw_version=__version__,
        )
        self._disc[topic] = data
        for entry in self._announced.values():
            self._disc.setdefault(entry.topic, entry.payload)

    def _on_birth(self, client: mqtt.Client, userdata: object, message: mqtt.MQTTMessage) -> None:
        """`<discovery_prefix>/status`: `online` is Home Assistant's birth message (a
        restart, or its MQTT integration reloaded); anything else is ignored."""
        if message.payload.strip() != b"online":
            return
        with self._cond:
            if self._stopping:
                return
            self.births += 1
            self._online_due = True
            self._announce_all()
            self._cond.notify_all()
        logger.info(
            "output %s: Home Assistant is online: discovery configs sent again", self.cfg.name
        )

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        self._failure(f"cannot connect to {self._where()}")

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: Any, reason: Any, props: object
    ) -> None:
        with self._cond:
            was_connected, self._connected = self._connected, False
            # QoS 0 messages paho had not written are gone with the connection (paho
            # empties its queue when it reconnects); QoS 1 ones it sends again.
            for mid in [m for m, f in self._flights.items() if f.qos == 0]:
                flight = self._flights.pop(mid)
                self._in_flight -= flight.n
                if flight.what == "p":
                    self.dropped += flight.n
            stopping = self._stopping
            self._cond.notify_all()
        if was_connected and not stopping:
            self._failure(f"lost the connection to {self._where()}: {reason}")

    def _on_publish(
        self, client: mqtt.Client, userdata: object, mid: int, reason: Any, props: object
    ) -> None:
        with self._cond:
            flight = self._flights.pop(mid, None)
            if flight is None:
                if mid > 0:  # paho's own: `publish` has not returned yet
                    self._early.add(mid)
                return
            full = self._in_flight >= WINDOW
            self._done(flight)
            if full or self._stopping:  # the worker waits for room, or stop() for the rest
                self._cond.notify_all()

    def _done(self, flight: _Flight) -> None:
        self._in_flight -= flight.n
        if flight.what == "p":
            self.sent += flight.n
        elif flight.what == "d":
            self.announced += 1

    # -- the worker thread ---------------------------------------------------------

    def _release_held(self, now: float, everything: bool = False) -> float | None:
        """Held points whose interval ended go to the queue; the next end, if any."""
        upcoming = None
        for series in list(self._held):
            due = self._due.get(series, 0.0)
            if everything or due <= now:
                self._append(self._held.pop(series), now)
                self._due[series] = now + self.cfg.interval
            elif upcoming is None or due < upcoming:
                upcoming = due
        return upcoming

    def _next_batch(self) -> tuple[bool, list[tuple[str, bytes]], list[Message]] | None:
        """What to publish now, waiting until there is something and room for it:
        (the status due, discovery configs, readings); None when the worker is done
        (stopping and flushed, or disconnected)."""
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                upcoming = self._release_held(now) if self._held else None
                room = WINDOW - self._in_flight
                pending = self._online_due or self._disc or self._queue
                # Readings alone wait to go out together, unless stopping or many.
                linger = self._first_at + LINGER - now
                if (
                    self._queue
                    and linger > 0
                    and not (self._online_due or self._disc or self._stopping)
                    and len(self._queue) < room
                ):
                    self._cond.wait(
                        linger if upcoming is None else max(0.0, min(linger, upcoming - now))
                    )
                    continue
                if self._connected and room > 0 and pending:
                    online, self._online_due = self._online_due, False
                    configs: list[tuple[str, bytes]] = []
                    while self._disc and len(configs) < room:
                        topic = next(iter(self._disc))
                        configs.append((topic, self._disc.pop(topic)))
                    room -= len(configs)
                    if len(self._queue) <= room:  # all of it, in one go
                        readings, self._queue = list(self._queue), deque()
                    else:
                        readings = [self._queue.popleft() for _ in range(room)]
                    return online, configs, readings
                if self._stopping and (not self._connected or not pending):
                    return None
                self._cond.wait(None if upcoming is None else max(0.0, upcoming - now))
            return None

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            online, configs, readings = batch
            if online:
                self._publish_one("s", self.status_topic, ONLINE, 1, True)
            for topic, data in configs:
                self._publish_one("d", topic, data, 1, True)
            if readings and self.cfg.qos == 0:
                self._publish_packets(readings)
            elif readings:
                self._publish_each(readings)

    def _publish_one(self, what: str, topic: str, data: bytes, qos: int, retain: bool) -> None:
        """Through paho's `publish`: at QoS 1 it keeps the message until acknowledged,
        connected or not."""
        client = self._client
        assert client is not None
        info = client.publish(topic, data, qos, retain)
        flight = _Flight(what, 0 if what == "s" else 1, qos)
        with self._cond:
            if info.rc != mqtt.MQTT_ERR_SUCCESS and qos == 0:  # not taken: no connection
                if what == "p":
                    self.dropped += 1
                return
            if info.mid in self._early:
                self._early.discard(info.mid)
                self._in_flight += flight.n
                self._done(flight)
            else:
                self._flights[info.mid] = flight
                self._in_flight += flight.n

    def _publish_each(self, readings: list[Message]) -> None:
        for form, point in readings:
            data = b"" if point is None else republish_wire.payload(form, point)
            if data is None:
                with self._cond:
                    self.refused += 1
                continue
            self._publish_one("p", form.topic, data, self.cfg.qos, point is None or self.cfg.retain)

    def _publish_packets(self, readings: list[Message]) -> None:
        """QoS 0: every reading's PUBLISH packet, handed to paho as one write."""
        client = self._client
        assert client is not None
        data, count, refused = republish_wire.packets(readings)
        with self._cond:
            self.refused += refused
            if not count:
                return
            if not self._connected:  # gone while encoding: they are lost with it
                self.dropped += count
                return
            self._batch_mid -= 1
            mid = self._batch_mid
            self._flights[mid] = _Flight("p", count, 0)
            self._in_flight += count
        queue_packets(client, data, mid)

    # -- status and stop -----------------------------------------------------------

    def status(self) -> OutputStatus:
        with self._cond:
            return OutputStatus(
                self.cfg.name,
                "mqtt",
                self.state,
                self.sent,
                self.failed,
                self.dropped,
                len(self._queue) + len(self._held),
                self.last_error,
            )

    def stop(self, timeout: float) -> None:
        """Send what is queued (held points too) while connected, then `offline`,
        within `timeout`; what is left is dropped and counted."""
        deadline = time.monotonic() + timeout
        with self._cond:
            if self._closed:
                return
            self._stopping = True
            if self._held:
                self._release_held(time.monotonic(), everything=True)
            self._cond.notify_all()
        client, thread = self._client, self._thread
        if thread is not None:
            thread.join(max(0.0, deadline - time.monotonic()))
        with self._cond:
            self._cond.wait_for(
                lambda: not self._flights or not self._connected,
                max(0.0, deadline - time.monotonic()),
            )
            connected = self._connected
            self._closed = True
            self.dropped += len(self._queue) + len(self._held)
            self._queue.clear()
            self._held.clear()
            self.state = "stopped"
            self._cond.notify_all()
        if client is None:
            return
        if connected:
            info = client.publish(self.status_topic, OFFLINE, 1, True)
            with contextlib.suppress(RuntimeError, ValueError):  # the connection went meanwhile
                info.wait_for_publish(max(0.0, deadline - time.monotonic()))
        client.disconnect()
        client.loop_stop()


def build_republishers(config: Config) -> list[Republisher]:
    brokers = {m.name: m for m in config.mqtt}
    instance = instance_name(config.server)
    made = []
    for cfg in config.output.mqtt:
        broker = cfg.broker if cfg.broker is not None else brokers[cfg.mqtt or ""]
        made.append(Republisher(cfg, broker, instance, output_prefix(cfg, config.server)))
    return made
