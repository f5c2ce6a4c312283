"""A power cut in the middle of a commit, for real: a child process saving the
history is killed with SIGKILL inside the commit; the history loads again with at
most that commit lost, and saving goes on."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from telemetry.persist import History
from tests.core.persist_helpers import ROOT, add_commit, loaded, new_store, reference, store_state

K = 3


def killed(folder: Path, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tests.core.persist_child", str(folder), mode, str(K)],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize(
    ("mode", "kept", "warned"),
    [
        ("record", K, True),  # half a record: commit K lost
        ("build", K, False),  # a new snapshot half built: the old one and its log stand
        ("copying", K, False),  # ... copied a series a step, points arriving between
        ("renamed", K + 1, False),  # the new snapshot in place, the log not yet restarted
        ("header", K + 1, False),  # ... the log's header half rewritten
        ("after", K + 1, True),  # half a record over the restarted log's old records
    ],
)
def test_a_kill_inside_a_commit_loses_at_most_that_commit(
    tmp_path: Path, mode: str, kept: int, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    done = killed(tmp_path, mode)
    assert done.returncode == -signal.SIGKILL, done.stderr
    assert done.stdout.split() == [str(i) for i in range(K)], done.stderr
    store = new_store()
    h = History(tmp_path / "h.db")
    with caplog.at_level(logging.WARNING, logger="telemetry.persist"):
        h.load(store)
    assert store_state(store) == reference(kept)
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    if warned:
        assert len(warnings) == 1 and "dropped" in warnings[0], warnings
    else:
        assert warnings == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["h.db", "h.db-log"]  # no leftovers
    for i in range(kept, K + 3):  # what was lost comes again, and more
        add_commit(store, i)
        assert h.save(h.snapshot(store))
    h.close()
    assert store_state(loaded(tmp_path / "h.db")) == reference(K + 3)


def test_a_kill_at_any_moment_of_busy_commits_keeps_every_commit_reported(tmp_path: Path) -> None:
    """No fault injected: commits of 400 points a series in a loop, killed from
    outside at three moments; what loads is the last commit the child reported, or
    the one after it (written, not yet reported)."""
    for delay in (0.15, 0.4, 0.8):
        folder = tmp_path / str(delay)
        folder.mkdir()
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.core.persist_child", str(folder), "none", "1"],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None
        assert child.stdout.readline().strip() == "0"  # started, committing
        time.sleep(delay)
        child.send_signal(signal.SIGKILL)
        out, _ = child.communicate(timeout=30)
        reported = [int(n) for n in ["0", *out.split()]][-1]
        state = store_state(loaded(folder / "h.db"))
        assert state in (
            reference_busy(reported + 1),
            reference_busy(reported + 2),
        ), f"killed after commit {reported}"


def reference_busy(commits: int) -> dict[str, list[object]]:
    """`reference` for the child's `none` mode: commit 0 of 40 points, then 400."""
    store = new_store()
    store.track_changes(whole=False)
    for i in range(commits):
        add_commit(store, i, 40 if i == 0 else 400)
        for series in store.series.values():
            series.take_changes()
    return store_state(store)
