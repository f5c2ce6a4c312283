"""Home Assistant discovery (`devices.hadiscovery`, sent by `devices.republish`):
configs read back from a real mosquitto and checked against HA's documented schema
(`tests.harness.hass`), units mapped to device classes only where HA accepts them,
configs sent again when a unit changes, and removed (empty) when a series goes."""

from __future__ import annotations

import time
from typing import Any

import pytest
from paho.mqtt import publish

from devices.hadiscovery import device_class, slug, state_class
from simulators.broker import Broker
from tests.harness import hass
from tests.harness.mqtt_watch import Watcher
from tests.harness.republish import T0, decoded, point
from tests.harness.waiting import wait_until


@pytest.mark.parametrize(
    ("unit", "sensor", "expected"),
    [
        ("°C", "temperature", "temperature"),
        ("°F", "temp", "temperature"),
        ("%", "humidity", "humidity"),
        ("%", "rh", "humidity"),
        ("%", "battery", "battery"),
        ("%", "duty", None),
        ("hPa", "pressure", "pressure"),
        ("hPa", "baro", "atmospheric_pressure"),
        ("W", "power", "power"),
        ("kWh", "energy", "energy"),
        ("V", "mains", "voltage"),
        ("A", "load", "current"),
        ("lx", "light", "illuminance"),
        ("ppm", "co2", "carbon_dioxide"),
        ("ppm", "co", "carbon_monoxide"),
        ("ppm", "tvoc", None),
        ("dBm", "rssi", "signal_strength"),
        ("µg/m³", "pm2_5", "pm25"),
        ("µg/m³", "pm10", "pm10"),
        ("µg/m³", "dust", None),
        ("rpm", "fan", None),
        (None, "count", None),
    ],
)
def test_discovery_device_class_only_where_ha_accepts_the_unit(
    unit: str | None, sensor: str, expected: str | None
) -> None:
    cls = device_class(unit, sensor)
    assert cls == expected
    if cls is not None:
        assert unit in hass.SENSOR_UNITS[cls]
        assert state_class(unit, cls) in hass.ACCUMULATING.get(cls, hass.STATE_CLASSES)


def test_discovery_slug_keeps_only_what_ha_accepts_in_a_topic_id() -> None:
    assert slug("garage/door.open +x") == "garage_door_open_x"
    assert slug("wärme/t") == "w_rme_t"


SERIES = [
    point("kitchen/temperature", 21.5),
    point("kitchen/humidity", 40.0, unit="%"),
    point("garage/door/open", 1.0, unit="state"),
    point("meter/energy", 1234.5, unit="kWh"),
    point("meter/power", 400.0, unit="W"),
    point("office/co2", 600.0, unit="ppm"),
    point("air/pm2.5", 8.0, unit="µg/m³"),
    point("weird+dev/a#b", 1.0, unit="rpm"),
    point("weird_dev/a_b", 2.0, unit=None),
]


def configs(w: Watcher) -> dict[str, bytes]:
    return {t: p for t, p in w.last().items() if t.endswith("/config")}


def test_discovery_configs_read_back_are_valid_for_home_assistant(
    mosquitto: Broker, outputs: Any, watch: Any
) -> None:
    w: Watcher = watch(mosquitto, "hadisc/#")
    out = outputs(mosquitto, prefix="hadisc/site", discovery=True, discovery_prefix="hadisc/ha")
    out.submit(SERIES, [])
    # One per series, and the instance's connectivity sensor.
    wait_until(lambda: len(configs(w)) == len(SERIES) + 1, what="every config")
    found = {topic: hass.check(topic, data) for topic, data in configs(w).items()}
    assert len({c["unique_id"] for c in found.values()}) == len(found)
    by_state = {c["state_topic"]: c for c in found.values()}
    temp = by_state["hadisc/site/kitchen/temperature"]
    assert (temp["device_class"], temp["unit_of_measurement"], temp["state_class"]) == (
        "temperature",
        "°C",
        "measurement",
    )
    assert temp["value_template"] == "{{ value_json.v }}"
    assert temp["availability_topic"] == "hadisc/site/status"
    assert (temp["payload_available"], temp["payload_not_available"]) == ("online", "offline")
    assert temp["device"]["name"] == "kitchen"
    assert temp["device"]["via_device"] in by_state["hadisc/site/status"]["device"]["identifiers"]
    assert by_state["hadisc/site/meter/energy"]["state_class"] == "total_increasing"
    assert by_state["hadisc/site/office/co2"]["device_class"] == "carbon_dioxide"
    assert by_state["hadisc/site/air/pm2.5"]["device_class"] == "pm25"
    assert "device_class" not in by_state["hadisc/site/weird_dev/a_b"]
    assert "unit_of_measurement" not in by_state["hadisc/site/weird_dev/a_b"]
    door = by_state["hadisc/site/garage/door/open"]
    assert door["default_entity_id"].startswith("binary_sensor.")
    # Every config topic is retained: HA restarted later finds them all.
    again: Watcher = watch(mosquitto, "hadisc/ha/#")
    wait_until(lambda: len(configs(again)) == len(SERIES) + 1, what="retained configs")
    assert all(m.retain for m in again.messages())
    # The states HA reads with those templates.
    assert decoded(w.wait_for("hadisc/site/kitchen/temperature").payload)["v"] == 21.5


def test_discovery_sends_again_on_a_unit_change_and_empties_a_deleted_series(
    mosquitto: Broker, outputs: Any, watch: Any
) -> None:
    w: Watcher = watch(mosquitto, "hadel/#")
    out = outputs(mosquitto, prefix="hadel/site", discovery=True, discovery_prefix="hadel/ha")
    out.submit([point("pool/temp", 20.0), point("pool/ph", 7.0, unit=None)], [])
    wait_until(lambda: len(configs(w)) == 3, what="configs")
    topic = next(
        t for t, p in configs(w).items() if decoded(p)["state_topic"] == "hadel/site/pool/temp"
    )
    out.submit([point("pool/temp", 68.0, T0 + 1, unit="°F")], [])
    wait_until(lambda: decoded(configs(w)[topic]).get("unit_of_measurement") == "°F")
    assert hass.check(topic, configs(w)[topic])["unit_of_measurement"] == "°F"
    out.submit([], ["pool/temp"])
    wait_until(lambda: configs(w)[topic] == b"", what="the config emptied")
    wait_until(lambda: w.last().get("hadel/site/pool/temp") == b"", what="the state cleared")
    # A config emptied is gone from the broker: a new subscriber gets no retained one.
    fresh: Watcher = watch(mosquitto, "hadel/ha/#")
    wait_until(lambda: len(configs(fresh)) == 2, what="the two left")
    assert topic not in configs(fresh)


def say(broker: Broker, topic: str, payload: bytes) -> None:
    """A message as Home Assistant sends its birth and will: QoS 0, not retained."""
    publish.single(topic, payload, hostname=broker.host, port=broker.port)


def test_discovery_configs_sent_again_when_home_assistant_announces_itself_online(
    mosquitto: Broker, outputs: Any, watch: Any
) -> None:
    """Home Assistant's birth message (`online` on `<discovery_prefix>/status`, not
    retained, as HA sends it): every config again, and the instance's `online`.
    Here the retained configs were cleared first, as a broker that lost them or a
    user's cleanup would leave them; `offline` (HA's will) sends nothing."""
    w: Watcher = watch(mosquitto, "habirth/#")
    out = outputs(mosquitto, prefix="habirth/site", discovery=True, discovery_prefix="habirth/ha")
    out.submit(SERIES[:3], [])
    wait_until(lambda: out.announced == 4, what="the configs acknowledged")
    topics = wait_until(lambda: list(configs(w)) if len(configs(w)) == 4 else None, what="seen")
    publish.multiple(
        [(t, b"", 1, True) for t in topics], hostname=mosquitto.host, port=mosquitto.port
    )
    fresh: Watcher = watch(mosquitto, "habirth/ha/#")
    assert configs(fresh) == {}
    say(mosquitto, "habirth/ha/status", b"offline")
    time.sleep(0.5)
    assert (out.announced, out.births) == (4, 0)
    say(mosquitto, "habirth/ha/status", b"online")
    wait_until(lambda: out.announced == 8, what="the configs sent again")
    assert out.births == 1
    again: Watcher = watch(mosquitto, "habirth/#")
    wait_until(lambda: len(configs(again)) == 4, what="the configs retained again")
    assert sorted(configs(again)) == sorted(topics)
    assert all(hass.check(t, p) for t, p in configs(again).items())
    assert again.last()["habirth/site/status"] == b"online"


def test_discovery_off_does_not_listen_for_home_assistant(
    mosquitto: Broker, outputs: Any, watch: Any
) -> None:
    w: Watcher = watch(mosquitto, "hanobirth/#")
    out = outputs(mosquitto, prefix="hanobirth/site", discovery_prefix="hanobirth/ha")
    out.submit(SERIES[:1], [])
    w.wait_for("hanobirth/site/kitchen/temperature")
    say(mosquitto, "hanobirth/ha/status", b"online")
    time.sleep(0.5)
    assert (out.announced, out.births) == (0, 0)
    assert configs(w) == {}
