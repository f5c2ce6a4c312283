"""`kill -9` under load, start again: the history up to the last commit is there."""

from __future__ import annotations

import json
import os
import signal
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

from simulators.serial import PtyDevice
from tests.test_cli import Process


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def _history(url: str, series: str) -> list[float]:
    query = urllib.parse.urlencode({"series": series, "start": time.time() - 600, "points": 10000})
    body = _get(f"{url}api/history?{query}")
    found = body["series"].get(series)
    return [] if found is None else list(found["t"])


def test_history_survives_kill_9(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    config = tmp_path / "config.toml"
    with PtyDevice(tmp_path / "ttySIM") as device:
        config.write_text(
            f'[server]\nport = 0\n\n[[serial]]\nname = "bench"\nport = "{device.link}"\n'
            'format = "number"\n\n'
            f'[history]\nfile = "{db}"\ncommit_interval = "1s"\n'
        )
        first = Process("serve", "--config", str(config))
        try:
            deadline = time.monotonic() + 4.0
            while time.monotonic() < deadline:
                device.write_line("21.5")
                time.sleep(0.05)
            series = [s["id"] for s in _get(first.url + "api/series")["series"]]
            assert series, "no series arrived"
            sid = series[0]
            before = _history(first.url, sid)
            assert len(before) > 20
            os.kill(first.proc.pid, signal.SIGKILL)
            first.proc.wait(5)
        finally:
            first.stop()
        second = Process("serve", "--config", str(config))
        try:
            after = _history(second.url, sid)
        finally:
            second.stop()
    # At most one interval (plus the time to write it) is lost.
    assert len(after) > 0
    assert after == before[: len(after)]
    assert after[-1] >= before[-1] - 2.5
