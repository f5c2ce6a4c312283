"""`[history]`: the raw ring and the rollups."""

from __future__ import annotations

import pytest

from telemetry.config import HistoryConfig, parse_config
from telemetry.errors import ConfigError


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, env={})
    return caught.value.problems


def test_default_rollups_are_sized_for_a_pi() -> None:
    assert parse_config("", env={}).history.rollups == HistoryConfig().rollups
    assert HistoryConfig().rollups == (
        (10.0, 3600.0),
        (60.0, 6 * 3600.0),
        (240.0, 86400.0),
        (7200.0, 30 * 86400.0),
    )


def test_rollups_are_read_and_sorted_finest_first() -> None:
    config = parse_config(
        "[history]\n"
        'rollups = [{ bucket = "5m", keep = "30d" }, { bucket = "10s", keep = "24h" }]\n',
        env={},
    )
    assert config.history.rollups == ((10.0, 86400.0), (300.0, 30 * 86400.0))


def test_an_empty_list_turns_rollups_off() -> None:
    assert parse_config("[history]\nrollups = []\n", env={}).history.rollups == ()


@pytest.mark.parametrize(
    ("rollups", "expected"),
    [
        (
            '[{ bucket = "1m" }]',
            "history.rollups[0].keep: is missing; it is required",
        ),
        (
            '[{ bucket = "1h", keep = "10m" }]',
            'history.rollups[0].keep: "10m" is shorter than the bucket',
        ),
        (
            '[{ bucket = "1m", keep = "1h" }, { bucket = "60s", keep = "2h" }]',
            'history.rollups[1].bucket: "60s" is used twice',
        ),
        (
            '[{ bucket = "1m", keep = "1h", every = 3 }]',
            "history.rollups[0].every: unknown key",
        ),
        ('"10s"', 'history.rollups: "10s" is not a list of tables'),
    ],
)
def test_bad_rollups_are_one_line_each(rollups: str, expected: str) -> None:
    found = problems(f"[history]\nrollups = {rollups}\n")
    assert len(found) == 1
    assert found[0].startswith(expected)


def test_more_than_six_rollups_are_refused() -> None:
    tiers = ", ".join(f'{{ bucket = "{n}s", keep = "1d" }}' for n in range(1, 8))
    assert problems(f"[history]\nrollups = [{tiers}]\n") == [
        "history.rollups: 7 rollups; expected at most 6"
    ]


def test_history_file_and_commit_interval() -> None:
    assert (HistoryConfig().file, HistoryConfig().commit_interval) == (None, 60.0)
    config = parse_config(
        '[history]\nfile = "/var/lib/telemetry/history.db"\ncommit_interval = "5s"\n', env={}
    )
    assert config.history.file == "/var/lib/telemetry/history.db"
    assert config.history.commit_interval == 5.0


@pytest.mark.parametrize("interval", ['"0.5s"', '"2h"', "60"])
def test_a_bad_commit_interval_is_one_problem(interval: str) -> None:
    found = problems(f"[history]\ncommit_interval = {interval}\n")
    assert len(found) == 1
    assert found[0].startswith("history.commit_interval:")
