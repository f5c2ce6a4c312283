"""`[[alert]]`: rules with one condition each, checked like the rest of the file."""

from __future__ import annotations

from telemetry.config import AlertRule, parse_config
from telemetry.summary import summarize
from tests.core.test_config import problems

FREEZER = """
[[alert]]
name = "freezer-warm"
match = "freezer/temperature"
above = -15
clear = -17
for = "10m"
"""


def test_alert_reads_the_freezer_rule() -> None:
    (rule,) = parse_config(FREEZER).alerts
    assert rule == AlertRule(
        name="freezer-warm",
        match=("freezer/temperature",),
        condition="above",
        threshold=-15.0,
        clear=-17.0,
        hold=600.0,
    )


def test_alert_clear_defaults_to_the_threshold_and_match_takes_a_list() -> None:
    text = '[[alert]]\nname = "cold"\nmatch = ["greenhouse/*", "porch/temp"]\nbelow = 5\n'
    (rule,) = parse_config(text).alerts
    assert rule.match == ("greenhouse/*", "porch/temp")
    assert (rule.condition, rule.threshold, rule.clear, rule.hold) == ("below", 5.0, 5.0, 0.0)


def test_alert_reads_every_condition() -> None:
    text = """
[[alert]]
name = "fridge"
match = "fridge/temperature"
outside = [2, 8]
[[alert]]
name = "silent"
match = "*/temperature"
stale = "15m"
repeat = "1h"
notify = ["phone", "page"]
[[alert]]
name = "broker"
reader = "home*"
for = "1m"
[[alert]]
name = "washer"
match = "washer/running"
state = "off"
[[notify]]
name = "phone"
type = "ntfy"
url = "https://ntfy.sh/my-alerts"
[[notify]]
name = "page"
type = "webhook"
url = "http://127.0.0.1:9/hook"
"""
    fridge, silent, broker, washer = parse_config(text).alerts
    assert (fridge.condition, fridge.low, fridge.high) == ("outside", 2.0, 8.0)
    assert (silent.condition, silent.stale, silent.repeat) == ("stale", 900.0, 3600.0)
    assert silent.notify == ("phone", "page")
    assert (broker.condition, broker.match, broker.hold) == ("reader", ("home*",), 60.0)
    assert (washer.condition, washer.state) == ("state", 0.0)


def test_alert_needs_exactly_one_condition() -> None:
    text = """
[[alert]]
name = "none"
match = "a/b"
[[alert]]
name = "two"
match = "a/b"
above = 3
below = 1
"""
    assert problems(text) == [
        "alert[0]: has no condition; expected exactly one of above, below, outside, stale, "
        "reader, state",
        "alert[1].below: is a second condition beside above; expected exactly one of above, "
        "below, outside, stale, reader, state",
    ]


def test_alert_bad_values_name_key_value_and_what_was_expected() -> None:
    text = """
[[alert]]
name = "freezer warm"
match = "freezer/temperature"
above = "-15"
for = "ten minutes"
[[alert]]
name = "hyst"
match = "a/b"
above = -15
clear = -10
[[alert]]
name = "band"
match = ["a/b", ""]
outside = [8, 2]
repeat = "1s"
notify = ["ok", 3, "no spaces"]
[[alert]]
name = "plug"
match = "plug/power"
stale = "5m"
clear = 3
state = "open"
"""
    assert problems(text) == [
        'alert[0].name: "freezer warm" is not a name of letters, digits, _.-',
        'alert[0].above: "-15" is not a number',
        'alert[0].for: "ten minutes" is not a duration such as "250ms", "10s", "10m", '
        '"1h30m" or "30d"',
        "alert[1].clear: -10 is above the threshold -15; expected a level at or below above, "
        "the value an alert resolves at",
        'alert[2].match[1]: "" is not a glob on series ids of 1 to 256 characters; '
        'expected like "kitchen/*"',
        "alert[2].outside: [8, 2] is not two numbers [low, high] with low below high; "
        "expected like [2, 8]",
        'alert[2].repeat: "1s" is out of range; expected from 10s to 366d',
        "alert[2].notify[1]: 3 is not a string",
        'alert[2].notify[1]: "no spaces" is not a sink name',
        "alert[3].state: is a second condition beside stale; expected exactly one of above, "
        "below, outside, stale, reader, state",
        "alert[3].clear: does not apply to stale; expected it with above or below",
        'alert[2].notify[0]: "ok" is not a [[notify]] sink; expected one of: none',
    ]


def test_alert_names_are_required_and_unique() -> None:
    text = """
[[alert]]
match = "a/b"
above = 1
[[alert]]
name = "hot"
match = "a/b"
above = 1
[[alert]]
name = "hot"
match = "c/d"
above = 2
"""
    assert problems(text) == [
        "alert[0].name: is missing; it is required",
        'alert[2].name: "hot" is used twice; names must differ',
    ]


def test_alert_match_is_a_glob_or_a_list_of_globs() -> None:
    text = (
        '[[alert]]\nname = "a"\nmatch = 3\nabove = 1\n'
        '[[alert]]\nname = "b"\nmatch = []\nabove = 1\n'
    )
    assert problems(text) == [
        "alert[0].match: 3 is not a glob or a list of globs on series ids",
        "alert[1].match: is an empty list; expected a glob on series ids",
    ]


def test_alert_reader_rule_names_readers_not_series() -> None:
    text = '[[alert]]\nname = "r"\nreader = "home"\nmatch = "a/*"\n'
    assert problems(text) == [
        "alert[0].match: is not used by a reader rule; expected reader alone to name the readers"
    ]


def test_alert_match_is_required_and_unknown_keys_are_named() -> None:
    text = '[[alert]]\nname = "r"\nabove = 3\nrepaet = "1h"\n'
    assert problems(text) == [
        "alert[0].match: is missing; it is required",
        "alert[0].repaet: unknown key; did you mean 'repeat'?",
    ]


def test_alert_check_config_lists_the_rules() -> None:
    text = (
        FREEZER
        + '[[alert]]\nname = "broker"\nreader = "home"\nfor = "1m"\n'
        + '[[alert]]\nname = "quiet"\nmatch = "*/temp"\nstale = "15m"\nnotify = ["phone"]\n'
        + '[[notify]]\nname = "phone"\ntype = "ntfy"\nurl = "https://ntfy.sh/x?auth=s3cret"\n'
        + 'token = "tk_secret"\npriority = "high"\n'
    )
    summary = summarize(parse_config(text), "x.toml").splitlines()
    assert "alert freezer-warm: freezer/temperature above -15 (clears at -17) for 10m" in summary
    assert "alert broker: reader home not connected for 1m" in summary
    assert "alert quiet: */temp no reading for 15m, notify phone" in summary
    assert (
        "notify phone: ntfy to https://ntfy.sh/... (with a token), priority high; "
        "queue 100, timeout 10 s" in summary
    )
    assert not [line for line in summary if "s3cret" in line or "tk_secret" in line]
