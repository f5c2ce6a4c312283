"""One broker's routing table: which subscription's route a topic gets."""

from __future__ import annotations

import paho.mqtt.client as mqtt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry import remember
from telemetry.config import Subscription
from telemetry.model import Route
from telemetry.remember import REMEMBERED_KEY_LENGTH
from telemetry.routing import RoutingTable
from telemetry.topics import check_filter

TASMOTA = Subscription(topic="tele/+/SENSOR", template="tele/{device}/SENSOR", format="tasmota")
EVERYTHING = Subscription(topic="tele/#", format="auto")
NUMBERS = Subscription(topic="tele/+/temp", format="number", device="x")


def test_routing_table_gives_the_first_matching_subscription_in_config_order() -> None:
    table = RoutingTable("home", [TASMOTA, NUMBERS, EVERYTHING])

    assert table.route("tele/kitchen/SENSOR") == Route(
        "home", "mqtt", "tasmota", "tele/{device}/SENSOR"
    )
    assert table.route("tele/kitchen/temp") == Route("home", "mqtt", "number", device="x")
    assert table.route("tele/kitchen/STATE") == Route("home", "mqtt", "auto")
    # A broad filter first takes everything it matches.
    assert RoutingTable("home", [EVERYTHING, TASMOTA]).route("tele/kitchen/SENSOR") == Route(
        "home", "mqtt", "auto"
    )


def test_routing_table_gives_no_route_to_a_topic_no_subscription_receives() -> None:
    table = RoutingTable("home", [TASMOTA, EVERYTHING])
    assert table.route("stat/kitchen/SENSOR") is None
    assert table.learn(b"stat/kitchen/SENSOR") == ("stat/kitchen/SENSOR", None)
    assert table.known(b"stat/kitchen/SENSOR") is None  # worked out each time
    assert len(table) == 0


def test_routing_table_learns_a_topic_once_and_then_knows_it() -> None:
    table = RoutingTable("home", [TASMOTA, EVERYTHING])
    assert table.known(b"tele/k/SENSOR") is None

    learned = table.learn(b"tele/k/SENSOR")

    assert learned == ("tele/k/SENSOR", table.route("tele/k/SENSOR"))
    assert table.known(b"tele/k/SENSOR") is learned
    assert len(table) == 1


def test_routing_table_refuses_a_topic_that_is_not_utf8() -> None:
    table = RoutingTable("home", [EVERYTHING])
    with pytest.raises(UnicodeDecodeError):
        table.learn(b"tele/\xff/SENSOR")
    assert len(table) == 0


def test_routing_table_reads_long_topics_each_time_without_remembering_them() -> None:
    table = RoutingTable("home", [EVERYTHING])
    longest = b"tele/" + b"x" * (REMEMBERED_KEY_LENGTH - 5)
    too_long = longest + b"x"

    assert table.learn(too_long)[1] == Route("home", "mqtt")
    table.learn(longest)

    assert table.known(too_long) is None
    assert table.known(longest) is not None


def test_routing_table_forgets_everything_when_full_and_learns_anew(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(remember, "REMEMBERED", 3)
    table = RoutingTable("home", [EVERYTHING])
    for i in range(3):
        table.learn(f"tele/{i}".encode())
    assert len(table) == 3

    table.learn(b"tele/3")

    assert len(table) == 1
    assert table.known(b"tele/0") is None
    assert table.known(b"tele/3") is not None  # `known` still looks in the same dict


def test_routing_table_shared_subscription_receives_what_its_filter_matches() -> None:
    table = RoutingTable("home", [Subscription(topic="$share/pis/tele/+/SENSOR")])
    assert table.route("tele/kitchen/SENSOR") == Route("home", "mqtt")
    assert table.route("$share/pis/tele/kitchen/SENSOR") is None
    assert table.route("tele/kitchen/STATE") is None


# Small alphabets, so that filters and topics often meet; `$` where it matters.
_FILTER_LEVEL = st.sampled_from(["a", "b", "$a", "", "+", "SENSOR"])
_TOPIC_LEVEL = st.sampled_from(["a", "b", "$a", "$SYS", "", "SENSOR", "ü"])


@st.composite
def _filters(draw: st.DrawFn) -> str:
    levels = draw(st.lists(_FILTER_LEVEL, min_size=1, max_size=4))
    if draw(st.booleans()):
        levels.append("#")
    return "/".join(levels)


_TOPICS = st.lists(_TOPIC_LEVEL, min_size=1, max_size=5).map("/".join)


@given(
    st.lists(
        _filters().filter(lambda f: check_filter(f) is None), min_size=1, max_size=5, unique=True
    ),
    _TOPICS,
)
def test_routing_table_agrees_with_paho_on_every_topic_and_filter(
    filters: list[str], topic: str
) -> None:
    subscriptions = [Subscription(topic=f, device=f"d{i}") for i, f in enumerate(filters)]
    table = RoutingTable("home", subscriptions)
    expected = next(
        (s.route("home") for s in subscriptions if mqtt.topic_matches_sub(s.topic, topic)), None
    )

    assert table.route(topic) == expected
    assert table.learn(topic.encode()) == (topic, expected)
    # A shared subscription receives what its filter does.
    shared = [Subscription(topic=f"$share/g/{s.topic}", device=s.device) for s in subscriptions]
    got = RoutingTable("home", shared).route(topic)
    assert (got and got.device) == (expected and expected.device)
