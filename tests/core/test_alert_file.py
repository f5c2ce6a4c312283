"""With `[history] file`, firing alerts survive a restart and are not noticed again."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pytest

from telemetry.alerts import Alerts, Change
from telemetry.config import Config, HistoryConfig, parse_config
from telemetry.model import RawMessage, Route
from telemetry.runtime import Runtime
from tests.core.test_config_alerts import FREEZER

ROUTE = Route("home", "mqtt", "number", template="{device}/{sensor...}")
T = TypeVar("T")


def config(tmp_path: Path, text: str = FREEZER.replace('"10m"', '"0s"')) -> Config:
    history = HistoryConfig(file=str(tmp_path / "history.db"), commit_interval=3600.0)
    return dataclasses.replace(parse_config(text), history=history)


def reading(value: str) -> RawMessage:
    return RawMessage(ROUTE, "freezer/temperature", value.encode(), time.time())


def serve_once(cfg: Config, then: Callable[[Runtime], T]) -> T:
    """Start a runtime on `cfg`, run `then` on it, stop it (the final save)."""

    async def run() -> T:
        runtime = Runtime(cfg)
        await runtime.start()
        try:
            return then(runtime)
        finally:
            await runtime.stop()

    return asyncio.run(run())


def feed(*values: str) -> Callable[[Runtime], list[Change]]:
    def then(runtime: Runtime) -> list[Change]:
        for value in values:
            runtime.pipeline.ingest([reading(value)])
        return runtime.pipeline.alerts.states()

    return then


def test_firing_alert_comes_back_firing_and_is_not_noticed_again(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    (before,) = serve_once(cfg, feed("-10"))
    assert before.state == "firing"

    def after_restart(runtime: Runtime) -> tuple[list[Change], list[Change], list[Change]]:
        alerts = runtime.pipeline.alerts
        states = alerts.states()
        runtime.pipeline.ingest([reading("-16")])  # still above clear: still firing
        return states, list(alerts.changes), list(alerts.notices)

    states, changes, notices = serve_once(cfg, after_restart)
    (state,) = states
    assert (state.state, state.since, state.value) == ("firing", before.since, -10.0)
    assert changes == notices == []  # no change, nothing to tell anyone
    (resolved,) = serve_once(cfg, feed("-18"))
    assert resolved.state == "resolved"
    assert serve_once(cfg, lambda r: r.pipeline.alerts.firing()) == []  # nothing firing now


def test_alert_file_is_written_only_when_the_firing_set_changes(tmp_path: Path) -> None:
    cfg = config(tmp_path)
    sidecar = tmp_path / "history.db-alerts"
    serve_once(cfg, feed("-20"))
    assert not sidecar.exists()  # nothing ever fired: nothing written

    async def run() -> list[int]:
        runtime = Runtime(cfg)
        await runtime.start()
        try:
            runtime.pipeline.ingest([reading("-10")])
            await runtime.commit()
            first = sidecar.stat().st_ino
            runtime.pipeline.ingest([reading("-11")])  # another value, the same alert
            await runtime.commit()
            return [first, sidecar.stat().st_ino]
        finally:
            await runtime.stop()

    first, second = asyncio.run(run())
    assert first == second  # the same file: not rewritten for an unchanged set


def test_alert_file_unreadable_or_of_a_removed_rule_starts_from_ok(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    cfg = config(tmp_path)
    serve_once(cfg, feed("-10"))
    other = config(tmp_path, '[[alert]]\nname = "other"\nmatch = "freezer/*"\nabove = 0\n')
    assert serve_once(other, lambda r: r.pipeline.alerts.firing()) == []
    (tmp_path / "history.db-alerts").write_bytes(b"\x00 not json")
    with caplog.at_level(logging.WARNING, "telemetry.persist.alertfile"):
        assert serve_once(cfg, lambda r: r.pipeline.alerts.firing()) == []
    assert "cannot be read" in caplog.text


def test_alerts_restore_skips_series_the_rule_no_longer_matches() -> None:
    alerts = Alerts(parse_config(FREEZER).alerts)
    saved = [
        Change("freezer-warm", "fridge/temperature", "", "firing", "firing", 1.0, 5.0),
        Change("freezer-warm", "freezer/temperature", "", "firing", "firing", 2.0, -3.0),
    ]
    assert alerts.restore(saved) == 1
    (state,) = alerts.states()
    assert (state.series, state.state, state.since) == ("freezer/temperature", "firing", 2.0)
