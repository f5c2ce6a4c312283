"""`[[series]]` display keys (`name`, `hide`, `chart`) and `drop`: read, checked, applied."""

from __future__ import annotations

import asyncio
from pathlib import Path

from telemetry import frames
from telemetry.config import Config, HistoryConfig, SeriesRule, parse_config
from telemetry.model import RawMessage, Route
from telemetry.pipeline import Pipeline
from telemetry.runtime import Runtime
from telemetry.summary import summarize
from tests.core.test_config import problems

ROUTE = Route("home", "mqtt", "number", template="{device}/{sensor...}")


def msg(topic: str, payload: str, ts: float = 100.0) -> RawMessage:
    return RawMessage(ROUTE, topic, payload.encode(), ts)


def test_series_rule_reads_name_hide_drop_and_chart() -> None:
    config = parse_config(
        "[[series]]\n"
        'match = "kitchen/temp"\nname = "Kitchen °C"\nhide = true\nchart = "Climate"\n'
        '[[series]]\nmatch = "junk/*"\ndrop = true\n'
    )
    assert config.series == (
        SeriesRule("kitchen/temp", name="Kitchen °C", hide=True, chart="Climate"),
        SeriesRule("junk/*", drop=True),
    )


def test_series_rule_bad_values_name_key_value_and_what_was_expected() -> None:
    text = (
        '[[series]]\nmatch = "a/*"\nname = ""\nhide = "yes"\nchart = 3\n'
        '[[series]]\nmatch = "b/*"\nname = "two\\nlines"\ndrop = 1\n'
    )
    assert problems(text) == [
        'series[0].name: "" is not a name of 1 to 100 characters on one line',
        'series[0].hide: "yes" is not true or false',
        "series[0].chart: 3 is not a name of 1 to 100 characters on one line",
        'series[1].name: "two\\nlines" is not a name of 1 to 100 characters on one line',
        "series[1].drop: 1 is not true or false",
    ]


def test_series_rule_drop_with_keys_it_would_never_apply_is_refused() -> None:
    text = '[[series]]\nmatch = "a/*"\ndrop = true\nname = "A"\nunit = "W"\n'
    assert problems(text) == [
        "series[0].drop: true drops every reading, so unit, name would never apply; "
        "expected drop alone with match",
    ]


def test_check_config_summary_shows_the_display_keys_and_drop() -> None:
    config = Config(
        series=(
            SeriesRule("k/t", name="Kitchen", hide=True, chart="Climate"),
            SeriesRule("junk/*", drop=True),
        )
    )
    text = summarize(config, "c.toml")
    assert "series k/t: name 'Kitchen', hidden until chosen, chart 'Climate'" in text
    assert "series junk/*: dropped: not stored nor streamed" in text


def test_pipeline_gives_the_catalog_the_first_matching_rules_display() -> None:
    rules = (
        SeriesRule("kitchen/temp", name="Kitchen", chart="Climate"),
        SeriesRule("kitchen/*", name="never: an earlier rule matched", hide=True),
        SeriesRule("hall/*", hide=True),
    )
    pipeline = Pipeline(Config(series=rules))
    pipeline.ingest([msg("kitchen/temp", "21"), msg("hall/temp", "19"), msg("cellar/t", "9")])
    shown = {
        sid: {k: v for k, v in frames.series(s.entry).items() if k in ("name", "hide", "chart")}
        for sid, s in pipeline.store.series.items()
    }
    assert shown == {
        "kitchen/temp": {"name": "Kitchen", "hide": False, "chart": "Climate"},
        "hall/temp": {"name": None, "hide": True, "chart": None},
        "cellar/t": {"name": None, "hide": False, "chart": None},
    }
    tick = pipeline.take_tick()
    assert {e.id for e in tick.new_series} == {"kitchen/temp", "hall/temp", "cellar/t"}
    assert set(tick.points) == {"kitchen/temp", "hall/temp", "cellar/t"}  # hidden: streamed


def test_pipeline_drop_rule_stores_and_streams_nothing_and_counts_each_reading() -> None:
    pipeline = Pipeline(Config(series=(SeriesRule("junk/*", drop=True),)))
    pipeline.ingest([msg("junk/a", "1", 100.0), msg("junk/a", "2", 101.0), msg("junk/b", "3")])
    pipeline.ingest([msg("kitchen/temp", "21"), msg("junk/a", "4", 102.0)])
    assert list(pipeline.store.series) == ["kitchen/temp"]
    assert pipeline.rejected == {"dropped": 4}
    assert pipeline.rejected_by_source == {("home", "dropped"): 4}
    assert pipeline.accepted == 1
    tick = pipeline.take_tick()
    assert [e.id for e in tick.new_series] == ["kitchen/temp"]
    assert list(tick.points) == ["kitchen/temp"]


def test_pipeline_drop_rule_counts_past_the_remembered_ids() -> None:
    config = Config(series=(SeriesRule("junk/*", drop=True),))
    config = Config(series=config.series, limits=config.limits.__class__(max_series=2))
    pipeline = Pipeline(config)
    pipeline.ingest([msg(f"junk/s{i}", "1") for i in range(5)] * 2)
    assert pipeline.rejected == {"dropped": 10}
    assert not pipeline.store.series


def _serve_once(config: Config, messages: list[RawMessage]) -> list[str]:
    """Start a runtime on `config`, feed it, stop it (the final save); the series it held."""

    async def run() -> list[str]:
        runtime = Runtime(config)
        await runtime.start()
        try:
            runtime.pipeline.ingest(messages)
            return sorted(runtime.pipeline.store.series)
        finally:
            await runtime.stop()

    return asyncio.run(run())


def test_saved_series_a_drop_rule_matches_are_removed_at_load_for_good(tmp_path: Path) -> None:
    history = HistoryConfig(file=str(tmp_path / "history.db"), commit_interval=3600.0)
    first = [msg("junk/a", "1", 100.0), msg("kitchen/temp", "21", 100.0)]
    assert _serve_once(Config(history=history), first) == ["junk/a", "kitchen/temp"]
    dropping = Config(history=history, series=(SeriesRule("junk/*", drop=True),))
    # At start the saved junk/a goes; a new reading of it is dropped too.
    assert _serve_once(dropping, [msg("junk/a", "2", 101.0)]) == ["kitchen/temp"]
    # Without the rule, nothing brings it back: the log's records of it are superseded.
    assert _serve_once(Config(history=history), []) == ["kitchen/temp"]


def test_saved_series_get_the_display_of_todays_rules(tmp_path: Path) -> None:
    history = HistoryConfig(file=str(tmp_path / "history.db"), commit_interval=3600.0)
    _serve_once(Config(history=history), [msg("kitchen/temp", "21")])

    async def run() -> tuple[str | None, bool, str | None]:
        rules = (SeriesRule("kitchen/*", name="Kitchen", hide=True, chart="Climate"),)
        runtime = Runtime(Config(history=history, series=rules))
        await runtime.start()
        try:
            entry = runtime.pipeline.store.series["kitchen/temp"].entry
            return entry.name, entry.hide, entry.chart
        finally:
            await runtime.stop()

    assert asyncio.run(run()) == ("Kitchen", True, "Climate")
