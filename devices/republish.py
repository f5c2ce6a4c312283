"""`[[output.mqtt]]`: every stored reading (or those matching globs) republished to
an MQTT broker under one topic scheme, optionally with Home Assistant discovery.

The wire (what `format = "telemetry"` reads back): topic
`<prefix>/<device>/<sensor>` (`+` and `#` in names made `_`), payload
`{"v": value, "u": unit or null, "ts": epoch seconds (ms), "kind": "number" |
"state"}`, retained by default; the instance's availability at `<prefix>/status`,
`online` / `offline`, retained, `offline` also the last will.

Threads: `submit` runs on the event loop and only filters (globs, cached per
series id), skips late points (older than the last one taken for the series: a
retained topic must hold the newest value), applies the `interval` and appends
to a bounded deque (full: the oldest dropped and counted), all under one lock
held for a few dictionary operations.  A worker thread encodes and hands
messages to paho, at most `WINDOW` of them not yet written (QoS 0) or
acknowledged (QoS 1), so paho's own queue stays small and an outage leaves the
backlog in the bounded deque; paho's network thread (`loop_start`) sends, and
reconnects with its own backoff (`reconnect_delay_set`).

`interval` > 0: a series' first point goes at once; points within the next
`interval` are held, each replacing the last, and the latest is sent when the
interval ends (the worker wakes for it), which starts the next interval: at most
one message per series per interval, and the value retained is never older than
an interval.

Discovery configs (`devices.hadiscovery`) are kept per series (not in the
deque: they are never dropped) and sent again at every connection, so a broker
restarted without persistence gets them back.

The client connects at the first `submit`: a server built but never run opens
no connection and starts no thread.
"""

from __future__ import annotations

import contextlib
import fnmatch
import json
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Sequence
from typing import Any, NamedTuple

import paho.mqtt.client as mqtt
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties

from devices import hadiscovery
from devices.mqtt_client import paho_client
from telemetry import __version__
from telemetry.config import Config, MqttConfig
from telemetry.config.model import MqttOutputConfig
from telemetry.config.output_mqtt import instance_name, output_prefix
from telemetry.errors import TelemetryError
from telemetry.outputs import OutPoint, OutputStatus

logger = logging.getLogger(__name__)

RECONNECT_MIN, RECONNECT_MAX = 1, 30  # seconds: paho's reconnect backoff
WINDOW = 200  # messages handed to paho, not yet written (QoS 0) or acknowledged (QoS 1)
MAX_CACHE = 100_000  # series ids whose match and topic are remembered
SESSION_EXPIRY = 86400  # MQTT 5 persistent session: kept this long by the broker
ONLINE, OFFLINE = b"online", b"offline"
_WILD = str.maketrans({"+": "_", "#": "_"})


def series_topic(prefix: str, device: str, sensor: str) -> str:
    return f"{prefix}/{device.translate(_WILD)}/{sensor.translate(_WILD)}"


def payload(point: OutPoint) -> bytes | None:
    """The reading's JSON payload; None for a value JSON cannot hold (NaN, inf)."""
    value = float(point.value)
    if not math.isfinite(value):
        return None
    unit = "null" if point.unit is None else json.dumps(point.unit, ensure_ascii=False)
    ts = round(float(point.ts), 3)
    return f'{{"v":{value!r},"u":{unit},"ts":{ts!r},"kind":"{point.kind}"}}'.encode()


class _Announced(NamedTuple):
    topic: str  # its discovery config's topic
    payload: bytes
    unit: str | None
    kind: str


# A message for the worker: "p" a reading (point None: clear the retained topic),
# "d" a discovery config (payload b"": remove it), "s" the instance's `online`.
class _Item(NamedTuple):
    what: str
    topic: str
    point: OutPoint | None = None
    data: bytes = b""


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
        self.status_topic = f"{self.prefix}/status"
        self._reconnect = reconnect
        self._cond = threading.Condition()
        self._queue: deque[_Item] = deque()
        self._held: dict[str, _Item] = {}  # the latest point of a series inside its interval
        self._due: dict[str, float] = {}  # when a series may send again (monotonic)
        self._disc: dict[str, bytes] = {}  # discovery configs to send, by topic
        self._announced: dict[str, _Announced] = {}
        self._inflight: dict[int, _Item] = {}  # by paho's mid
        self._early: set[int] = set()  # mids paho finished before `publish` returned
        self._online_due = False
        # Loop-side caches (under the lock too, with the rest).
        self._match: dict[str, bool] = {}
        self._topics: dict[str, str] = {}
        self._last_ts: dict[str, float] = {}
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
        self.announced = 0  # discovery configs written
        self.last_error: str | None = None

    # -- on the event loop ---------------------------------------------------------

    def submit(self, points: Sequence[OutPoint], removed: Sequence[str]) -> None:
        if self._thread is None and not self._stopping:
            self._start()
        now = time.monotonic()
        with self._cond:
            if self._stopping:
                return
            for point in points:
                self._take(point, now)
            for series in removed:
                self._remove(series)
            self._cond.notify()

    def _matches(self, series: str) -> bool:
        found = self._match.get(series)
        if found is None:
            if len(self._match) >= MAX_CACHE:
                self._match.clear()
            patterns = self.cfg.match
            found = not patterns or any(fnmatch.fnmatchcase(series, p) for p in patterns)
            self._match[series] = found
        return found

    def _topic(self, point: OutPoint) -> str:
        topic = self._topics.get(point.series)
        if topic is None:
            if len(self._topics) >= MAX_CACHE:
                self._topics.clear()
                self._last_ts.clear()
            topic = self._topics[point.series] = series_topic(
                self.prefix, point.device, point.sensor
            )
        return topic

    def _take(self, point: OutPoint, now: float) -> None:
        series = point.series
        if not self._matches(series):
            return
        if self.cfg.retain:
            last = self._last_ts.get(series)
            if last is not None and point.ts < last:
                self.late += 1
                return
            self._last_ts[series] = point.ts
        item = _Item("p", self._topic(point), point)
        if self.cfg.discovery:
            self._announce(point, item.topic)
        interval = self.cfg.interval
        if not interval:
            self._append(item)
            return
        due = self._due.get(series)
        if due is None or now >= due:
            self._held.pop(series, None)
            self._due[series] = now + interval
            self._append(item)
        else:
            self._held[series] = item

    def _announce(self, point: OutPoint, state_topic: str) -> None:
        before = self._announced.get(point.series)
        if before is not None and (before.unit, before.kind) == (point.unit, point.kind):
            return
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
        if not self._matches(series):
            return
        topic = self._topics.pop(series, None)
        if topic is None:
            device, _, sensor = series.partition("/")
            topic = series_topic(self.prefix, device, sensor)
        for table in (self._held, self._due, self._last_ts, self._match):
            table.pop(series, None)
        if self.cfg.retain:
            self._append(_Item("p", topic))
        if self.cfg.discovery:
            before = self._announced.pop(series, None)
            kinds = (before.kind,) if before is not None else ("number", "state")
            for kind in kinds:
                dp = self.cfg.discovery_prefix
                self._disc[hadiscovery.config_topic(dp, self.instance, series, kind)] = b""

    def _append(self, item: _Item) -> None:
        if len(self._queue) >= self.cfg.queue:
            self._queue.popleft()
            self.dropped += 1
            if self.dropped in (1, 10) or self.dropped % 1000 == 0:  # rate-limited
                logger.warning(
                    "output %s: buffer full (%d messages), the oldest dropped (%d so far)",
                    self.cfg.name,
                    self.cfg.queue,
                    self.dropped,
                )
        self._queue.append(item)

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
        properties = None
        if broker.protocol == "5" and persistent:
            properties = Properties(PacketTypes.CONNECT)  # type: ignore[no-untyped-call]
            properties.SessionExpiryInterval = SESSION_EXPIRY
        v5 = broker.protocol == "5"
        client.connect_async(
            broker.host,
            broker.port,
            int(broker.keepalive),
            clean_start=(not persistent) if v5 else mqtt.MQTT_CLEAN_START_FIRST_ONLY,
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
        with self._cond:
            was = self.state
            self._connected = True
            if not self._stopping:
                self.state = "ok"
            self._online_due = True
            if self.cfg.discovery:
                topic, data = hadiscovery.instance_config(
                    self.cfg.discovery_prefix,
                    prefix=self.prefix,
                    instance=self.instance,
                    sw_version=__version__,
                )
                self._disc[topic] = data
                for entry in self._announced.values():
                    self._disc.setdefault(entry.topic, entry.payload)
            self._cond.notify_all()
        if was == "failing":
            logger.info("output %s: connected again to %s", self.cfg.name, self._where())

    def _on_connect_fail(self, client: mqtt.Client, userdata: object) -> None:
        self._failure(f"cannot connect to {self._where()}")

    def _on_disconnect(
        self, client: mqtt.Client, userdata: object, flags: Any, reason: Any, props: object
    ) -> None:
        with self._cond:
            was_connected, self._connected = self._connected, False
            # QoS 0 messages paho had not written are gone with the connection.
            if self.cfg.qos == 0:
                for mid in [m for m, item in self._inflight.items() if item.what == "p"]:
                    del self._inflight[mid]
                    self.dropped += 1
            stopping = self._stopping
            self._cond.notify_all()
        if was_connected and not stopping:
            self._failure(f"lost the connection to {self._where()}: {reason}")

    def _on_publish(
        self, client: mqtt.Client, userdata: object, mid: int, reason: Any, props: object
    ) -> None:
        with self._cond:
            item = self._inflight.pop(mid, None)
            if item is None:
                self._early.add(mid)
                return
            self._done(item)
            self._cond.notify_all()

    def _done(self, item: _Item) -> None:
        if item.what == "p":
            self.sent += 1
        elif item.what == "d":
            self.announced += 1

    # -- the worker thread ---------------------------------------------------------

    def _release_held(self, now: float, everything: bool = False) -> float | None:
        """Held points whose interval ended go to the queue; the next end, if any."""
        upcoming = None
        for series in list(self._held):
            due = self._due.get(series, 0.0)
            if everything or due <= now:
                self._append(self._held.pop(series))
                self._due[series] = now + self.cfg.interval
            elif upcoming is None or due < upcoming:
                upcoming = due
        return upcoming

    def _next_batch(self) -> list[_Item] | None:
        """What to publish now, waiting until there is something and room for it;
        None when the worker is done (stopping and flushed, or disconnected)."""
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                upcoming = self._release_held(now) if self._held else None
                room = WINDOW - len(self._inflight)
                pending = self._online_due or self._disc or self._queue
                if self._connected and room > 0 and pending:
                    batch = []
                    if self._online_due:
                        self._online_due = False
                        batch.append(_Item("s", self.status_topic, None, ONLINE))
                    while self._disc and len(batch) < room:
                        topic = next(iter(self._disc))
                        batch.append(_Item("d", topic, None, self._disc.pop(topic)))
                    while self._queue and len(batch) < room:
                        batch.append(self._queue.popleft())
                    return batch
                if self._stopping and (not self._connected or not pending):
                    return None
                self._cond.wait(None if upcoming is None else max(0.0, upcoming - now))
            return None

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            self._publish(batch)

    def _publish(self, batch: list[_Item]) -> None:
        client = self._client
        assert client is not None
        for i, item in enumerate(batch):
            if item.what == "p":
                data = b"" if item.point is None else payload(item.point)
                if data is None:
                    with self._cond:
                        self.dropped += 1
                    continue
                qos, retain = self.cfg.qos, self.cfg.retain
            else:
                data, qos, retain = item.data, 1, True
            info = client.publish(item.topic, data, qos, retain)
            with self._cond:
                taken = info.rc == mqtt.MQTT_ERR_SUCCESS or (
                    qos > 0 and info.rc == mqtt.MQTT_ERR_NO_CONN  # paho keeps it for later
                )
                if not taken:
                    self._put_back(batch[i:])
                    return
                if info.mid in self._early:
                    self._early.discard(info.mid)
                    self._done(item)
                else:
                    self._inflight[info.mid] = item

    def _put_back(self, items: list[_Item]) -> None:
        """Items paho would not take (no connection, QoS 0) return to the front."""
        for item in reversed(items):
            if item.what == "s":
                self._online_due = True
            elif item.what == "d":
                self._disc.setdefault(item.topic, item.data)
            elif len(self._queue) < self.cfg.queue:
                self._queue.appendleft(item)
            else:
                self.dropped += 1

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
                lambda: not self._inflight or not self._connected,
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
