"""The soak run, short: half a minute of churn and live load against the real server.

A real run (a private mosquitto, `python -m telemetry serve`, a publisher, the
churn's clients), checked for what it did, not how fast: samples were taken,
streams came and went (half by reset), a client that stopped reading was cut
by the server, the server's own counters agree with the clients', and open
files and asyncio tasks came back to where they were.  The RSS slope is not
judged over so short a window; the hour's run (`python -m bench.soak`) does.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.soak_report import RETURN_SLACK
from tests.harness.parts import find_program

HINT = "sudo apt-get install mosquitto mosquitto-clients"
ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.broker
def test_soak_short_run_churns_and_returns_to_baseline(tmp_path: Path) -> None:
    find_program("mosquitto", "/usr/sbin", hint=HINT)
    find_program("mosquitto_sub", hint=HINT)  # the bench's private broker asks for it
    results = tmp_path / "soak.json"

    # 200 sensors (the design's second load point) rather than 20: a client that
    # stops reading is cut once its buffers fill, which at 20 readings a second
    # takes longer than this whole run.
    done = subprocess.run(
        [
            *[sys.executable, "-m", "bench.soak", "--minutes", "0.5", "--sample", "5s"],
            *["--sensors", "200", "--json", str(results)],
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )

    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    saved = json.loads(results.read_text())
    assert saved["ok"] is True
    assert all(check["ok"] for check in saved["accounting"]), saved["accounting"]

    phases = [sample["phase"] for sample in saved["samples"]]
    assert phases[0] == "warmup"
    assert phases.count("quiet") == 2
    assert phases.count("load") >= 2
    assert phases[-1] == "quiet"
    for sample in saved["samples"]:
        assert sample["rss_mb"] > 10
        assert sample["fds"] > 0
        assert sample["threads"] >= 1
        assert sample["tasks"] >= 1
    quiet = [s for s in saved["samples"] if s["phase"] == "quiet"]
    assert all(s["streams"] == 0 for s in quiet)
    assert any(s["streams"] > 0 for s in saved["samples"] if s["phase"] == "load")

    clients = saved["counts"]["clients"]
    server = saved["counts"]["server"]
    assert clients["connected"] > 10
    assert clients["clean"] > 0
    assert clients["reset"] > 0
    assert abs(clients["clean"] - clients["reset"]) <= 1
    assert clients["refused"] == clients["failed"] == clients["ended_early"] == 0
    assert clients["with_patterns"] > 0
    assert clients["resumed"] == server["streams"]["resumed"] > 0
    assert clients["cut"] == server["streams"]["cut"] >= 1
    assert clients["not_cut"] == 0
    assert server["streams"]["clients"] == 0
    published = saved["counts"]["published"]
    assert published > 0
    assert server["inbox"]["received"] >= published
    assert server["inbox"]["dropped"] == 0
    assert set(clients["api"]) == {
        "/api/series 200",
        "/api/history 200",
        "/healthz 200",
        "/metrics 200",
    }

    verdicts = {row["metric"]: row for row in saved["verdicts"]}
    assert set(verdicts) == {"rss_mb", "fds", "tasks", "threads"}
    for metric in ("fds", "tasks", "threads"):
        row = verdicts[metric]
        assert row["ok"], row
        assert row["quiet_end"] <= row["quiet_start"] + RETURN_SLACK
    # Under load each open stream holds a socket and two tasks, so the samples
    # taken then are above the quiet ones: the gauges do see the clients.
    assert verdicts["tasks"]["load_max"] > verdicts["tasks"]["quiet_start"]
    assert verdicts["fds"]["load_max"] > verdicts["fds"]["quiet_start"]
    assert verdicts["rss_mb"]["verdict"] == "not judged (short)"

    table = [line for line in done.stdout.splitlines() if line.startswith("| ")]
    assert len(table) == 1 + len(verdicts)  # the header and a row per metric
