"""A device's Last Will, through a real broker and the real reader, on the page."""

from __future__ import annotations

import json
import urllib.request

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from simulators.broker import Broker
from telemetry.config import Config, MqttConfig, Subscription
from tests.harness.browser import WatchedPage
from tests.harness.mqtt_reader import send
from tests.harness.proxy import TcpProxy
from tests.harness.server import StartServer
from tests.harness.waiting import wait_until

pytestmark = pytest.mark.broker


def test_page_marks_a_device_offline_when_its_last_will_arrives(
    start_server: StartServer, mosquitto: Broker, web_page: WatchedPage
) -> None:
    subscription = Subscription(topic="av1/+/+", template="av1/{device}/{sensor}")
    mqtt_config = MqttConfig(
        name="home", host=mosquitto.host, port=mosquitto.port, subscribe=(subscription,)
    )
    server = start_server(Config(mqtt=(mqtt_config,)), None)

    def online() -> bool:
        return server.runtime.pipeline.devices["kitchen"].online

    # The device reaches the broker through a proxy, so its link can die abruptly.
    proxy = TcpProxy(mosquitto.host, mosquitto.port)
    device = mqtt.Client(CallbackAPIVersion.VERSION2, client_id="av1-kitchen")
    device.will_set("av1/kitchen/LWT", b"Offline", qos=1, retain=True)
    device.connect(proxy.host, proxy.port, keepalive=60)
    device.loop_start()
    try:
        device.publish("av1/kitchen/LWT", b"Online", qos=1, retain=True).wait_for_publish(5)

        def has_reading() -> bool:
            device.publish("av1/kitchen/temperature", b"21.5")
            return "kitchen/temperature" in server.runtime.pipeline.store.series

        wait_until(has_reading, what="the kitchen temperature")
        page = web_page.page
        page.goto(server.url)
        section = page.locator('section[data-device="kitchen"]')
        section.locator("td.value").filter(has_text="21.5").wait_for(timeout=3000)
        assert section.locator(".device-state").inner_text() == ""
        assert online() is True

        proxy.cut()  # no DISCONNECT: the broker publishes the will
        section.locator(".device-state").filter(has_text="offline").wait_for(timeout=5000)
        assert "offline" in (section.get_attribute("class") or "")
        assert online() is False
        assert web_page.errors == []
    finally:
        device.loop_stop()
        device.disconnect()
        device._reset_sockets()  # paho keeps its wake-up socketpair open otherwise
        proxy.close()
        # Clear the retained will so later runs on a shared broker start clean.
        cleaner = mqtt.Client(CallbackAPIVersion.VERSION2)
        cleaner.connect(mosquitto.host, mosquitto.port)
        cleaner.loop_start()
        cleaner.publish("av1/kitchen/LWT", b"", retain=True).wait_for_publish(5)
        cleaner.loop_stop()
        cleaner.disconnect()
        cleaner._reset_sockets()


def test_long_device_names_on_availability_topics_are_refused_counted_and_not_listed(
    start_server: StartServer, mosquitto: Broker
) -> None:
    subscription = Subscription(topic="av2/+/+", template="av2/{device}/{sensor}")
    mqtt_config = MqttConfig(
        name="home", host=mosquitto.host, port=mosquitto.port, subscribe=(subscription,)
    )
    server = start_server(Config(mqtt=(mqtt_config,)), None)
    devices = server.runtime.pipeline.devices

    def subscribed() -> bool:
        send(mosquitto, "av2/kitchen/LWT", b"Online")
        return "kitchen" in devices

    wait_until(subscribed, what="the reader's subscription")
    publisher = mqtt.Client(CallbackAPIVersion.VERSION2)
    publisher.connect(mosquitto.host, mosquitto.port)
    publisher.loop_start()
    try:
        for i in range(150):
            publisher.publish(f"av2/{i}{'x' * 30_000}/LWT", b"Online")
        publisher.publish("av2/garage/LWT", b"Offline").wait_for_publish(5)
        wait_until(lambda: "garage" in devices, what="the last availability message")
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        publisher._reset_sockets()
    with urllib.request.urlopen(f"{server.url}api/series", timeout=5) as response:
        raw = response.read()
    body = json.loads(raw)
    assert [(d["device"], d["online"]) for d in body["devices"]] == [
        ("kitchen", True),
        ("garage", False),
    ]
    assert body["rejected"]["id_too_long"] == 150 and len(raw) < 10_000
