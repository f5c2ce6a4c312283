"""`[[output.mqtt]]`: readings republished to an MQTT broker (`devices.republish`).

The broker is either a configured `[[mqtt]]` one, named by `mqtt` (its address,
credentials and TLS reused), or the output's own: `url` (mqtt:// or mqtts://, an
address only), `username`, `password` (from `${ENV}`, never shown) and the TLS
files.  `check_brokers` ties the names to the `[[mqtt]]` sections afterwards.
"""

from __future__ import annotations

import socket
from collections.abc import Mapping
from typing import Any

from telemetry.config.broker import broker_url, tls_files
from telemetry.config.model import MqttConfig, MqttOutputConfig, ServerConfig
from telemetry.config.table import MAX_GLOBS, NAME, Problems, Table, check_globs, show
from telemetry.topics import check_filter

SESSIONS = ("clean", "persistent")
_WILD = str.maketrans({"+": "_", "#": "_"})
NAME_FORM = "a name of letters, digits, _.-"
CLIENT_ID_FORM = "a client id of letters, digits, _.-"
_OWN_BROKER_KEYS = ("username", "password", "ca_file", "cert_file", "key_file")


def instance_name(server: ServerConfig) -> str:
    """The instance's name: `[server] name`, else the machine's hostname."""
    return server.name or socket.gethostname() or "telemetry"


def output_prefix(cfg: MqttOutputConfig, server: ServerConfig) -> str:
    """The topic prefix an output publishes under: its own, or `telemetry/<instance>`."""
    return cfg.prefix or f"telemetry/{instance_name(server)}".translate(_WILD)


def _topic_prefix(t: Table, name: str, default: str | None) -> str | None:
    """A topic prefix to publish under: levels without wildcards, none empty."""
    text = t.string(name, None)
    if text is None:
        return default
    if (
        not text
        or check_filter(text) is not None
        or set("+#") & set(text)
        or "" in text.split("/")
        or text.startswith("$")
    ):
        t.problems.add(
            t.key(name),
            f"{show(text)} is not a topic prefix; expected levels without + or # and "
            'none empty, like "telemetry/garage"',
        )
        return default
    return text


def _broker(t: Table, name: str) -> tuple[str | None, MqttConfig | None, bool]:
    """`mqtt` (a configured broker's name) or the output's own broker from `url`."""
    has_mqtt, has_url = "mqtt" in t.data, "url" in t.data
    if has_mqtt == has_url:
        t.used.update(("mqtt", "url"))
        what = "mqtt and url are both set" if has_mqtt else "mqtt and url are both missing"
        t.problems.add(
            t.path,
            f"{what}; expected one: mqtt (the name of an [[mqtt]] broker) or url (the "
            "output's own broker)",
        )
        return None, None, False
    if has_mqtt:
        broker = t.string("mqtt", None, pattern=NAME, form="the name of an [[mqtt]] broker")
        for key in _OWN_BROKER_KEYS:
            if key in t.data:
                t.used.add(key)
                t.problems.add(
                    t.key(key), "is the url's; with mqtt the [[mqtt]] broker's settings are used"
                )
        return broker, None, broker is not None
    address = broker_url(t)
    files = tls_files(t)
    username, password = t.string("username", None), t.string("password", None)
    if address is None:
        return None, None, False
    own = MqttConfig(
        name=name,
        host=address.host,
        port=address.port,
        tls=address.tls,
        username=username,
        password=password,
        ca_file=files["ca_file"],
        cert_file=files["cert_file"],
        key_file=files["key_file"],
    )
    return None, own, True


def output_mqtt(t: Table, index: int) -> MqttOutputConfig | None:
    before = len(t.problems.lines)
    t.required("name")
    name = t.string("name", f"mqtt{index}", pattern=NAME, form=NAME_FORM)
    mqtt, own, _ = _broker(t, name)
    match = t.strings("match")
    if len(match) > MAX_GLOBS:
        t.problems.add(t.key("match"), f"{len(match)} patterns; expected at most {MAX_GLOBS}")
    check_globs(t, "match", match)
    qos = t.choice("qos", 0, (0, 1))
    session = t.choice("session", "clean", SESSIONS)
    if session == "persistent" and qos != 1:
        t.problems.add(
            t.key("session"),
            '"persistent" keeps unacknowledged messages only at QoS 1; expected qos = 1 with it',
        )
    client_id = t.string("client_id", None, pattern=NAME, form=CLIENT_ID_FORM)
    cfg = MqttOutputConfig(
        name=name,
        mqtt=mqtt,
        broker=own,
        prefix=_topic_prefix(t, "prefix", None),
        match=match,
        qos=qos,
        retain=t.typed("retain", bool, "true or false") is not False,
        interval=t.duration("interval", 0.0, 0.0, 86400.0),
        queue=t.integer("queue", 10_000, 1, 1_000_000),
        session=session,
        client_id=client_id,
        discovery=t.typed("discovery", bool, "true or false") is True,
        discovery_prefix=_topic_prefix(t, "discovery_prefix", "homeassistant") or "homeassistant",
    )
    t.finish()
    return cfg if len(t.problems.lines) == before else None


def check_brokers(problems: Problems, output: object, brokers: tuple[MqttConfig, ...]) -> None:
    """Every broker an `[[output.mqtt]]` names is an `[[mqtt]]`, and the outputs' names
    differ.  Checked against the sections as written (`output` is the raw `[output]`)."""
    tables: Any = output.get("mqtt") if isinstance(output, Mapping) else None
    if isinstance(tables, Mapping):
        tables = [tables]
    names = {m.name for m in brokers}
    seen: set[str] = set()
    for i, table in enumerate(tables if isinstance(tables, list) else ()):
        if not isinstance(table, Mapping):
            continue
        path = f"output.mqtt[{i}]"
        broker, name = table.get("mqtt"), table.get("name")
        if isinstance(broker, str) and NAME.fullmatch(broker) and broker not in names:
            problems.add(
                f"{path}.mqtt",
                f"{show(broker)} is not a configured [[mqtt]] broker; expected one of: "
                + (", ".join(sorted(names)) or "none"),
            )
        if isinstance(name, str) and name in seen:
            problems.add(f"{path}.name", f"{show(name)} is used twice; names must differ")
        if isinstance(name, str):
            seen.add(name)
