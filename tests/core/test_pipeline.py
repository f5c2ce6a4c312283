"""From raw messages to stored points and one pending point per series per tick."""

from __future__ import annotations

import logging

import pytest

from telemetry import frames
from telemetry.config import Config, FilterSpec, HistoryConfig, LimitsConfig, SeriesRule
from telemetry.model import RawMessage, Route
from telemetry.pipeline import Pipeline, TickPoint

ROUTE = Route("home", "mqtt", "number", template="{device}/{sensor...}")


def msg(topic: str, payload: bytes | str, ts: float = 100.0) -> RawMessage:
    data = payload.encode() if isinstance(payload, str) else payload
    return RawMessage(ROUTE, topic, data, ts)


def stored(pipeline: Pipeline, series: str) -> list[tuple[float, float]]:
    ts, values = pipeline.store.series[series].raw()
    return list(zip(ts.tolist(), values.tolist(), strict=True))


def test_pipeline_ingest_stores_readings_per_series() -> None:
    pipeline = Pipeline(Config())
    pipeline.ingest(
        [
            msg("kitchen/temp", "21.5 °C", 100.0),
            msg("kitchen/temp", "21.7", 101.0),
            msg("garage/door/open", "1", 101.5),
        ]
    )
    assert sorted(pipeline.store.series) == ["garage/door/open", "kitchen/temp"]
    assert stored(pipeline, "kitchen/temp") == [(100.0, 21.5), (101.0, 21.7)]
    info = pipeline.store.series["kitchen/temp"].entry
    assert (info.device, info.sensor, info.unit, info.source) == ("kitchen", "temp", "°C", "home")
    assert pipeline.accepted == 3
    assert not pipeline.rejected


def test_pipeline_counts_rejected_messages_by_reason() -> None:
    pipeline = Pipeline(Config())
    pipeline.ingest(
        [
            msg("a/t", "nan"),
            msg("a/t", "unavailable"),
            msg("a/t", ""),
            msg("a/t", b"\xff"),
            msg("a/t", "1e309"),
            msg("a/t", "3 furlongs"),
            msg("notemplate", "1"),
            msg("a/t", "5"),
        ]
    )
    assert pipeline.rejected == {
        "not_a_number": 2,
        "empty": 1,
        "not_utf8": 1,
        "not_finite": 1,
        "unknown_unit": 1,
        "topic_mismatch": 1,
    }
    assert pipeline.accepted == 1
    assert stored(pipeline, "a/t") == [(100.0, 5.0)]


def test_pipeline_stores_a_late_reading_at_its_place_outside_the_live_frame() -> None:
    pipeline = Pipeline(Config())
    pipeline.ingest([msg("a/t", "1", 100.0), msg("a/t", "2", 99.0)])
    assert pipeline.rejected == {}
    assert stored(pipeline, "a/t") == [(99.0, 2.0), (100.0, 1.0)]
    assert frames.point(pipeline.take_tick().points["a/t"]) == [100.0, 1.0]
    assert pipeline.store.series["a/t"].entry.last_value == 1.0


def test_pipeline_refuses_and_counts_duplicates_and_points_too_old() -> None:
    history = HistoryConfig(raw_span=60.0, rollups=((10.0, 100.0),))
    pipeline = Pipeline(Config(history=history))
    pipeline.ingest([msg("a/t", "1", 1000.0), msg("a/t", "1", 1000.0), msg("a/t", "5", 100.0)])
    assert pipeline.rejected == {"duplicate": 1, "too_old": 1}
    assert stored(pipeline, "a/t") == [(1000.0, 1.0)]


def test_take_tick_gives_ts_and_value_for_a_single_reading() -> None:
    pipeline = Pipeline(Config())
    pipeline.ingest([msg("a/t", "21.5", 100.0)])
    tick = pipeline.take_tick()
    assert {sid: frames.point(p) for sid, p in tick.points.items()} == {"a/t": [100.0, 21.5]}


def test_take_tick_gives_last_min_and_max_for_several_readings() -> None:
    pipeline = Pipeline(Config())
    pipeline.ingest(
        [
            msg("a/t", "3", 100.0),
            msg("a/t", "9", 100.1),
            msg("a/t", "1", 100.2),
            msg("a/t", "4", 100.3),
        ]
    )
    tick = pipeline.take_tick()
    assert frames.point(tick.points["a/t"]) == [100.3, 4.0, 1.0, 9.0]


def test_take_tick_gives_one_point_per_series() -> None:
    pipeline = Pipeline(Config())
    pipeline.ingest([msg("a/t", "1"), msg("b/t", "2"), msg("a/t", "3", 101.0)])
    tick = pipeline.take_tick()
    assert {sid: frames.point(p) for sid, p in tick.points.items()} == {
        "a/t": [101.0, 3.0, 1.0, 3.0],
        "b/t": [100.0, 2.0],
    }


def test_take_tick_starts_a_new_empty_tick() -> None:
    pipeline = Pipeline(Config())
    pipeline.ingest([msg("a/t", "1")])
    pipeline.take_tick()
    tick = pipeline.take_tick()
    assert tick.points == {}
    assert tick.new_series == []


def test_take_tick_lists_a_new_series_once_in_the_tick_it_appears() -> None:
    pipeline = Pipeline(Config())
    pipeline.ingest([msg("a/t", "1", 100.0), msg("a/t", "2", 101.0)])
    first = pipeline.take_tick()
    assert [info.id for info in first.new_series] == ["a/t"]
    pipeline.ingest([msg("a/t", "3", 102.0), msg("b/t", "4", 102.0)])
    second = pipeline.take_tick()
    assert [info.id for info in second.new_series] == ["b/t"]
    assert sorted(second.points) == ["a/t", "b/t"]


def test_series_rule_overrides_the_unit_and_applies_filters() -> None:
    rule = SeriesRule(
        "bench/*", unit="°C", filters=(FilterSpec("offset", -0.5), FilterSpec("clamp", [-40, 85]))
    )
    pipeline = Pipeline(Config(series=(rule,)))
    pipeline.ingest([msg("bench/temp", "21.5 %", 100.0), msg("bench/temp", "200", 101.0)])
    assert pipeline.store.series["bench/temp"].entry.unit == "°C"
    assert stored(pipeline, "bench/temp") == [(100.0, 21.0), (101.0, 85.0)]
    assert frames.point(pipeline.take_tick().points["bench/temp"]) == [101.0, 85.0, 21.0, 85.0]


def test_series_rule_only_applies_to_matching_series() -> None:
    rule = SeriesRule("bench/*", unit="°C", filters=(FilterSpec("offset", 100),))
    pipeline = Pipeline(Config(series=(rule,)))
    pipeline.ingest([msg("kitchen/temp", "21.5 %")])
    assert pipeline.store.series["kitchen/temp"].entry.unit == "%"
    assert stored(pipeline, "kitchen/temp") == [(100.0, 21.5)]


def test_series_rule_first_match_wins() -> None:
    rules = (
        SeriesRule("bench/temp", unit="°F", filters=(FilterSpec("multiply", 2),)),
        SeriesRule("bench/*", unit="°C", filters=(FilterSpec("offset", 100),)),
    )
    pipeline = Pipeline(Config(series=rules))
    pipeline.ingest([msg("bench/temp", "10"), msg("bench/hum", "10")])
    assert pipeline.store.series["bench/temp"].entry.unit == "°F"
    assert stored(pipeline, "bench/temp") == [(100.0, 20.0)]
    assert pipeline.store.series["bench/hum"].entry.unit == "°C"
    assert stored(pipeline, "bench/hum") == [(100.0, 110.0)]


def test_series_rule_filter_that_overflows_drops_the_reading_counted_as_filtered() -> None:
    rule = SeriesRule("a/*", filters=(FilterSpec("multiply", 1e308),))
    pipeline = Pipeline(Config(series=(rule,)))
    pipeline.ingest([msg("a/t", "10", 100.0), msg("a/t", "0.5", 101.0)])
    assert pipeline.rejected == {"filtered": 1}
    assert stored(pipeline, "a/t") == [(101.0, 0.5e308)]


def test_series_cap_refuses_a_new_series_and_counts_it() -> None:
    pipeline = Pipeline(Config(limits=LimitsConfig(max_series=2)))
    pipeline.ingest([msg("a/t", "1"), msg("b/t", "2"), msg("c/t", "3"), msg("a/t", "4", 101.0)])
    assert sorted(pipeline.store.series) == ["a/t", "b/t"]
    assert pipeline.rejected == {"series_limit": 1}
    assert pipeline.store.refused_series == 1
    tick = pipeline.take_tick()
    assert sorted(tick.points) == ["a/t", "b/t"]
    assert [info.id for info in tick.new_series] == ["a/t", "b/t"]


def test_pipeline_a_unit_learned_later_changes_the_catalog_once() -> None:
    pipeline = Pipeline(Config())
    route = Route("home", "mqtt", "auto")
    pipeline.ingest([RawMessage(route, "homie/h0/sensor/t", b"20.5", 1.0)])  # retained, first
    assert [i.unit for i in pipeline.take_tick().new_series] == [None]
    pipeline.ingest([RawMessage(route, "homie/h0/sensor/t/$unit", "°C".encode(), 2.0)])
    pipeline.ingest([RawMessage(route, "homie/h0/sensor/t", b"20.6", 3.0)])
    pipeline.ingest([RawMessage(route, "homie/h0/sensor/t", b"20.7", 4.0)])
    changed = pipeline.take_tick().new_series
    assert [(i.id, i.unit) for i in changed] == [("h0/sensor/t", "°C")]
    assert pipeline.take_tick().new_series == []


def test_pipeline_a_unit_learned_later_reaches_the_catalog_without_a_new_reading() -> None:
    pipeline = Pipeline(Config())
    route = Route("home", "mqtt", "auto")
    pipeline.ingest([RawMessage(route, "homie/h0/sensor/t", b"20.5", 1.0)])
    pipeline.take_tick()
    pipeline.ingest([RawMessage(route, "homie/h0/sensor/t/$unit", "°C".encode(), 2.0)])
    changed = pipeline.take_tick().new_series
    assert [(i.id, i.unit, i.count) for i in changed] == [("h0/sensor/t", "°C", 1)]


def test_pipeline_on_off_readings_are_state_series_in_the_catalog() -> None:
    pipeline = Pipeline(Config())
    route = Route("home", "mqtt", "auto")
    pipeline.ingest([RawMessage(route, "zigbee2mqtt/door", b'{"contact":true}', 1.0)])
    pipeline.ingest([RawMessage(route, "zigbee2mqtt/door", b'{"contact":false}', 2.0)])
    entry = pipeline.store.series["door/contact"].entry
    assert stored(pipeline, "door/contact") == [(1.0, 1.0), (2.0, 0.0)]
    assert frames.series(entry)["kind"] == "state"
    assert frames.series(pipeline.store.series["door/contact"].entry)["unit"] is None


def test_pipeline_a_series_fed_by_two_sources_is_logged_once_and_shown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    pipeline = Pipeline(Config())
    home = Route("home", "mqtt", "number", template="{device}/{sensor}")
    lab = Route("lab", "mqtt", "number", template="{device}/{sensor}")
    pipeline.ingest([RawMessage(home, "pump/t", b"20", 1.0)])
    pipeline.take_tick()
    with caplog.at_level(logging.WARNING, logger="telemetry.pipeline"):
        for n in range(3):
            pipeline.ingest([RawMessage(lab, "pump/t", b"30", 2.0 + n)])
            pipeline.ingest([RawMessage(home, "pump/t", b"20", 2.5 + n)])
    entry = pipeline.store.series["pump/t"].entry
    assert frames.series(entry)["sources"] == ["home", "lab"]
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "two devices of the same name" in caplog.records[0].message
    assert [i.id for i in pipeline.take_tick().new_series] == ["pump/t"]


def test_pipeline_a_rule_unit_is_not_overridden_by_payloads() -> None:
    rule = SeriesRule(match="h0/*", unit="K")
    pipeline = Pipeline(Config(series=(rule,)))
    route = Route("home", "mqtt", "auto")
    pipeline.ingest([RawMessage(route, "homie/h0/sensor/t/$unit", "°C".encode(), 1.0)])
    pipeline.ingest([RawMessage(route, "homie/h0/sensor/t", b"293.1", 2.0)])
    pipeline.ingest([RawMessage(route, "homie/h0/sensor/t", b"293.2", 3.0)])
    assert pipeline.store.series["h0/sensor/t"].entry.unit == "K"


class FakeClock:
    """The pipeline's monotonic clock, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def clocked(*filter_specs: FilterSpec) -> tuple[Pipeline, FakeClock]:
    clock = FakeClock()
    rules = (SeriesRule("a/*", filters=filter_specs),) if filter_specs else ()
    return Pipeline(Config(series=rules), clock=clock), clock


def feed(pipeline: Pipeline, clock: FakeClock, now: float, payload: str) -> None:
    """A reading arriving at monotonic `now`, device time 1000 + now."""
    clock.now = now
    pipeline.ingest([msg("a/t", payload, 1000.0 + now)])


def test_pipeline_counts_readings_a_filter_drops_but_not_those_a_window_holds() -> None:
    pipeline, clock = clocked(FilterSpec("range", [0, 100]), FilterSpec("throttle", "10s"))
    for now, payload in [(0, "5"), (1, "500"), (2, "6"), (3, "-1"), (4, "8")]:
        feed(pipeline, clock, now, payload)
    assert pipeline.rejected == {"filtered": 2}
    assert pipeline.accepted == 3
    assert stored(pipeline, "a/t") == [(1000.0, 5.0)]


def test_pipeline_throttle_stores_the_window_value_and_ticks_its_min_max() -> None:
    pipeline, clock = clocked(FilterSpec("throttle", "10s"))
    feed(pipeline, clock, 0, "5")
    assert frames.point(pipeline.take_tick(0.1).points["a/t"]) == [1000.0, 5.0]
    for now, payload in [(1, "1"), (4, "5"), (7, "0")]:
        feed(pipeline, clock, now, payload)
    assert pipeline.take_tick(7.1).points == {}
    # the source is silent; the window 1..11 closes on the tick after 11
    tick = pipeline.take_tick(11.1)
    assert frames.point(tick.points["a/t"]) == [1011.0, 2.0, 0.0, 5.0]
    assert stored(pipeline, "a/t") == [(1000.0, 5.0), (1011.0, 2.0)]


def test_pipeline_take_tick_uses_the_injected_clock_by_default() -> None:
    pipeline, clock = clocked(FilterSpec("heartbeat", "60s"))
    feed(pipeline, clock, 0, "5")
    pipeline.take_tick()
    clock.now = 59.0
    assert pipeline.take_tick().points == {}
    clock.now = 60.0
    assert frames.point(pipeline.take_tick().points["a/t"]) == [1060.0, 5.0]


def test_stale_auto_limit_is_five_median_intervals_and_data_brings_the_series_back() -> None:
    pipeline, clock = clocked()
    for now in (0, 10, 20, 30):  # intervals 10, 10, 10: limit max(30, 5 * 10) = 50 s
        feed(pipeline, clock, now, "1")
    pipeline.take_tick(30.0)
    info = pipeline.store.series["a/t"].entry
    assert pipeline.take_tick(80.0).new_series == []  # 50 s quiet: not beyond the limit
    assert not info.stale
    tick = pipeline.take_tick(81.0)
    assert tick.new_series == [info]
    assert frames.series(info)["stale"] is True
    assert pipeline.take_tick(90.0).new_series == []  # announced once
    feed(pipeline, clock, 95, "2")
    tick = pipeline.take_tick(95.1)
    assert tick.new_series == [info]
    assert frames.series(info)["stale"] is False


def test_stale_auto_limit_is_at_least_thirty_seconds() -> None:
    pipeline, clock = clocked()
    for now in (0, 1, 2, 3):
        feed(pipeline, clock, now, "1")
    pipeline.take_tick(32.5)
    assert not pipeline.store.series["a/t"].entry.stale
    pipeline.take_tick(33.5)
    assert pipeline.store.series["a/t"].entry.stale


def test_stale_auto_needs_three_intervals_before_it_marks_anything() -> None:
    pipeline, clock = clocked()
    for now in (0, 10, 20):
        feed(pipeline, clock, now, "1")
    pipeline.take_tick(10_000.0)
    assert not pipeline.store.series["a/t"].entry.stale


def test_stale_explicit_limit_applies_from_the_first_reading() -> None:
    pipeline, clock = clocked(FilterSpec("stale", "5s"))
    feed(pipeline, clock, 0, "1")
    pipeline.take_tick(4.5)
    assert not pipeline.store.series["a/t"].entry.stale
    assert [i.id for i in pipeline.take_tick(5.5).new_series] == ["a/t"]
    assert pipeline.store.series["a/t"].entry.stale


def test_stale_is_checked_at_most_once_a_second() -> None:
    pipeline, clock = clocked(FilterSpec("stale", "5s"))
    feed(pipeline, clock, 0, "1")
    pipeline.take_tick(4.8)
    pipeline.take_tick(5.2)  # past the limit, but 0.4 s after the last check
    assert not pipeline.store.series["a/t"].entry.stale
    pipeline.take_tick(5.8)
    assert pipeline.store.series["a/t"].entry.stale


def test_stale_heartbeat_repeats_are_not_data() -> None:
    pipeline, clock = clocked(FilterSpec("heartbeat", "2s"), FilterSpec("stale", "5s"))
    feed(pipeline, clock, 0, "1")
    for now in (2.0, 4.0, 6.0):
        pipeline.take_tick(now)
    assert stored(pipeline, "a/t") == [(1000.0, 1.0), (1002.0, 1.0), (1004.0, 1.0), (1006.0, 1.0)]
    assert pipeline.store.series["a/t"].entry.stale


def test_stale_a_reading_a_filter_drops_still_shows_the_sensor_is_alive() -> None:
    pipeline, clock = clocked(FilterSpec("range", [0, 10]), FilterSpec("stale", "5s"))
    feed(pipeline, clock, 0, "1")
    feed(pipeline, clock, 4, "99")
    pipeline.take_tick(8.0)
    assert not pipeline.store.series["a/t"].entry.stale
    assert pipeline.rejected == {"filtered": 1}


def test_tick_point_takes_a_window_low_and_high() -> None:
    point = TickPoint(10.0, 2.0, 1.0, 3.0)
    assert frames.point(point) == [10.0, 2.0, 1.0, 3.0]
    point.add(11.0, 5.0)
    assert frames.point(point) == [11.0, 5.0, 1.0, 5.0]
    point.add(12.0, 0.5)
    assert frames.point(point) == [12.0, 0.5, 0.5, 5.0]
    point.add(13.0, 4.0, 0.0, 9.0)  # a second window in the same tick
    assert frames.point(point) == [13.0, 4.0, 0.0, 9.0]
    point.add(14.0, 4.5, 4.0, 6.0)  # its extremes inside the ones already seen
    assert frames.point(point) == [14.0, 4.5, 0.0, 9.0]
    assert point.count == 5
    assert frames.point(TickPoint(10.0, 2.0, 2.0, 2.0)) == [10.0, 2.0]
