"""Sites and a central broker for the federation tests: real brokers, a real bridge.

`bridged(factory)` starts a central mosquitto (persistence on, as Debian's is,
so the central instance's session outlives a restart) and a site mosquitto whose
bridge is `deploy/mosquitto-bridge.conf` with the central broker's address put
in.  A site is anything with `name`, `announce()` (its retained `online`) and
`publish(count)` (readings in the wire contract of `[[output.mqtt]]`, returning
what it sent as `Expected`): `ContractSite` publishes them with paho;
`ServerSite` is a real site instance republishing through `[[output.mqtt]]`.
`stored(server)` is what a central instance stored, as the same `Expected`.
"""

from __future__ import annotations

import datetime as dt
import json
import time
import urllib.parse
from pathlib import Path
from typing import Any, NamedTuple, Protocol

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.backoff import Backoff
from devices.mqtt import MqttSource
from simulators.broker import Broker
from telemetry.config import LimitsConfig, MqttConfig, Subscription
from telemetry.model import RawMessage, Route
from tests.harness.broker import MosquittoFactory
from tests.harness.http import fetch
from tests.harness.server import RunningServer
from tests.harness.waiting import wait_until

BRIDGE = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto-bridge.conf"
CENTRAL_ADDRESS = "central.lan:1883"  # what the deploy file says; the tests put theirs


class Expected(NamedTuple):
    """One reading as the central instance must store it."""

    series: str
    ts: float
    value: float
    unit: str | None
    kind: str


def bridge_config(central: Broker, text: str | None = None) -> str:
    """The deploy file's bridge with `central`'s address: the only change."""
    text = BRIDGE.read_text() if text is None else text
    assert text.count(f"address {CENTRAL_ADDRESS}") == 1, "the bridge's address line moved"
    return text.replace(CENTRAL_ADDRESS, f"{central.host}:{central.port}")


def bridged(factory: MosquittoFactory) -> tuple[Broker, Broker]:
    """(site, central), both started, the site's bridge to the central broker up."""
    central = factory(start=False)
    conf = central.config.read_text()
    assert "persistence false\n" in conf
    central.config.write_text(
        conf.replace(
            "persistence false\n", f"persistence true\npersistence_location {central.folder}/\n"
        )
    )
    central.start()
    site = factory(start=False)
    site.config.write_text(site.config.read_text() + bridge_config(central))
    site.start()
    wait_until(
        lambda: "Connecting bridge" in site.log.read_text(errors="replace"),
        timeout=10,
        what="the site broker starts its bridge",
    )
    return site, central


def central_reader(central: Broker, subscribe: tuple[Subscription, ...], **cfg: Any) -> MqttSource:
    """The central instance's reader (persistent session: a client id, QoS 1), with a
    short backoff so a test does not wait out the default's 30 s cap."""
    config = MqttConfig(
        name="central",
        host=central.host,
        port=central.port,
        client_id=cfg.pop("client_id", "telemetry-central-test"),
        subscribe=subscribe,
        **cfg,
    )
    return MqttSource(config, LimitsConfig(), backoff=Backoff(base=0.2, cap=1.0))


class Site(Protocol):
    name: str

    def announce(self) -> None: ...

    def publish(self, count: int) -> list[Expected]: ...


def contract_payload(value: float, unit: str | None, ts: float, kind: str) -> bytes:
    return json.dumps({"v": value, "u": unit, "ts": round(ts, 3), "kind": kind}).encode()


class Publisher:
    """A paho client that publishes at QoS 1 and waits for every PUBACK."""

    def __init__(self, broker: Broker, client_id: str = "") -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id)
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()

    def send(self, topic: str, payload: bytes, *, retain: bool = False) -> None:
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(timeout=10)
        assert info.is_published(), f"no PUBACK for {topic!r}"

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


class ContractSite:
    """A site instance's republished readings, as `[[output.mqtt]]` sends them: topic
    `telemetry/<name>/<device>/<sensor>`, `{"v", "u", "ts", "kind"}`, QoS 1; the
    device times run from `start` (seconds ago) a second apart."""

    SENSORS = (("bme280", "temperature", "°C", "number"), ("door", "open", None, "state"))

    def __init__(self, name: str, broker: Broker, start: float = 1800.0) -> None:
        self.name = name
        self.prefix = f"telemetry/{name}"
        self.publisher = Publisher(broker, f"site-{name}")
        self.t0 = time.time() - start
        self.sent = 0

    def announce(self, word: str = "online") -> None:
        self.publisher.send(f"{self.prefix}/status", word.encode(), retain=True)

    def publish(self, count: int) -> list[Expected]:
        out = []
        for _ in range(count):
            i = self.sent
            self.sent += 1
            device, sensor, unit, kind = self.SENSORS[i % len(self.SENSORS)]
            value = float(i % 2) if kind == "state" else 20.0 + i / 100
            ts = round(self.t0 + i, 3)
            topic = f"{self.prefix}/{device}/{sensor}"
            self.publisher.send(topic, contract_payload(value, unit, ts, kind))
            out.append(Expected(f"{self.name}/{device}/{sensor}", ts, value, unit, kind))
        return out

    def close(self) -> None:
        self.publisher.close()


class ServerSite:
    """A real site instance: `server` runs with `[server] name` and an `[[output.mqtt]]`
    to the site broker at QoS 1 (and `retain = false`, so none of its points is held
    back), fed through its inbox as its readers feed it; the readings the central
    instance must hold are the ones the site stored, under the site's name.  Each
    message's receive time, the time of its readings, is on the millisecond, as the
    wire contract carries it."""

    def __init__(self, name: str, server: RunningServer) -> None:
        self.name = name
        self.server = server
        self.route = Route("feed", "mqtt")  # `auto`; the topic's first level is the device
        self.since = time.time() - 60
        self.t0 = round(time.time() - 30, 3)
        self.sent = 0
        self.seen: set[Expected] = set()

    def announce(self) -> None:
        """Nothing: the republisher says `online` itself once it connects."""

    def publish(self, count: int) -> list[Expected]:
        messages = []
        for _ in range(count):
            i = self.sent
            self.sent += 1
            when = round(self.t0 + i * 0.01, 3)
            if i % 2:
                state = b"true" if i % 4 // 2 else b"false"
                message = RawMessage(self.route, "door/state", b'{"open": %s}' % state, when)
            else:
                message = RawMessage(self.route, "bme280/temperature", b"%.2f C" % i, when)
            messages.append(message)
        self.server.runtime.inbox.put_many(messages)

        def stored_now() -> list[Expected] | None:
            new = [e for e in stored(self.server, self.since) if e not in self.seen]
            return new if len(new) >= count else None

        new = wait_until(stored_now, timeout=10, what=f"{count} readings on site {self.name}")
        self.seen.update(new)
        return [e._replace(series=f"{self.name}/{e.series}") for e in new]


def catalog(server: RunningServer) -> dict[str, Any]:
    status, body, _ = fetch(server.url + "api/series")
    assert status == 200, body
    answer: dict[str, Any] = json.loads(body)
    return answer


def stored(server: RunningServer, since: float) -> list[Expected]:
    """Every point the server holds from `since` on, with its series' unit and kind."""
    kinds = {s["id"]: s["kind"] for s in catalog(server)["series"]}
    query = urllib.parse.urlencode({"start": since, "format": "ndjson"})
    status, body, _ = fetch(f"{server.url}api/export?{query}")
    assert status == 200, body
    out = []
    for line in body.decode().splitlines():
        row = json.loads(line)
        ts = dt.datetime.fromisoformat(row["time"]).timestamp()
        out.append(Expected(row["series"], round(ts, 3), row["value"], row["unit"], ""))
    return [e._replace(kind=kinds.get(e.series, "")) for e in out]
