"""`[[alert]]` rules at work in the pipeline: ok -> pending -> firing -> resolved."""

from __future__ import annotations

import logging

import pytest

from telemetry.alerts import MAX_CHANGES, Alerts
from telemetry.config import Config, parse_config
from telemetry.model import RawMessage, Reading, Route
from telemetry.pipeline import Pipeline
from telemetry.sources import SourceStatus
from tests.core.test_config_alerts import FREEZER

ROUTE = Route("home", "mqtt", "number", template="{device}/{sensor...}")


class Clock:
    def __init__(self, t: float = 1000.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def make(text: str) -> tuple[Pipeline, Clock]:
    clock = Clock()
    return Pipeline(parse_config(text), clock), clock


_received = iter(range(10**9))


def send(pipeline: Pipeline, topic: str, value: float | str) -> None:
    ts = 1.7e9 + next(_received)  # each reading its own time: equal times are duplicates
    pipeline.ingest([RawMessage(ROUTE, topic, str(value).encode(), ts)])


def history(pipeline: Pipeline) -> list[tuple[str, str, str, float | None]]:
    return [(c.rule, c.series, c.state, c.value) for c in pipeline.alerts.changes]


def at(pipeline: Pipeline, clock: Clock, t: float) -> None:
    """The clock moves to `t` and a tick runs (what the ticker and quiet wake do)."""
    clock.t = t
    pipeline.take_tick()


def test_alert_readings_that_leave_a_watch_idle_keep_its_value_and_record_nothing() -> None:
    pipeline, _ = make(FREEZER.replace('for = "10m"', 'for = "0s"'))
    send(pipeline, "freezer/temperature", -18)
    send(pipeline, "freezer/temperature", -14)  # fires
    send(pipeline, "freezer/temperature", -17)  # at clear: resolved
    send(pipeline, "freezer/temperature", -16)  # idle, below the threshold: nothing
    send(pipeline, "freezer/temperature", -20)
    assert [c.state for c in pipeline.alerts.changes] == ["firing", "resolved"]
    (state,) = pipeline.alerts.states()
    assert (state.state, state.value) == ("resolved", -20)
    send(pipeline, "freezer/temperature", -14.5)  # from resolved, as from ok: fires again
    assert [c.state for c in pipeline.alerts.changes][-1] == "firing"


def test_alert_fires_after_for_and_resolves_at_clear_only() -> None:
    pipeline, clock = make(FREEZER)
    send(pipeline, "freezer/temperature", -18)
    send(pipeline, "freezer/temperature", -14)  # above -15: pending
    at(pipeline, clock, 1300.0)
    send(pipeline, "freezer/temperature", -16)  # under -15, not at -17: still holds
    at(pipeline, clock, 1599.0)
    assert [c.state for c in pipeline.alerts.changes] == ["pending"]
    at(pipeline, clock, 1601.0)  # ten minutes on: fires with no reading needed
    send(pipeline, "freezer/temperature", -16.5)
    clock.t = 1700.0
    send(pipeline, "freezer/temperature", -17)  # back at clear: resolved
    assert history(pipeline) == [
        ("freezer-warm", "freezer/temperature", "pending", -14.0),
        ("freezer-warm", "freezer/temperature", "firing", -16.0),
        ("freezer-warm", "freezer/temperature", "resolved", -17.0),
    ]
    (state,) = pipeline.alerts.states()
    assert (state.state, state.previous, state.value) == ("resolved", "firing", -17.0)


def test_alert_pending_that_clears_before_for_never_fires() -> None:
    pipeline, clock = make(FREEZER)
    send(pipeline, "freezer/temperature", -10)
    at(pipeline, clock, 1300.0)
    send(pipeline, "freezer/temperature", -20)
    at(pipeline, clock, 2000.0)
    assert [c.state for c in pipeline.alerts.changes] == ["pending", "ok"]


def test_alert_without_for_fires_on_the_reading_and_fires_again_after_resolving() -> None:
    pipeline, _ = make('[[alert]]\nname = "cold"\nmatch = "greenhouse/*"\nbelow = 5\nclear = 6\n')
    for value in (7, 4, 5.5, 6, 3):
        send(pipeline, "greenhouse/air", value)
    assert history(pipeline) == [
        ("cold", "greenhouse/air", "firing", 4.0),
        ("cold", "greenhouse/air", "resolved", 6.0),
        ("cold", "greenhouse/air", "firing", 3.0),
    ]


def test_alert_outside_and_state_conditions() -> None:
    pipeline, _ = make(
        '[[alert]]\nname = "fridge"\nmatch = "fridge/t"\noutside = [2, 8]\n'
        '[[alert]]\nname = "washer"\nmatch = "washer/on"\nstate = "off"\n'
    )
    for value in (5, 9, 1, 3):
        send(pipeline, "fridge/t", value)
    for state in ("1", "0", "1"):
        send(pipeline, "washer/on", state)
    assert history(pipeline) == [
        ("fridge", "fridge/t", "firing", 9.0),
        ("fridge", "fridge/t", "resolved", 3.0),
        ("washer", "washer/on", "firing", 0.0),
        ("washer", "washer/on", "resolved", 1.0),
    ]


def test_alert_stale_fires_on_the_timer_with_no_readings_at_all() -> None:
    pipeline, clock = make('[[alert]]\nname = "quiet"\nmatch = "attic/temp"\nstale = "15m"\n')
    at(pipeline, clock, 1000.0 + 899.0)
    assert not pipeline.alerts.changes
    at(pipeline, clock, 1000.0 + 901.0)
    assert history(pipeline) == [("quiet", "attic/temp", "firing", None)]
    send(pipeline, "attic/temp", 12)
    assert [c.state for c in pipeline.alerts.changes] == ["firing", "resolved"]


def test_alert_restored_series_goes_stale_only_a_stale_duration_after_start() -> None:
    """No storm after a restart: a series saved hours ago is not stale at start."""
    pipeline, clock = make('[[alert]]\nname = "quiet"\nmatch = "*/temp"\nstale = "15m"\n')
    old = Reading("attic", "temp", 20.0, "°C", 0.0, 0.0)
    pipeline.store.create(old, "home", "°C")  # what loading the history file leaves
    pipeline.settle()
    at(pipeline, clock, 1000.0 + 5.0)
    assert not pipeline.alerts.changes
    at(pipeline, clock, 1000.0 + 901.0)
    assert history(pipeline) == [("quiet", "attic/temp", "firing", None)]


def test_alert_a_series_no_rule_matches_is_not_watched() -> None:
    pipeline, _ = make(FREEZER)
    for i in range(50):
        send(pipeline, f"kitchen/t{i}", i)
    assert pipeline.alerts.count == 0
    assert pipeline.alerts.states() == []
    send(pipeline, "freezer/temperature", -20)
    assert [s.series for s in pipeline.alerts.states()] == ["freezer/temperature"]


def test_alert_watches_are_capped_and_refusals_counted() -> None:
    text = (
        '[[alert]]\nname = "hot"\nmatch = "*"\nabove = 1\n'
        '[[alert]]\nname = "x"\nmatch = "*"\nbelow = 0\n'
    )
    alerts = Alerts(parse_config(text).alerts, Clock(), max_states=3)
    watched = [alerts.watches(f"s{i}") for i in range(3)]
    assert [len(w) for w in watched] == [2, 1, 0]
    assert (alerts.count, alerts.refused) == (3, 3)


def test_alert_change_log_keeps_the_last_thousand() -> None:
    pipeline, _ = make('[[alert]]\nname = "hot"\nmatch = "plug/power"\nabove = 100\n')
    for i in range(MAX_CHANGES):
        send(pipeline, "plug/power", 200 + i)
        send(pipeline, "plug/power", 50)
    changes = pipeline.alerts.changes
    assert len(changes) == MAX_CHANGES
    assert changes[-1].state == "resolved"
    assert changes[0].value == 200.0 + MAX_CHANGES / 2


def test_alert_reader_rule_fires_when_a_reader_stays_disconnected() -> None:
    clock = Clock()
    alerts = Alerts(
        parse_config('[[alert]]\nname = "b"\nreader = "home*"\nfor = "1m"\n').alerts, clock
    )

    def seen(state: str, name: str = "home") -> None:
        alerts.readers([SourceStatus(name, "mqtt", state, 0.0)])  # type: ignore[arg-type]

    seen("connecting")  # a first attempt is not a failure
    seen("connecting", "bench")  # not a reader the rule names
    assert not alerts.changes
    seen("disconnected")
    clock.t += 30
    seen("connecting")  # retrying: still down
    alerts.check(clock.t)
    clock.t += 31
    alerts.check(clock.t)
    seen("connected")
    assert [(c.series, c.state) for c in alerts.changes] == [
        ("home", "pending"),
        ("home", "firing"),
        ("home", "resolved"),
    ]
    assert [s.series for s in alerts.states()] == ["home"]


def test_alert_repeat_notices_again_while_firing() -> None:
    pipeline, clock = make(
        '[[alert]]\nname = "hot"\nmatch = "plug/power"\nabove = 100\nrepeat = "1h"\n'
    )
    send(pipeline, "plug/power", 300)
    at(pipeline, clock, 1000.0 + 3599.0)
    assert len(pipeline.alerts.notices) == 1
    at(pipeline, clock, 1000.0 + 3601.0)
    at(pipeline, clock, 1000.0 + 3700.0)
    assert [n.state for n in pipeline.alerts.notices] == ["firing", "firing"]
    assert len(pipeline.alerts.changes) == 1  # a repeat is not a change


def test_alert_take_notices_hands_each_notice_to_the_sinks_once() -> None:
    pipeline, _ = make('[[alert]]\nname = "hot"\nmatch = "plug/power"\nabove = 100\n')
    send(pipeline, "plug/power", 300)
    send(pipeline, "plug/power", 350)  # still firing: nothing new to tell
    send(pipeline, "plug/power", 50)
    taken = pipeline.alerts.take_notices()
    assert [(n.state, n.value) for n in taken] == [("firing", 300.0), ("resolved", 50.0)]
    assert pipeline.alerts.take_notices() == []


def test_alert_deleted_series_forgets_its_watches() -> None:
    pipeline, _ = make(FREEZER)
    send(pipeline, "freezer/temperature", -10)
    assert pipeline.delete("freezer/temperature")
    assert pipeline.alerts.states() == []
    assert pipeline.alerts.count == 0


def test_alert_changes_are_taken_once_for_the_stream() -> None:
    pipeline, _ = make('[[alert]]\nname = "hot"\nmatch = "plug/power"\nabove = 100\n')
    send(pipeline, "plug/power", 300)
    assert [c.state for c in pipeline.alerts.take()] == ["firing"]
    assert pipeline.alerts.take() == []
    assert [c.state for c in pipeline.alerts.raised()] == ["firing"]


def test_alert_rules_absent_cost_nothing() -> None:
    pipeline = Pipeline(Config())
    pipeline.ingest([RawMessage(ROUTE, "a/b", b"1", 0.0)])
    assert pipeline.alerts.count == 0


def test_alert_log_lines_escape_the_series_id(caplog: pytest.LogCaptureFixture) -> None:
    alerts = Alerts(parse_config('[[alert]]\nname = "hot"\nmatch = "*"\nabove = 1\n').alerts)
    with caplog.at_level(logging.INFO, "telemetry.alerts"):
        alerts.reading(alerts.watches("a/\x1b[2Jb\nfake line"), 5.0, 1.0)
    (line,) = caplog.messages
    assert "\x1b" not in line and "\n" not in line
    assert "a/\\x1b[2Jb\\nfake line: ok -> firing" in line
