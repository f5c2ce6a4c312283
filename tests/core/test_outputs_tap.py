"""The pipeline's tap for `[output.*]` (`telemetry.outputs`): every stored point,
with its series' unit and kind, in the tick's `out`; nothing when no output exists."""

from __future__ import annotations

from telemetry.config import Config, FilterSpec, SeriesRule
from telemetry.hub import Hub
from telemetry.model import RawMessage, Route
from telemetry.outputs import OutPoint
from telemetry.pipeline import Pipeline

ROUTE = Route("home", "mqtt", template="{device}/{sensor...}")


def msg(topic: str, payload: str, ts: float) -> RawMessage:
    return RawMessage(ROUTE, topic, payload.encode(), ts)


def test_tap_is_off_without_outputs() -> None:
    pipeline = Pipeline(Config())
    pipeline.ingest([msg("kitchen/temp", "21.5 °C", 100.0)])
    assert pipeline.take_tick().out == []


def test_tap_carries_every_stored_point_late_ones_too_and_not_refused_ones() -> None:
    pipeline = Pipeline(Config())
    pipeline.outputs = True
    pipeline.ingest(
        [
            msg("kitchen/temp", "21.5 °C", 100.0),
            msg("kitchen/temp", "21.7", 101.0),
            msg("kitchen/temp", "21.6", 100.5),  # late: stored at its place, still a reading
            msg("garage/door", '{"open": true}', 101.5),
        ]
    )
    out = pipeline.take_tick().out
    assert out == [
        OutPoint("kitchen/temp", "kitchen", "temp", 100.0, 21.5, "°C", "number"),
        OutPoint("kitchen/temp", "kitchen", "temp", 101.0, 21.7, "°C", "number"),
        OutPoint("kitchen/temp", "kitchen", "temp", 100.5, 21.6, "°C", "number"),
        OutPoint("garage/door/open", "garage", "door/open", 101.5, 1.0, None, "state"),
    ]
    assert pipeline.take_tick().out == []  # handed over once


def test_tap_sees_what_the_rule_stores_and_nothing_of_a_dropped_series() -> None:
    rules = (
        SeriesRule("kitchen/temp", unit="°F"),
        SeriesRule("noisy/*", drop=True),
        SeriesRule("garage/*", filters=(FilterSpec("clamp", [0, 50]),)),
    )
    pipeline = Pipeline(Config(series=rules))
    pipeline.outputs = True
    pipeline.ingest(
        [
            msg("kitchen/temp", "70.1", 100.0),
            msg("noisy/x", "1", 100.0),
            msg("garage/temp", "80", 100.0),
        ]
    )
    got = {(p.series, p.value, p.unit) for p in pipeline.take_tick().out}
    assert got == {("kitchen/temp", 70.1, "°F"), ("garage/temp", 50.0, None)}


def test_hub_hands_the_tick_points_and_deleted_series_to_on_points() -> None:
    config = Config()
    pipeline = Pipeline(config)
    pipeline.outputs = True
    hub = Hub(pipeline, config.server, config.limits, list)
    taken: list[tuple[list[OutPoint], list[str]]] = []
    hub.on_points = lambda points, removed: taken.append((list(points), list(removed)))
    pipeline.ingest([msg("kitchen/temp", "21.5", 100.0), msg("hall/temp", "19", 100.0)])
    hub.publish(pipeline.take_tick(), now=100.0)
    assert [p.series for p in taken[0][0]] == ["kitchen/temp", "hall/temp"]
    assert taken[0][1] == []
    assert pipeline.delete("hall/temp")
    hub.publish(pipeline.take_tick(), now=101.0)
    assert taken[1] == ([], ["hall/temp"])
    hub.publish(pipeline.take_tick(), now=102.0)  # nothing happened: not called
    assert len(taken) == 2
