"""The log after a power cut or a bad disk: a torn or corrupt tail is dropped, with
one warning, and what came before it is restored."""

from __future__ import annotations

import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from telemetry.persist import History
from telemetry.persist.log import HEADER
from tests.core.persist_helpers import drive, loaded, new_store, reference, store_state

COMMITS = 4


def saved(tmp_path: Path, commits: int = COMMITS, points: int = 40) -> tuple[Path, int, int]:
    """A history of `commits` commits; the offsets where its last record starts and ends."""
    path = tmp_path / "saved" / "h.db"
    store = new_store()
    h = History(path)
    h.load(store)
    drive(h, store, range(commits - 1), points)
    start = h.log_path.stat().st_size
    drive(h, store, range(commits - 1, commits), points)
    h.close()
    return path, start, h.log_path.stat().st_size


def copy_of(path: Path, into: Path) -> Path:
    into.mkdir(exist_ok=True)
    for part in path.parent.iterdir():
        shutil.copy(part, into / part.name)
    return into / path.name


@dataclass
class Loaded:
    history: History
    state: dict[str, list[object]]
    warnings: list[str]


def load_warnings(path: Path, caplog: pytest.LogCaptureFixture) -> Loaded:
    """Load `path` (and close it); what was restored and the warnings."""
    caplog.clear()
    store = new_store()
    h = History(path)
    with caplog.at_level(logging.WARNING, logger="telemetry.persist"):
        h.load(store)
    h.close()
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    return Loaded(h, store_state(store), warnings)


def test_a_last_record_cut_at_any_byte_loses_that_commit_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, start, end = saved(tmp_path, points=3)
    before, after = reference(COMMITS - 1, 3), reference(COMMITS, 3)
    assert before != after
    work = tmp_path / "work"
    for size in range(start, end + 1):
        copy = copy_of(path, work)
        with copy.with_name("h.db-log").open("r+b") as log:
            log.truncate(size)
        got = load_warnings(copy, caplog)
        if size == end:
            assert got.state == after and got.warnings == []
            continue
        assert got.state == before, size
        if size > start:
            assert len(got.warnings) == 1 and "cut short" in got.warnings[0], (size, got.warnings)
            assert f"{size - start} bytes dropped" in got.warnings[0]
        if size in (start + 1, (start + end) // 2):  # commits go on over the cut record
            more_commits(copy, COMMITS - 1, 3)


def more_commits(path: Path, done: int, points: int) -> None:
    """Load `path` (holding `done` commits), commit two more, load it again."""
    store = new_store()
    h = History(path)
    h.load(store)
    drive(h, store, range(done, done + 2), points)
    h.close()
    assert store_state(loaded(path)) == reference(done + 2, points) == store_state(store)


def test_a_flipped_byte_in_the_last_record_drops_it(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """With a warning, but for a flip in the frame's tag or length: that frame is
    not one of this log's any more, which is how the log's end looks."""
    path, start, end = saved(tmp_path, points=3)
    before = reference(COMMITS - 1, 3)
    work = tmp_path / "work"
    for offset in range(start, end):
        copy = copy_of(path, work)
        with copy.with_name("h.db-log").open("r+b") as log:
            log.seek(offset)
            byte = log.read(1)[0]
            log.seek(offset)
            log.write(bytes([byte ^ 0x10]))
        got = load_warnings(copy, caplog)
        assert got.state == before, offset
        assert len(got.warnings) == (offset >= start + 8), (offset, got.warnings)


@pytest.mark.parametrize(
    ("tail", "warned"),
    [(bytes(4096), True), (b"\xff" * 100, False), (b"\x08\x00\x00\x00garbage!", False)],
)
def test_zeros_or_garbage_after_the_last_record_end_the_log(
    tmp_path: Path, tail: bytes, warned: bool, caplog: pytest.LogCaptureFixture
) -> None:
    """Zeros are a record the disk did not write (warned); other bytes are not
    this log's frames, as the old records after a restarted log's end."""
    path, _, end = saved(tmp_path)
    with path.with_name("h.db-log").open("ab") as log:
        log.write(tail)
    got = load_warnings(path, caplog)
    assert got.state == reference(COMMITS)
    if warned:
        assert len(got.warnings) == 1 and f"zeros at byte {end}: 4096 bytes" in got.warnings[0]
    else:
        assert got.warnings == []
    assert got.history.dropped_bytes == (len(tail) if warned else 0)
    more_commits(path, COMMITS, 40)  # written over the tail


def test_a_restarted_log_ends_where_its_new_records_end(tmp_path: Path) -> None:
    """After a new snapshot the log is written again from its start, over its old
    records (no file-system metadata to change); a load stops after the new ones."""
    path = tmp_path / "h.db"
    store = new_store()
    h = History(path)
    h.load(store)
    drive(h, store, range(6))
    size = h.log_path.stat().st_size
    h._whole_next = True
    drive(h, store, range(6, 8))  # a new snapshot, then one record at the log's start
    h.close()
    assert h.log_path.stat().st_size == size  # the old records are still there
    assert h.log_bytes < size / 3
    assert store_state(loaded(path)) == reference(8)
    more_commits(path, 8, 40)


def test_a_bad_record_in_the_middle_drops_it_and_all_after(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path, _, _ = saved(tmp_path)
    log = path.with_name("h.db-log")
    data = bytearray(log.read_bytes())
    data[HEADER.size + 30] ^= 0xFF  # inside the first record
    log.write_bytes(bytes(data))
    got = load_warnings(path, caplog)
    assert got.state == store_state(new_store())
    assert len(got.warnings) == 1 and "checksum" in got.warnings[0]


@pytest.mark.parametrize(
    ("header", "why"),
    [
        (b"not a log at all, no" * 2, "does not start as a telemetry history log"),
        (b"TELM", "cut short"),
        (b"TELMLOG1" + (12345).to_bytes(8, "little") + bytes(8), "another snapshot"),
    ],
)
def test_a_log_that_does_not_follow_its_snapshot_is_moved_aside(
    tmp_path: Path, header: bytes, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    path, _, _ = saved(tmp_path)
    log = path.with_name("h.db-log")
    data = log.read_bytes()
    log.write_bytes(header + data[len(header) :] if len(header) >= HEADER.size else header)
    got = load_warnings(path, caplog)
    assert got.state == store_state(new_store())  # the snapshot: empty
    assert len(got.warnings) == 1 and why in got.warnings[0] and "moved to" in got.warnings[0]
    assert log.with_name("h.db-log.unreadable").exists()
    store = new_store()
    h = History(path)
    h.load(store)
    drive(h, store, range(2))  # a new log follows the snapshot
    h.close()
    assert store_state(loaded(path)) == reference(2)


def test_a_log_that_starts_after_its_snapshot_is_moved_aside(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """An old snapshot put back by hand beside a newer log: commits between them are
    missing, so the log is not replayed."""
    path = tmp_path / "h.db"
    store = new_store()
    h = History(path)
    h.load(store)
    drive(h, store, range(2))
    old_snapshot = path.read_bytes()
    h._whole_next = True
    drive(h, store, range(2, 4))  # a new snapshot, and a log after it
    h.close()
    path.write_bytes(old_snapshot)
    got = load_warnings(path, caplog)
    assert got.state == store_state(new_store())
    assert len(got.warnings) == 1 and "starts after its snapshot" in got.warnings[0]
