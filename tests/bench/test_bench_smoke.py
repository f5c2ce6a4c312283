"""The benchmark command runs end to end: a tiny ingest through the real broker.

Only that it works and that its accounting holds (every consumer got exactly
the messages published, every figure has a ratio): timings are the
benchmark's business, never the test suite's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import month
from bench.table import rate
from tests.harness.parts import find_program

MESSAGES = 300
HINT = "sudo apt-get install mosquitto mosquitto-clients"


@pytest.mark.broker
def test_bench_ingest_delivers_every_message_to_every_consumer(tmp_path: Path) -> None:
    find_program("mosquitto", "/usr/sbin", hint=HINT)
    find_program("mosquitto_sub", hint=HINT)
    results = tmp_path / "results.json"

    done = subprocess.run(
        [
            *[sys.executable, "-m", "bench", "--only", "ingest", "--repeat", "1"],
            *["--messages", str(MESSAGES), "--markdown", "--json", str(results)],
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 0, done.stderr
    saved = json.loads(results.read_text())
    runs = saved["details"]["ingest"]
    assert {(run["kind"], run["consumer"]) for run in runs} == {
        (kind, consumer)
        for kind in ("number", "tasmota")
        for consumer in ("project", "paho", "mosquitto_sub")
    }
    for run in runs:
        assert run["messages"] == MESSAGES, run
    project = [run for run in runs if run["consumer"] == "project"]
    for run in project:
        assert run["received"] == MESSAGES
        assert run["dropped"] == 0
    number = next(run for run in project if run["kind"] == "number")
    assert number["readings"] == MESSAGES

    rows = saved["rows"]
    assert len(rows) == 4  # two kinds of message, each against two baselines
    for row in rows:
        assert row["ratio"]["median"] > 0
        assert row["ratio"]["median"] == pytest.approx(
            row["project"]["median"] / row["baseline"]["median"]
        )
    markdown = [line for line in done.stdout.splitlines() if line.startswith("| ingest")]
    assert len(markdown) == len(rows)
    boards = saved["boards"]
    assert set(boards) == {"Pi 4", "Zero 2 W"}
    assert 1 < boards["Pi 4"] < boards["Zero 2 W"]  # both slower than any build machine
    for line, row in zip(markdown, rows, strict=True):
        cells = [cell.strip() for cell in line.strip(" |").split("|")]
        _figure, project_cell, _baseline, ratio, pi4, zero = cells
        assert project_cell.startswith(rate(row["project"]["median"]))
        assert ratio.endswith(")") and "×" in ratio
        # The Pi columns are the project's median over each board's factor.
        assert pi4 == rate(row["project"]["median"] / boards["Pi 4"])
        assert zero == rate(row["project"]["median"] / boards["Zero 2 W"])


def test_bench_normalize_has_a_row_per_corpus_family(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    done = subprocess.run(
        [
            *[sys.executable, "-m", "bench", "--only", "normalize", "--quick", "--repeat", "1"],
            *["--json", str(results)],
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    families = {path.stem for path in (Path(__file__).parents[1] / "corpus").glob("*.json")}
    rows = json.loads(results.read_text())["rows"]
    assert {row["figure"] for row in rows} == families
    assert all(row["ratio"]["median"] > 0 for row in rows)


def test_bench_month_fills_a_real_server_saves_it_and_restarts_it(tmp_path: Path) -> None:
    """Three series with every point at 1 Hz over three hours: the filled server holds
    and answers them; its file, served by `telemetry serve`, gives them back."""
    got = month.filled(tmp_path, 3, 0.125, persist=True)
    assert got["series"] == 3 and got["file_mb"] > 0
    assert got["sources"] == {"1 h": "10s", "6 h": "1m", "24 h": "1m", "720 h": "4m"}
    assert got["VmRSS"] > month.imports_status()["VmRSS"] * 0.9 > 10
    restored = month.cold_start(tmp_path, 3, tmp_path / "history-3-0.125.db")
    assert restored["listen_s"] > 0 and restored["cpu_s"] > 0
    assert restored["sources"] == got["sources"]
    empty = month.cold_start(tmp_path, 3, None)
    assert "sources" not in empty and empty["listen_s"] > 0
