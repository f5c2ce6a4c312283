"""The `alert` event: sent on each change, and the states not ok on every opening."""

from __future__ import annotations

import json
from typing import Any

from telemetry.config import Config, LimitsConfig, ServerConfig, parse_config
from telemetry.hub import Hub
from telemetry.pipeline import Pipeline
from telemetry.sources import SourceStatus, State
from tests.core.test_hub import connect, events, ingest, opening_events

RULES = """
[[alert]]
name = "hot"
match = "a/*"
above = 10
[[alert]]
name = "broker"
reader = "home"
"""


def make_hub(config: Config | None = None, reader: list[State] | None = None) -> Hub:
    state: list[State] = reader if reader is not None else ["connected"]
    return Hub(
        Pipeline(config if config is not None else parse_config(RULES)),
        ServerConfig(),
        LimitsConfig(),
        statuses=lambda: [SourceStatus("home", "mqtt", state[0], 1.0)],
    )


def alert_events(chunk: bytes) -> list[dict[str, Any]]:
    return [json.loads(e["data"]) for e in events(chunk) if e.get("event") == "alert"]


def shown(event: dict[str, Any]) -> tuple[bool, list[tuple[str, str, str]]]:
    return event["full"], [(a["rule"], a["series"], a["state"]) for a in event["alerts"]]


def test_hub_sends_an_alert_event_on_each_change_to_every_client() -> None:
    hub = make_hub()
    everything, other = connect(hub), connect(hub, patterns=("b/*",))
    for value in ("5", "12", "13", "4"):  # 13: still firing, no event
        hub.publish(ingest(hub, ("a/t", value)))
    for client in (everything, other):  # the banner shows every alert, whatever is charted
        found = alert_events(client.take())
        assert [shown(e) for e in found] == [
            (False, [("hot", "a/t", "firing")]),
            (False, [("hot", "a/t", "resolved")]),
        ]
    state = alert_events(hub.opening(connect(hub), None))[0]["alerts"]
    assert state == []  # nothing raised now


def test_hub_alert_event_carries_value_time_and_the_state_before() -> None:
    hub = make_hub()
    client = connect(hub)
    hub.publish(ingest(hub, ("a/t", "12")))
    (event,) = alert_events(client.take())
    (change,) = event["alerts"]
    assert change["condition"] == "above"
    assert (change["previous"], change["state"], change["value"]) == ("ok", "firing", 12.0)
    assert isinstance(change["since"], float)


def test_hub_reader_alert_fires_from_the_readers_states() -> None:
    reader: list[State] = ["connecting"]
    hub = make_hub(reader=reader)
    client = connect(hub)
    hub.publish(hub.pipeline.take_tick())
    reader[0] = "disconnected"
    hub.publish(hub.pipeline.take_tick())
    reader[0] = "connected"
    hub.publish(hub.pipeline.take_tick())
    found = [shown(e) for e in alert_events(client.take())]
    assert found == [
        (False, [("broker", "home", "firing")]),
        (False, [("broker", "home", "resolved")]),
    ]


def test_hub_resuming_client_gets_the_states_not_ok_in_its_replay() -> None:
    hub = make_hub()
    hub.publish(ingest(hub, ("a/t", "12")), now=1000.0)
    hub.publish(ingest(hub, ("a/x", "1")), now=1001.0)
    found = opening_events(hub, connect(hub), f"{hub.boot_id}-1")
    assert [e["event"] for e in found] == ["hello", "catalog", "alert", "readings"]
    assert shown(json.loads(found[2]["data"])) == (True, [("hot", "a/t", "firing")])


def test_hub_client_that_fell_behind_gets_the_states_not_ok_in_its_catch_up() -> None:
    hub = make_hub()
    client = connect(hub)
    client.backlog = 1
    hub.publish(ingest(hub, ("a/t", "12")))
    hub.publish(ingest(hub, ("a/x", "1")))  # the backlog overflows: the alert frame is lost
    assert client.behind_from is not None
    (event,) = alert_events(client.take())
    assert shown(event) == (True, [("hot", "a/t", "firing")])


def test_hub_without_rules_sends_no_alert_events() -> None:
    hub = make_hub(Config())
    client = connect(hub)
    assert alert_events(hub.opening(client, None)) == []
    hub.publish(ingest(hub, ("a/t", "12")))
    assert alert_events(client.take()) == []
