"""`Pipeline.delete`: a series, its history and its pending point, gone at once."""

from __future__ import annotations

from telemetry.config import Config, FilterSpec, SeriesRule
from telemetry.model import RawMessage, Route
from telemetry.pipeline import Pipeline

ROUTE = Route("home", "mqtt", "number", template="{device}/{sensor...}")


def msg(topic: str, payload: str, ts: float) -> RawMessage:
    return RawMessage(ROUTE, topic, payload.encode(), ts)


def test_pipeline_delete_takes_the_series_and_its_pending_point_out_of_the_tick() -> None:
    pipeline = Pipeline(Config())
    pipeline.ingest([msg("kitchen/temp", "21", 100.0), msg("hall/temp", "19", 100.0)])
    assert pipeline.delete("kitchen/temp")
    assert not pipeline.delete("kitchen/temp")
    assert not pipeline.delete("never/seen")
    assert list(pipeline.store.series) == ["hall/temp"]
    tick = pipeline.take_tick()
    assert [e.id for e in tick.new_series] == ["hall/temp"]
    assert list(tick.points) == ["hall/temp"]
    assert tick.removed == ["kitchen/temp"]
    assert pipeline.deleted == 1
    assert pipeline.take_tick().removed == []


def test_pipeline_a_reading_after_delete_starts_the_series_anew_with_its_rule() -> None:
    rules = (SeriesRule("kitchen/*", name="Kitchen", filters=(FilterSpec("offset", 1),)),)
    pipeline = Pipeline(Config(series=rules))
    pipeline.ingest([msg("kitchen/temp", "21", 100.0), msg("kitchen/temp", "22", 101.0)])
    pipeline.delete("kitchen/temp")
    pipeline.take_tick()
    pipeline.ingest([msg("kitchen/temp", "23", 102.0)])
    series = pipeline.store.series["kitchen/temp"]
    ts, values = series.raw()
    assert (ts.tolist(), values.tolist()) == ([102.0], [24.0])
    assert (series.entry.count, series.entry.name) == (1, "Kitchen")
    assert [e.id for e in pipeline.take_tick().new_series] == ["kitchen/temp"]
