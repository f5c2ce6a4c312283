"""MQTT topic filters and the templates that name a topic's parts."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry.topics import TopicTemplate, check_filter, delivered_filter, filter_matches


def test_topic_template_tasmota_names_the_device_level() -> None:
    template = TopicTemplate("tele/{device}/SENSOR")
    assert template.match("tele/kitchen/SENSOR") == {"device": "kitchen"}


def test_topic_template_zigbee2mqtt_takes_the_device_from_the_last_level() -> None:
    template = TopicTemplate("zigbee2mqtt/{device}")
    assert template.match("zigbee2mqtt/0x00158d0001a2b3c4") == {"device": "0x00158d0001a2b3c4"}


def test_topic_template_sensor_rest_takes_every_remaining_level() -> None:
    template = TopicTemplate("shellies/{device}/{sensor...}")
    assert template.match("shellies/plug-1/relay/0/power") == {
        "device": "plug-1",
        "sensor": "relay/0/power",
    }
    assert template.match("shellies/plug-1/temperature") == {
        "device": "plug-1",
        "sensor": "temperature",
    }


def test_topic_template_ignore_matches_a_level_without_naming_it() -> None:
    template = TopicTemplate("{ignore}/{device}/{sensor}")
    assert template.names == ("device", "sensor")
    assert template.match("site-a/boiler/temp") == {"device": "boiler", "sensor": "temp"}


@pytest.mark.parametrize(
    ("template", "topic"),
    [
        ("tele/{device}/SENSOR", "tele/kitchen/STATE"),
        ("tele/{device}/SENSOR", "tele/kitchen/SENSOR/extra"),
        ("tele/{device}/SENSOR", "tele//SENSOR"),
        ("tele/{device}/SENSOR", "stat/kitchen/SENSOR"),
        ("zigbee2mqtt/{device}", "zigbee2mqtt/bridge/state"),
        ("zigbee2mqtt/{device}", "zigbee2mqtt"),
        ("shellies/{device}/{sensor...}", "shellies/plug-1"),
        ("a.b/{device}", "aXb/dev"),
    ],
)
def test_topic_template_gives_none_for_a_topic_that_does_not_fit(template: str, topic: str) -> None:
    assert TopicTemplate(template).match(topic) is None


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("tele/x{device}/SENSOR", "is not a whole placeholder"),
        ("tele/{device}x", "is not a whole placeholder"),
        ("tele/{Device}", "is not a whole placeholder"),
        ("{sensor...}/{device}", "must be the last level"),
        ("tele/{room}", "unknown placeholder {room}"),
        ("tele/+/SENSOR", "not + or #"),
        ("tele/#", "not + or #"),
        ("{device}/{device}", "appears twice"),
    ],
)
def test_topic_template_refuses_an_invalid_template(template: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("+", r"\+").replace("{", r"\{")):
        TopicTemplate(template)


@pytest.mark.parametrize(
    ("template", "topic_filter"),
    [
        ("tele/{device}/SENSOR", "tele/+/SENSOR"),
        ("zigbee2mqtt/{device}", "zigbee2mqtt/+"),
        ("shellies/{device}/{sensor...}", "shellies/+/#"),
        ("{ignore}/{device}", "+/+"),
        ("plain/topic", "plain/topic"),
    ],
)
def test_topic_template_as_filter_gives_the_subscription(template: str, topic_filter: str) -> None:
    assert TopicTemplate(template).as_filter() == topic_filter


@pytest.mark.parametrize(
    "topic_filter", ["#", "+", "a/b/c", "a/+/c", "a/#", "+/+/#", "/", "$SYS/#", "a b/ü"]
)
def test_check_filter_accepts_a_valid_filter(topic_filter: str) -> None:
    assert check_filter(topic_filter) is None


@pytest.mark.parametrize(
    ("topic_filter", "message"),
    [
        ("", "expected 1 to 65535 bytes"),
        ("x" * 65536, "expected 1 to 65535 bytes"),
        ("a/\x00", "NUL character"),
        ("a/#/b", "'#' must be a whole last level"),
        ("a/b#", "'#' must be a whole last level"),
        ("a+/b", "'+' must be a whole level"),
        ("a/+b", "'+' must be a whole level"),
    ],
)
def test_check_filter_says_why_a_filter_is_invalid(topic_filter: str, message: str) -> None:
    problem = check_filter(topic_filter)
    assert problem is not None
    assert problem.startswith("is not a topic filter; ")
    assert message in problem


@pytest.mark.parametrize(
    ("topic_filter", "topic"),
    [
        ("a/b", "a/b"),
        ("a/+", "a/b"),
        ("a/+", "a/"),
        ("+/b", "a/b"),
        ("#", "a/b/c"),
        ("a/#", "a/b/c"),
        ("a/#", "a"),
        ("+/+/#", "a/b/c/d"),
        ("$SYS/#", "$SYS/broker/uptime"),
        ("$SYS/+/uptime", "$SYS/broker/uptime"),
    ],
)
def test_filter_matches_topics_the_broker_would_deliver(topic_filter: str, topic: str) -> None:
    assert filter_matches(topic_filter, topic)


@pytest.mark.parametrize(
    ("topic_filter", "topic"),
    [
        ("a/b", "a/c"),
        ("a/+", "a/b/c"),
        ("a/+", "a"),
        ("a/b", "a/b/c"),
        ("a/b/c", "a/b"),
        ("b/#", "a/b"),
        ("#", "$SYS/broker/uptime"),
        ("+/broker/uptime", "$SYS/broker/uptime"),
        ("+/#", "$SYS/broker"),
    ],
)
def test_filter_matches_refuses_topics_the_broker_would_not_deliver(
    topic_filter: str, topic: str
) -> None:
    assert not filter_matches(topic_filter, topic)


# Level text a device could publish: no separators, wildcards, braces or leading `$`.
_LEVEL = st.text(
    alphabet=st.characters(
        codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters="/+#{}$\u2028\u2029"
    ),
    min_size=1,
    max_size=8,
)
_PART = st.one_of(
    _LEVEL.map(lambda text: ("literal", text)),
    st.just(("placeholder", "device")),
    st.just(("placeholder", "sensor")),
    st.just(("placeholder", "ignore")),
)


@st.composite
def _filled_templates(draw: st.DrawFn) -> tuple[str, str, dict[str, str]]:
    """A template, a topic made by filling it in, and the parts that went in."""
    parts = draw(st.lists(_PART, min_size=1, max_size=5))
    rest = draw(st.sampled_from([None, "sensor", "ignore"]))
    levels: list[str] = []
    topic: list[str] = []
    names: dict[str, str] = {}
    for kind, text in parts:
        if kind == "literal":
            levels.append(text)
            topic.append(text)
        elif text in names:  # each named placeholder at most once
            continue
        else:
            value = draw(_LEVEL)
            levels.append("{" + text + "}")
            topic.append(value)
            if text != "ignore":
                names[text] = value
    if rest is not None and not (rest == "sensor" and "sensor" in names):
        value = "/".join(draw(st.lists(_LEVEL, min_size=1, max_size=3)))
        levels.append("{" + rest + "...}")
        topic.append(value)
        if rest != "ignore":
            names[rest] = value
    return "/".join(levels), "/".join(topic), names


@given(_filled_templates())
def test_topic_template_matches_every_topic_made_by_filling_it(
    case: tuple[str, str, dict[str, str]],
) -> None:
    text, topic, names = case
    template = TopicTemplate(text)
    assert template.match(topic) == names
    assert filter_matches(template.as_filter(), topic)
    assert check_filter(template.as_filter()) is None


@pytest.mark.parametrize("topic_filter", ["$share/pis/tele/#", "$share/g/+", "$share/g/a/b"])
def test_check_filter_accepts_a_shared_subscription(topic_filter: str) -> None:
    assert check_filter(topic_filter) is None


@pytest.mark.parametrize("topic_filter", ["$share/g", "$share/g/", "$share//a", "$share/+/a"])
def test_check_filter_refuses_a_shared_subscription_without_group_or_filter(
    topic_filter: str,
) -> None:
    assert check_filter(topic_filter) == (
        "is not a shared subscription; expected $share/GROUP/FILTER"
    )


@pytest.mark.parametrize(
    ("topic_filter", "delivered"),
    [
        ("$share/pis/tele/+/SENSOR", "tele/+/SENSOR"),
        ("$share/g/#", "#"),
        ("tele/#", "tele/#"),
        ("$SYS/#", "$SYS/#"),
        ("$shared/g/a", "$shared/g/a"),
    ],
)
def test_delivered_filter_is_the_filter_inside_a_shared_subscription(
    topic_filter: str, delivered: str
) -> None:
    assert delivered_filter(topic_filter) == delivered
