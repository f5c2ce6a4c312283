"""`[[output.mqtt]]`: readings republished to an MQTT broker."""

from __future__ import annotations

from telemetry.config.model import MqttOutputConfig
from telemetry.config.table import Table


def output_mqtt(t: Table, index: int) -> MqttOutputConfig | None:
    t.problems.add(t.path, "[[output.mqtt]] is not built yet")  # TODO(issue 23)
    return None
