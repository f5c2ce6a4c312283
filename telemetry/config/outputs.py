"""`[output]`: the outputs readings leave the server through (`telemetry.outputs`):
`[[output.mqtt]]` (`telemetry.config.output_mqtt`), `[[output.influx]]` and
`[output.prometheus]` (`telemetry.config.output_influx`)."""

from __future__ import annotations

from telemetry.config.model import OutputConfig
from telemetry.config.output_influx import output_influx, output_prometheus
from telemetry.config.output_mqtt import output_mqtt
from telemetry.config.table import Table, unique_names


def output_section(t: Table) -> OutputConfig:
    mqtt = [output_mqtt(x, i) for i, x in enumerate(t.tables("mqtt"))]
    influx_tables = t.tables("influx")
    influx = [output_influx(x, i) for i, x in enumerate(influx_tables)]
    unique_names(t.problems, influx_tables, "influx")
    prometheus = output_prometheus(t.table("prometheus")) if "prometheus" in t.data else None
    t.finish()
    return OutputConfig(
        mqtt=tuple(m for m in mqtt if m is not None),
        influx=tuple(x for x in influx if x is not None),
        prometheus=prometheus,
    )
