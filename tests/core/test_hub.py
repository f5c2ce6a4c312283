"""The hub's pure parts: admitting clients and fanning encoded ticks out to them."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import time
from typing import Any

import pytest

import telemetry.hub as hub_module
from telemetry.config import Config, LimitsConfig, ServerConfig
from telemetry.hub import Client, Hub, merge_points
from telemetry.model import RawMessage, Route
from telemetry.pipeline import Pipeline, Tick
from telemetry.sources import SourceStatus, State

ROUTE = Route("home", "mqtt", "number", template="{device}/{sensor...}")


def make_hub(**limits: Any) -> Hub:
    return Hub(Pipeline(Config()), ServerConfig(), dataclasses.replace(LimitsConfig(), **limits))


def connect(hub: Hub, host: str = "10.0.0.1", patterns: tuple[str, ...] | None = None) -> Client:
    client = hub.connect(host, patterns)
    assert isinstance(client, Client)
    return client


def ingest(hub: Hub, *readings: tuple[str, str]) -> Tick:
    hub.pipeline.ingest(
        RawMessage(ROUTE, topic, payload.encode(), 100.0) for topic, payload in readings
    )
    return hub.pipeline.take_tick()


def events(chunk: bytes) -> list[dict[str, str]]:
    """The events in `chunk` as field dicts (`data` parsed later by the caller)."""
    out = []
    for block in chunk.decode().split("\n\n"):
        if block:
            out.append(dict(line.split(": ", 1) for line in block.split("\n")))
    return out


def readings_of(client: Client) -> dict[str, object]:
    (event,) = [e for e in events(client.take()) if e.get("event") == "readings"]
    data = json.loads(event["data"])
    assert isinstance(data, dict)
    series = data["series"]
    assert isinstance(series, dict)
    return series


def test_hub_connect_refuses_past_max_clients() -> None:
    hub = make_hub(max_clients=2)
    connect(hub, "10.0.0.1")
    connect(hub, "10.0.0.2")
    assert hub.connect("10.0.0.3", None) == "too_many_clients"
    assert hub.refused == {"too_many_clients": 1}
    assert len(hub.clients) == 2


def test_hub_connect_refuses_past_max_clients_per_host() -> None:
    hub = make_hub(max_clients_per_host=2)
    connect(hub, "10.0.0.1")
    connect(hub, "10.0.0.1")
    assert hub.connect("10.0.0.1", None) == "too_many_from_host"
    connect(hub, "10.0.0.2")
    assert hub.refused == {"too_many_from_host": 1}


def test_hub_disconnect_frees_the_slot() -> None:
    hub = make_hub(max_clients=1, max_clients_per_host=1)
    first = connect(hub, "10.0.0.1")
    assert hub.connect("10.0.0.1", None) == "too_many_clients"
    hub.disconnect(first)
    hub.disconnect(first)  # twice is harmless
    assert hub.per_host == {}
    connect(hub, "10.0.0.1")


def test_hub_publish_pushes_one_chunk_per_client() -> None:
    hub = make_hub()
    clients = [connect(hub, f"10.0.0.{i}") for i in range(3)]
    hub.publish(ingest(hub, ("a/t", "1"), ("b/t", "2")), now=123.0)
    for client in clients:
        assert len(client.frames) == 1
    kinds = [e["event"] for e in events(clients[0].frames[0][0])]
    assert kinds == ["catalog", "readings"]


def test_hub_publish_starts_the_fan_out_at_a_different_client_each_frame() -> None:
    """Streams are woken in push order; no client may always be the last one written."""
    asyncio.run(_fan_out_order())


async def _fan_out_order() -> None:
    hub = make_hub()
    clients = [connect(hub, f"10.0.0.{i}") for i in range(5)]
    woken: list[int] = []

    async def stream(client: Client) -> None:
        while True:
            await client.wait(60)
            client.take()
            woken.append(client.id)

    tasks = [asyncio.create_task(stream(c)) for c in clients]
    await asyncio.sleep(0)
    firsts, lasts = set(), set()
    for i in range(40):
        hub.publish(ingest(hub, ("home/a/t", str(i))))
        for _ in range(3):
            await asyncio.sleep(0)
        assert sorted(woken) == sorted(c.id for c in clients)  # everyone, once
        firsts.add(woken[0])
        lasts.add(woken[-1])
        woken.clear()
    for task in tasks:
        task.cancel()
    assert len(firsts) >= 4
    assert len(lasts) >= 4


def test_hub_publish_encodes_once_for_clients_with_the_same_patterns() -> None:
    hub = make_hub()
    everything = [connect(hub, "10.0.0.1"), connect(hub, "10.0.0.2")]
    same = [connect(hub, "10.0.0.3", ("a/*",)), connect(hub, "10.0.0.4", ("a/*",))]
    hub.publish(ingest(hub, ("a/t", "1"), ("b/t", "2")), now=123.0)
    assert everything[0].frames[0][0] is everything[1].frames[0][0]
    assert same[0].frames[0][0] is same[1].frames[0][0]
    assert same[0].frames[0][0] != everything[0].frames[0][0]
    assert hub.frames == 2


def test_hub_publish_gives_clients_with_patterns_only_their_series() -> None:
    hub = make_hub()
    every = connect(hub, "10.0.0.1")
    only_a = connect(hub, "10.0.0.2", ("a/*",))
    only_c = connect(hub, "10.0.0.3", ("c/*",))
    hub.publish(ingest(hub, ("a/t", "1"), ("b/t", "2")), now=123.0)
    assert readings_of(every) == {"a/t": [100.0, 1.0], "b/t": [100.0, 2.0]}
    assert readings_of(only_a) == {"a/t": [100.0, 1.0]}
    assert len(only_c.frames) == 0


def test_hub_publish_readings_carry_the_server_time_and_a_cursor() -> None:
    hub = make_hub()
    client = connect(hub)
    hub.publish(ingest(hub, ("a/t", "1")), now=123.0)
    hub.publish(ingest(hub, ("a/t", "2")), now=124.0)
    found = [e for e in events(client.take()) if e["event"] == "readings"]
    assert [json.loads(e["data"])["t"] for e in found] == [123.0, 124.0]
    assert [e["id"] for e in found] == [f"{hub.boot_id}-1", f"{hub.boot_id}-2"]


def test_hub_publish_of_an_empty_tick_sends_nothing() -> None:
    hub = make_hub()
    client = connect(hub)
    hub.publish(Tick(), now=1.0)
    assert len(client.frames) == 0
    assert hub.frames == 0


def test_hub_publish_sends_a_status_when_a_source_changes_state() -> None:
    state: list[State] = ["connecting"]
    hub = Hub(
        Pipeline(Config()),
        ServerConfig(),
        LimitsConfig(),
        statuses=lambda: [SourceStatus("home", "mqtt", state[0], 1.0)],
    )
    client = connect(hub)
    hub.publish(Tick(), now=1.0)
    hub.publish(Tick(), now=2.0)
    state[0] = "connected"
    hub.publish(Tick(), now=3.0)
    found = [json.loads(e["data"]) for e in events(client.take())]
    assert [s["sources"][0]["state"] for s in found] == ["connecting", "connected"]


def test_hub_client_with_a_full_backlog_gets_one_merged_catch_up_frame() -> None:
    hub = make_hub(client_backlog=2)
    client = connect(hub)
    other = connect(hub, patterns=("b/*",))
    for value in ("1", "5", "-3", "4"):
        hub.publish(ingest(hub, ("a/t", value)), now=float(value))
    assert client.coalesced == 3
    found = events(client.take())
    assert [e["event"] for e in found] == ["catalog", "readings"]
    assert json.loads(found[0]["data"])["full"] is True
    readings = json.loads(found[1]["data"])
    assert readings == {"t": 4.0, "series": {"a/t": [100.0, 4.0, -3.0, 5.0]}}
    assert found[1]["id"] == f"{hub.boot_id}-4"
    assert client.sent == 1
    # Caught up: it goes on frame by frame, and a client with nothing pending never lags.
    hub.publish(ingest(hub, ("a/t", "9")), now=5.0)
    assert readings_of(client) == {"a/t": [100.0, 9.0]}
    assert other.coalesced == 0 and other.take() == b""
    hub.disconnect(client)
    assert hub.coalesced == 3


def test_hub_catch_up_after_the_replay_forgot_the_frames_is_a_reset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(hub_module, "REPLAY_POINTS", 2)
    hub = make_hub(client_backlog=2)
    client = connect(hub)
    for value in ("1", "2", "3", "4"):
        hub.publish(ingest(hub, ("a/t", value)), now=float(value))
    assert [e["event"] for e in events(client.take())] == ["catalog", "reset"]
    assert hub.resets["expired"] == 1


def test_merge_points_keeps_the_last_value_and_the_extremes_of_all() -> None:
    assert merge_points([[1.0, 5.0]]) == [1.0, 5.0]
    assert merge_points([[1.0, 5.0, 2.0, 9.0], [2.0, 3.0]]) == [2.0, 3.0, 2.0, 9.0]


def test_hub_close_sends_a_final_status_and_closes_every_client() -> None:
    hub = make_hub()
    clients = [connect(hub, "10.0.0.1"), connect(hub, "10.0.0.2")]
    hub.close()
    for client in clients:
        assert client.closed
        assert client.reason == "shutdown"
        assert events(client.take()) == [{"event": "status", "data": '{"server":"shutdown"}'}]
    assert hub.connect("10.0.0.3", None) == "shutdown"


def test_hub_close_gives_a_client_that_fell_behind_its_catch_up_then_the_final_status() -> None:
    hub = make_hub(client_backlog=2)
    client = connect(hub)
    for i in range(4):  # the backlog overflows: the client is behind
        hub.publish(ingest(hub, ("a/t", str(i))))
    assert client.behind_from is not None
    hub.close()
    found = events(client.take())
    assert [e["event"] for e in found] == ["catalog", "readings", "status"]
    assert found[-1]["data"] == '{"server":"shutdown"}'
    assert client.reason == "shutdown"


def test_hub_opening_starts_with_retry_then_hello_and_the_catalog() -> None:
    hub = make_hub()
    ingest(hub, ("a/t", "21.5 °C"), ("b/t", "2"))
    client = connect(hub, patterns=("a/*",))
    opening = hub.opening(client, None)
    assert re.match(rb"retry: \d+\n\n", opening)
    retry = int(opening.split(b"\n", 1)[0].removeprefix(b"retry: "))
    assert 3000 <= retry < 4500
    found = events(opening.split(b"\n\n", 1)[1])
    assert [e["event"] for e in found] == ["hello", "catalog"]
    hello = json.loads(found[0]["data"])
    assert hello["boot"] == hub.boot_id
    assert hello["tick"] == 100
    catalog = json.loads(found[1]["data"])
    assert catalog["full"] is True
    assert [(s["id"], s["unit"], s["last_value"]) for s in catalog["series"]] == [
        ("a/t", "°C", 21.5)
    ]
    # The reading is stamped 100.0 (1970): its age is the time since then.
    assert catalog["series"][0]["age"] == pytest.approx(time.time() - 100.0, abs=5)


def opening_events(hub: Hub, client: Client, cursor: str | None) -> list[dict[str, str]]:
    return events(hub.opening(client, cursor).split(b"\n\n", 1)[1])


def published(hub: Hub, count: int, start: float = 1000.0) -> None:
    """`count` ticks, each with a/t = i and b/t = -i, one second apart."""
    for i in range(count):
        hub.publish(ingest(hub, ("a/t", str(i)), ("b/t", str(-i))), now=start + i)


def test_hub_resume_gives_exactly_the_missed_frames_with_their_cursors() -> None:
    hub = make_hub()
    published(hub, 5)
    client = connect(hub, patterns=("a/*",))
    found = opening_events(hub, client, f"{hub.boot_id}-2")
    assert [e["event"] for e in found] == ["hello", "catalog", "readings", "readings", "readings"]
    assert [e["id"] for e in found[2:]] == [f"{hub.boot_id}-{n}" for n in (3, 4, 5)]
    assert [json.loads(e["data"])["series"] for e in found[2:]] == [
        {"a/t": [100.0, float(i)]} for i in (2, 3, 4)
    ]
    assert hub.resumed == 1


def test_hub_resume_at_the_newest_cursor_sends_nothing_more() -> None:
    hub = make_hub()
    published(hub, 3)
    found = opening_events(hub, connect(hub), f"{hub.boot_id}-3")
    assert [e["event"] for e in found] == ["hello", "catalog"]


def test_hub_resume_skips_frames_with_none_of_the_clients_series() -> None:
    hub = make_hub()
    published(hub, 2)
    hub.publish(ingest(hub, ("c/t", "7")), now=1002.0)
    found = opening_events(hub, connect(hub, patterns=("c/*",)), f"{hub.boot_id}-0")
    assert [e.get("id") for e in found[2:]] == [f"{hub.boot_id}-3"]


def test_hub_resume_from_an_earlier_run_before_the_window_or_garbage_is_a_reset() -> None:
    hub = make_hub()
    published(hub, 3)
    other_boot = "0" + hub.boot_id[1:] if hub.boot_id[0] != "0" else "1" + hub.boot_id[1:]
    cases = {
        f"{other_boot}-2": "restarted",
        f"{hub.boot_id}-9": "unknown",
        "garbage": "malformed",
        f"{hub.boot_id}-": "malformed",
        f"{hub.boot_id}--1": "malformed",
        f"{hub.boot_id}-{'9' * 40}": "malformed",
        "": "malformed",
        f"{hub.boot_id}-\u00b2": "malformed",  # a digit to str.isdigit, not to int()
    }
    for cursor, reason in cases.items():
        found = opening_events(hub, connect(hub), cursor)
        assert [e["event"] for e in found] == ["hello", "catalog", "reset"], cursor
        assert json.loads(found[2]["data"]) == {"reason": reason}, cursor
    assert hub.resets["malformed"] == 6


def test_hub_replay_forgets_frames_older_than_the_window() -> None:
    hub = Hub(Pipeline(Config()), ServerConfig(replay=10.0), LimitsConfig())
    published(hub, 30)  # at 1000..1029: the window keeps 1019..1029
    assert [e["event"] for e in opening_events(hub, connect(hub), f"{hub.boot_id}-10")][2:] == [
        "reset"
    ]
    found = opening_events(hub, connect(hub), f"{hub.boot_id}-19")
    assert [e["id"] for e in found[2:]] == [f"{hub.boot_id}-{n}" for n in range(20, 31)]


def test_hub_replay_is_bounded_in_points(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(hub_module, "REPLAY_POINTS", 6)
    hub = make_hub()
    published(hub, 10)  # two points a frame: three frames kept
    assert hub._replay_points == 6
    assert [f.seq for f in hub._replay] == [8, 9, 10]
    reset = opening_events(hub, connect(hub), f"{hub.boot_id}-6")
    assert json.loads(reset[2]["data"]) == {"reason": "expired"}
    assert len(opening_events(hub, connect(hub), f"{hub.boot_id}-7")) == 5


async def _run_hub(hub: Hub, body: Any) -> None:
    """Run the hub's loop while `body` (a coroutine function) runs, then stop it."""
    task = asyncio.create_task(hub.run())
    try:
        await body()
    finally:
        hub.close()
        await asyncio.wait_for(task, 5)


def test_hub_publishes_at_once_when_readings_arrive_after_a_quiet_spell() -> None:
    """With a tick of 10 s, a reading still goes out within moments: nothing waits for
    a tick that a quiet hub does not take."""
    hub = Hub(Pipeline(Config()), ServerConfig(tick=10.0), LimitsConfig())
    client = connect(hub)

    async def body() -> None:
        await asyncio.sleep(0.2)
        hub.pipeline.ingest([RawMessage(ROUTE, "a/t", b"1", time.time())])
        hub.nudge()
        started = time.monotonic()
        while not any(seq for _, seq in client.frames):
            assert time.monotonic() - started < 2.0, "no frame"
            await asyncio.sleep(0.01)

    asyncio.run(_run_hub(hub, body))


def test_hub_takes_no_tick_while_nothing_arrives() -> None:
    """Idle, the hub wakes every two seconds (readers' states, stale series), not once a
    tick."""
    hub = Hub(Pipeline(Config()), ServerConfig(tick=0.02), LimitsConfig())
    taken = 0
    take = hub.pipeline.take_tick

    def counted(now: float | None = None) -> Tick:
        nonlocal taken
        taken += 1
        return take(now)

    hub.pipeline.take_tick = counted  # type: ignore[method-assign]
    asyncio.run(_run_hub(hub, lambda: asyncio.sleep(2.5)))
    assert 1 <= taken <= 3  # 2.5 s: one or two, not a hundred


def test_hub_publishes_at_most_one_frame_a_tick_while_readings_keep_coming() -> None:
    hub = Hub(Pipeline(Config()), ServerConfig(tick=0.2), LimitsConfig())
    connect(hub)

    async def body() -> None:
        for i in range(200):  # 1 s of a reading every 5 ms
            hub.pipeline.ingest([RawMessage(ROUTE, "a/t", str(i).encode(), time.time())])
            hub.nudge()
            await asyncio.sleep(0.005)

    asyncio.run(_run_hub(hub, body))
    assert 2 <= hub.seq <= 8  # one frame a tick (5 in the second), give or take the edges
