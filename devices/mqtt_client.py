"""A paho client for publishing to a configured broker: its address, credentials,
TLS and protocol; the `[[notify]]` MQTT sink's (`devices.sinks`) and the
`[[output.mqtt]]` republisher's (`devices.republish`).  Never the reader's
client id: a second connection with it would throw the reader off the broker."""

from __future__ import annotations

import ssl

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from devices.mqtt import load_tls
from telemetry.config import MqttConfig


def paho_client(broker: MqttConfig, *, client_id: str = "", clean: bool = True) -> mqtt.Client:
    """A client for `broker`, not connected yet.  `clean` False keeps the broker's
    session (MQTT 3.1.1's clean_session; MQTT 5's clean_start is the connect's)."""
    v5 = broker.protocol == "5"
    client = mqtt.Client(
        CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=None if v5 else clean,
        protocol=mqtt.MQTTv5 if v5 else mqtt.MQTTv311,
    )
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls:
        client.tls_set_context(load_tls(broker, ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)))
    return client
