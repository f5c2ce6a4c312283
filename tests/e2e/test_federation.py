"""Federation and scale-out through the broker, with the real parts.

Two mosquittos on loopback bridged by `deploy/mosquitto-bridge.conf` (site ->
central), readings in the `[[output.mqtt]]` wire contract published on the site
broker, and a real server on the central broker reading them with
`format = "telemetry"`; the central broker stopped for 10 s; two servers
splitting one `$share/` group.

Most sites here are `ContractSite`s (paho publishing the contract).  The first
test runs real site instances instead (`tests.harness.federation.ServerSite`):
servers with `[server] name = "<name>"` and an `[[output.mqtt]]` to the site
broker at QoS 1, `retain = false`; the series ids, units, kinds and device
times compared are what each site itself stored.
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from simulators.broker import Broker
from telemetry.config import Config, HistoryConfig, Subscription, parse_config
from tests.harness.broker import MosquittoFactory
from tests.harness.federation import (
    ContractSite,
    Expected,
    Publisher,
    ServerSite,
    bridged,
    catalog,
    central_reader,
    contract_payload,
    stored,
)
from tests.harness.server import RunningServer, StartServer
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.broker

# A raw ring of an hour: the sites' readings are up to 30 minutes old (past the
# 10-minute max_clock_skew) and all of them are asked back from /api/export.
CONFIG = Config(history=HistoryConfig(raw_span=3600.0))
EVERY_SITE = (Subscription("telemetry/+/#", format="telemetry", qos=1),)


@pytest.fixture
def brokers(mosquitto_factory: MosquittoFactory) -> tuple[Broker, Broker]:
    return bridged(mosquitto_factory)


@pytest.fixture
def sites(brokers: tuple[Broker, Broker]) -> Iterator[list[ContractSite]]:
    site_broker, _ = brokers
    made = [ContractSite("greenhouse", site_broker), ContractSite("garage", site_broker)]
    yield made
    for site in made:
        site.close()


def _central(start_server: StartServer, central: Broker) -> RunningServer:
    return start_server(CONFIG, [central_reader(central, EVERY_SITE)])


def _site_points(server: RunningServer, since: float) -> list[Expected]:
    return [e for e in stored(server, since) if not e.series.startswith("probe/")]


def _until_stored(server: RunningServer, expected: list[Expected], since: float) -> list[Expected]:
    """What the server stored of the sites once it holds as many points as expected."""

    def enough() -> list[Expected] | None:
        got = _site_points(server, since)
        return got if len(got) >= len(expected) else None

    return wait_until(
        enough,
        timeout=40,
        interval=0.2,
        what=f"{len(expected)} readings stored",
    )


def _subscribed(server: RunningServer, site_broker: Broker) -> None:
    """Publish probes through the bridge until one arrives: the central reader's SUBACK
    and the bridge's connection may still be on the way (series `probe/...`)."""
    publisher = Publisher(site_broker)
    sent = 0

    def arrived() -> bool:
        nonlocal sent
        payload = contract_payload(sent, None, time.time(), "number")
        publisher.send(f"telemetry/probe/p/{sent}", payload)
        sent += 1
        time.sleep(0.1)
        return bool(catalog(server)["series"])

    try:
        wait_until(arrived, timeout=15, interval=0.0, what="a first reading through the bridge")
    finally:
        publisher.close()


def _site_instance(start_server: StartServer, name: str, site_broker: Broker) -> ServerSite:
    config = parse_config(
        f'[server]\nname = "{name}"\n[history]\nraw_span = "1h"\n'
        f'[[output.mqtt]]\nname = "up"\nurl = "mqtt://{site_broker.host}:{site_broker.port}"\n'
        "qos = 1\nretain = false\n"
    )
    return ServerSite(name, start_server(config))


def test_two_real_site_instances_republish_through_the_bridge_to_the_central_one(
    start_server: StartServer, brokers: tuple[Broker, Broker]
) -> None:
    """The whole path: two site servers republishing ([[output.mqtt]]) to the site
    broker, the bridge, and the central server reading `format = "telemetry"`:
    every reading each site stored arrives once, with its unit, time and kind."""
    site_broker, central_broker = brokers
    since = time.time() - 3600
    server = _central(start_server, central_broker)
    _subscribed(server, site_broker)
    sites = [_site_instance(start_server, n, site_broker) for n in ("greenhouse", "garage")]
    expected = []
    for site in sites:
        expected += site.publish(40)
    got = _until_stored(server, expected, since)
    assert sorted(got) == sorted(expected)
    assert {e.series.split("/")[0] for e in got} == {"greenhouse", "garage"}
    assert {e.kind for e in got} == {"number", "state"}
    assert any(e.unit == "°C" for e in got)
    assert catalog(server)["rejected"] == {}
    online = {d["device"]: d["online"] for d in catalog(server)["devices"]}
    assert online == {"greenhouse": True, "garage": True}  # each republisher's `online`


def test_central_reads_every_site_through_the_bridge_with_unit_time_and_kind(
    start_server: StartServer, brokers: tuple[Broker, Broker], sites: list[ContractSite]
) -> None:
    site_broker, central_broker = brokers
    since = time.time() - 3600
    server = _central(start_server, central_broker)
    _subscribed(server, site_broker)
    expected = []
    for site in sites:
        site.announce()
        expected += site.publish(40)
    got = _until_stored(server, expected, since)
    assert sorted(got) == sorted(expected)
    assert {e.series for e in got} == {
        "greenhouse/bme280/temperature",
        "greenhouse/door/open",
        "garage/bme280/temperature",
        "garage/door/open",
    }
    answer = catalog(server)
    units = {s["id"]: (s["device"], s["unit"], s["kind"]) for s in answer["series"]}
    assert units["garage/bme280/temperature"] == ("garage", "°C", "number")
    assert units["greenhouse/door/open"] == ("greenhouse", None, "state")
    assert answer["rejected"] == {}
    assert {d["device"]: d["online"] for d in answer["devices"]} == {
        "greenhouse": True,
        "garage": True,
    }
    sites[1].announce("offline")
    wait_until(
        lambda: {d["device"]: d["online"] for d in catalog(server)["devices"]}["garage"] is False,
        what="the garage site shown offline",
    )


def test_central_broker_down_for_ten_seconds_loses_nothing(
    start_server: StartServer, brokers: tuple[Broker, Broker], sites: list[ContractSite]
) -> None:
    """QoS 1 all the way: the site broker queues for its bridge, the central broker
    (persistence on) keeps the central instance's session; afterwards every reading
    is stored exactly once, at its own time."""
    site_broker, central_broker = brokers
    site = sites[0]
    since = time.time() - 3600
    server = _central(start_server, central_broker)
    _subscribed(server, site_broker)
    expected = site.publish(30)
    _until_stored(server, expected, since)
    central_broker.stop()
    outage_ends = time.monotonic() + 10.0
    during = 0
    while time.monotonic() < outage_ends:  # the site publishes on through the outage
        expected += site.publish(5)
        during += 5
        time.sleep(0.25)
    central_broker.start()
    expected += site.publish(30)
    got = _until_stored(server, expected, since)
    assert during >= 100
    assert len(got) == len(expected) == len(set(got))
    assert sorted(got) == sorted(expected)


def _sharing(start_server: StartServer, broker: Broker, protocol: str) -> list[RunningServer]:
    subscription = Subscription("$share/ingest/fed-share/#", format="telemetry", qos=1)
    return [
        start_server(
            CONFIG,
            [
                central_reader(
                    broker, (subscription,), client_id=f"ingest-{i}-{protocol}", protocol=protocol
                )
            ],
        )
        for i in range(2)
    ]


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
def test_shared_subscription_splits_readings_between_two_instances_without_loss_or_duplicate(
    start_server: StartServer, mosquitto_factory: MosquittoFactory, protocol: str
) -> None:
    broker = mosquitto_factory()
    servers = _sharing(start_server, broker, protocol)
    publisher = Publisher(broker)
    since = time.time() - 60
    now = time.time()
    probes = 0

    def both_subscribed() -> bool:
        nonlocal probes
        payload = contract_payload(probes, None, now, "number")
        publisher.send(f"fed-share/probe/p/{probes}", payload)
        probes += 1
        time.sleep(0.05)
        return all(catalog(s)["series"] for s in servers)

    wait_until(both_subscribed, timeout=15, interval=0.0, what="both instances subscribed")
    count = 400
    expected = []
    for i in range(count):
        ts = round(now - 30 + i * 0.01, 3)
        publisher.send(f"fed-share/site/meter/power{i % 8}", contract_payload(i, "W", ts, "number"))
        expected.append(Expected(f"site/meter/power{i % 8}", ts, float(i), "W", "number"))
    publisher.close()

    def readings(server: RunningServer) -> list[Expected]:
        return [e for e in stored(server, since) if e.series.startswith("site/")]

    wait_until(
        lambda: sum(len(readings(s)) for s in servers) >= count,
        timeout=20,
        interval=0.2,
        what=f"{count} readings between the two",
    )
    split = [readings(s) for s in servers]
    union = split[0] + split[1]
    assert len(union) == count == len(set(union))  # every one, none twice
    assert sorted(union) == sorted(expected)
    assert all(split), [len(part) for part in split]  # each took some
    for server in servers:
        assert catalog(server)["rejected"] == {}
