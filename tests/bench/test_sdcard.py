"""`bench.sdcard`'s accounting: what a run of commits comes to in a day.

The benchmark itself runs for minutes (`python -m bench --only sdcard`); here
its arithmetic is checked on a made-up run whose answer is known.
"""

from __future__ import annotations

import pytest

from bench import sdcard
from telemetry.history.rollup import BUCKET_BYTES


def row(written: int, log: int, compacted: bool = False) -> dict[str, object]:
    return {
        "write_bytes": written,
        "wchar": written,
        "device": written + 1000,
        "loop_s": 0.001,
        "step_s": 0.001,
        "commit_s": 0.01,
        "compacted": compacted,
        "log_bytes": log,
        "snapshot_bytes": 1_000_000,
    }


def test_a_day_of_commits_with_a_new_snapshot_adds_up() -> None:
    # 4 commits: a new snapshot (1 MB), then three of 10 kB, the log growing 10 kB each.
    rows = [row(1_000_000, 24, compacted=True)] + [row(10_000, 24 + 10_000 * i) for i in (1, 2, 3)]
    result = {"rows": rows, "new_points": 100, "new_buckets": 10, "files": {}}
    got = sdcard.summary(result, commits=4)
    assert got["mb_a_day"] == pytest.approx(1_030_000 * 1440 / 4 / 1e6)
    # The mean commit every minute, and a new snapshot each time the log grows by
    # twice the snapshot: 1440 * 10 kB / 2 MB = 7.2 a day, of 1 MB each.
    assert got["snapshots_a_day"] == pytest.approx(7.2)
    assert got["amortised_mb_a_day"] == pytest.approx((1440 * 10_000 + 7.2 * 1_000_000) / 1e6)
    assert got["device_mb_a_day"] == pytest.approx(1_034_000 * 1440 / 4 / 1e6)
    assert got["amplification"] == pytest.approx(1_030_000 / (100 * 16 + 10 * BUCKET_BYTES))
    assert got["compactions"] == 1
    assert got["commit_kb"] == 10.0
