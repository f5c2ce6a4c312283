"""`[[output.influx]]`: readings written as line protocol over HTTP; and
`[output.prometheus]`: the last values of matching series in `/metrics`."""

from __future__ import annotations

from telemetry.config.model import InfluxOutputConfig, PrometheusOutputConfig
from telemetry.config.table import Table


def output_influx(t: Table, index: int) -> InfluxOutputConfig | None:
    t.problems.add(t.path, "[[output.influx]] is not built yet")  # TODO(issue 23)
    return None


def output_prometheus(t: Table) -> PrometheusOutputConfig | None:
    t.problems.add(t.path, "[output.prometheus] is not built yet")  # TODO(issue 23)
    return None
