"""The payload families: each firmware's topics and payload bytes, without a broker."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest

from simulators.firmware import FAMILIES, Message, Sample, SensorInfo, family
from simulators.firmware.documents import dew_point

WALL = 1714557600.25  # 2024-05-01 10:00:00.25 UTC
SAMPLES = [Sample("temperature", "°C", 21.456, 2), Sample("humidity", "%", 40.24, 1)]
SENSORS = [SensorInfo("temperature", "°C"), SensorInfo("humidity", "%")]

# measurement[,tag=value...] field=value[,field=value...] [timestamp], no spaces unescaped.
LINE_PROTOCOL = re.compile(
    r"^(?P<measurement>(?:[^,\s\\]|\\.)+)(?P<tags>(?:,(?:[^,=\s\\]|\\.)+=(?:[^,=\s\\]|\\.)+)*)"
    r" (?P<fields>(?:[^,=\s\\]|\\.)+=-?\d+(?:\.\d+)?(?:,(?:[^,=\s\\]|\\.)+=-?\d+(?:\.\d+)?)*)"
    r"(?: (?P<timestamp>-?\d+))?$"
)


def publish(name: str, samples: list[Sample] = SAMPLES, device: str = "dev0") -> list[Message]:
    return family(name).publish(device, samples, WALL)


def test_family_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="tasmota"):
        family("tasmato")


def test_family_registry_holds_every_firmware_of_the_issue() -> None:
    assert set(FAMILIES) == {
        "number", "tasmota", "zigbee2mqtt", "shelly", "esphome", "homie", "senml", "influx"
    }  # fmt: skip


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_family_publishes_nothing_without_samples(name: str) -> None:
    assert publish(name, []) == []


def test_number_publishes_one_topic_per_sensor_with_its_unit() -> None:
    assert publish("number") == [
        Message("sim/dev0/temperature", "21.46 °C".encode()),
        Message("sim/dev0/humidity", b"40.2 %"),
    ]
    assert family("number").will("dev0") is None


def test_tasmota_sensor_json_has_local_time_sensor_block_and_temp_unit() -> None:
    [message] = publish("tasmota")
    assert message.topic == "tele/dev0/SENSOR"
    assert not message.retain
    document = json.loads(message.payload)
    assert list(document) == ["Time", "AM2301", "TempUnit"]
    assert datetime.fromisoformat(document["Time"]) == datetime.fromtimestamp(int(WALL))
    assert document["AM2301"] == {
        "Temperature": 21.46,
        "Humidity": 40.2,
        "DewPoint": round(dew_point(21.456, 40.24), 1),
    }
    assert document["TempUnit"] == "C"
    assert b" " not in message.payload  # Tasmota's JSON is compact


def test_tasmota_reports_pressure_as_a_bme280_and_power_as_energy() -> None:
    samples = [Sample("pressure", "hPa", 1013.25, 1), Sample("power", "W", 12.34, 1)]
    document = json.loads(publish("tasmota", samples)[0].payload)
    assert document["BME280"] == {"Pressure": 1013.2}
    assert document["ENERGY"] == {"Power": 12.3}
    assert document["PressureUnit"] == "hPa"


def test_tasmota_availability_is_lwt_online_offline_retained() -> None:
    tasmota = family("tasmota")
    assert tasmota.availability("dev0", True) == Message("tele/dev0/LWT", b"Online", True)
    assert tasmota.will("dev0") == Message("tele/dev0/LWT", b"Offline", True)


def test_zigbee2mqtt_state_json_has_sorted_keys_and_last_seen_with_offset() -> None:
    [message] = publish("zigbee2mqtt")
    assert message.topic == "zigbee2mqtt/dev0"
    document = json.loads(message.payload)
    assert list(document) == sorted(document)
    assert document["temperature"] == 21.46
    assert document["humidity"] == 40.2
    assert isinstance(document["linkquality"], int)
    seen = datetime.fromisoformat(document["last_seen"])
    assert seen.utcoffset() is not None
    assert seen.timestamp() == int(WALL)


def test_zigbee2mqtt_availability_is_a_json_state_retained() -> None:
    z2m = family("zigbee2mqtt")
    online = z2m.availability("dev0", True)
    assert online == Message("zigbee2mqtt/dev0/availability", b'{"state":"online"}', True)
    assert z2m.will("dev0") == Message(
        "zigbee2mqtt/dev0/availability", b'{"state":"offline"}', True
    )


def test_shelly_publishes_per_value_topics_and_online_true_false() -> None:
    messages = publish("shelly", [*SAMPLES, Sample("power", "W", 5.0, 2)])
    assert [(m.topic, m.payload) for m in messages] == [
        ("shellies/dev0/sensor/temperature", b"21.46"),
        ("shellies/dev0/sensor/humidity", b"40.2"),
        ("shellies/dev0/relay/0/power", b"5.00"),
    ]
    shelly = family("shelly")
    assert shelly.availability("dev0", True) == Message("shellies/dev0/online", b"true", True)
    assert shelly.will("dev0") == Message("shellies/dev0/online", b"false", True)
    [announce] = shelly.announce("dev0", SENSORS)
    assert announce.topic == "shellies/announce"
    assert json.loads(announce.payload)["id"] == "dev0"


def test_esphome_publishes_state_topics_and_status() -> None:
    messages = publish("esphome")
    assert [(m.topic, m.payload) for m in messages] == [
        ("dev0/sensor/temperature/state", b"21.46"),
        ("dev0/sensor/humidity/state", b"40.2"),
    ]
    esphome = family("esphome")
    assert esphome.availability("dev0", True) == Message("dev0/status", b"online", True)
    assert esphome.will("dev0") == Message("dev0/status", b"offline", True)


def test_esphome_states_units_in_retained_discovery_configs() -> None:
    configs = family("esphome", "lab").announce("dev0", SENSORS)
    assert [c.topic for c in configs] == [
        "homeassistant/sensor/dev0/temperature/config",
        "homeassistant/sensor/dev0/humidity/config",
    ]
    assert all(c.retain for c in configs)
    config = json.loads(configs[0].payload)
    assert config["unit_of_meas"] == "°C"
    assert config["stat_t"] == "lab/dev0/sensor/temperature/state"
    assert config["avty_t"] == "lab/dev0/status"


def test_homie_announces_init_attributes_then_ready_all_retained() -> None:
    messages = family("homie").connect_messages("dev0", SENSORS)
    assert all(m.retain for m in messages)
    topics = {m.topic.removeprefix("homie/dev0/"): m.payload.decode() for m in messages}
    assert messages[0] == Message("homie/dev0/$state", b"init", True)
    assert messages[-1] == Message("homie/dev0/$state", b"ready", True)
    assert topics["$homie"] == "4.0.0"
    assert topics["$nodes"] == "sensor"
    assert topics["sensor/$properties"] == "temperature,humidity"
    assert topics["sensor/temperature/$unit"] == "°C"
    assert topics["sensor/humidity/$unit"] == "%"
    assert topics["sensor/temperature/$datatype"] == "float"


def test_homie_values_are_retained_and_the_will_is_lost() -> None:
    assert publish("homie")[0] == Message("homie/dev0/sensor/temperature", b"21.46", True)
    homie = family("homie")
    assert homie.will("dev0") == Message("homie/dev0/$state", b"lost", True)
    assert homie.goodbye("dev0") == Message("homie/dev0/$state", b"disconnected", True)


def test_senml_is_an_rfc8428_pack_with_base_name_base_time_and_senml_units() -> None:
    [message] = publish("senml", [*SAMPLES, Sample("pressure", "hPa", 1013.25, 1)])
    assert message.topic == "senml/dev0"
    pack = json.loads(message.payload)
    assert isinstance(pack, list)
    assert pack[0]["bn"] == "urn:dev:sim:dev0:"
    assert "bn" not in pack[1]
    assert [(r["n"], r["u"], r["v"]) for r in pack] == [
        ("temperature", "Cel", 21.46),
        ("humidity", "%RH", 40.2),
        ("pressure", "Pa", 101325.0),
    ]
    assert all(pack[0]["bt"] + r["t"] == WALL for r in pack)
    assert family("senml").will("dev0") == Message("senml/dev0/status", b"offline", True)


def test_influx_is_line_protocol_with_a_device_tag_and_nanoseconds() -> None:
    [message] = publish("influx")
    assert message.topic == "influx/dev0"
    line = message.payload.decode()
    parsed = LINE_PROTOCOL.match(line)
    assert parsed, line
    assert parsed["measurement"] == "environment"
    assert parsed["tags"] == ",device=dev0"
    assert parsed["fields"] == "temperature=21.46,humidity=40.2"
    assert int(parsed["timestamp"]) == 1714557600250000000
    assert family("influx").availability("dev0", True) == Message(
        "influx/dev0/status", b"online", True
    )


def test_influx_escapes_spaces_commas_and_equals_in_tags() -> None:
    line = publish("influx", SAMPLES, device="hall way,1=a")[0].payload.decode()
    assert LINE_PROTOCOL.match(line), line
    assert ",device=hall\\ way\\,1\\=a " in line


@pytest.mark.parametrize("name", ["tasmota", "zigbee2mqtt", "shelly", "homie", "senml", "influx"])
def test_family_root_replaces_the_firmware_topic_base(name: str) -> None:
    fam = family(name, "lab")
    topics = [m.topic for m in fam.publish("dev0", SAMPLES, WALL)]
    will = fam.will("dev0")
    assert will is not None
    assert all(t.startswith("lab/") for t in [*topics, will.topic])
