"""SD card: what persistence writes a day, and how long a full history takes to load.

Everything in child processes built as the server builds itself from
`[history] file = ...` (`bench/sdcard_child.py` says how):
1. build: 50 series (and 500 for the load times) filled with a month and a
   day at 1 Hz, every point, so the ring and every rollup tier are full; saved
   as a snapshot with an empty log (`best`), with the largest log a load
   replays (`worst`: one commit short of a new snapshot), and by version 1;
2. a day: a copy of `worst` loaded (the first commit writes a new snapshot),
   then COMMITS commits at the default
   `commit_interval`, each after a minute of readings for every series
   (receive times with a few milliseconds of jitter; values either sensor-like,
   one or two decimals, or full-precision floats: the worst case), measuring
   `/proc/self/io` around each (`write_bytes`: what reached the page cache for
   the disk; `wchar`: every `write` call).  The same with version 1's saving
   (`bench/persist_v1.py`), for fewer commits: it writes the same every time.
   As root, the files live on a fresh ext4 on a loop device, and the sectors
   that device wrote are counted too: the file system's journal included;
3. load: `History.load` of each layout in a fresh process, its files dropped
   from the page cache first (`posix_fadvise`).

Figures per day are the run's total times 1440 / COMMITS (a whole day by
default: no extrapolation), and "amortised": the mean commit plus new
snapshots at the rate the log grows, for runs too short to hold their share.
Write amplification: bytes written over the bytes of the new points (16 each)
and new rollup buckets (`BUCKET_BYTES` each) at their in-memory sizes.
Targets: at most 100 MB a day and an amplification of 3 for 50 series.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import procs
from bench.model import BenchError, Options, Report, Row
from telemetry.history.rollup import BUCKET_BYTES

NAME = "sdcard"
LOG_STATES = {"worst": "at its largest", "best": "just restarted"}
SERIES = 50
LOAD_SERIES = (50, 500)
VALUES = ("noisy", "decimals")
DAY = 1440  # commits a day at the default commit interval
QUICK_COMMITS, OLD_COMMITS, QUICK_OLD_COMMITS = 240, 20, 5
TARGET_MB, TARGET_AMPLIFICATION = 100.0, 3.0
DISK_MB = 512
MB = 1e6


class SdcardError(BenchError):
    """A child failed, or said what cannot be."""


def _child(*args: str, timeout: float = 1800) -> dict[str, Any]:
    argv = procs.measured([sys.executable, "-m", "bench.sdcard_child", *args])
    done = procs.run_measured(argv, timeout)
    if done.returncode != 0:
        raise SdcardError(f"sdcard_child {' '.join(args)}: {done.stderr[-2000:]}")
    out: dict[str, Any] = json.loads(done.stdout)
    return out


@contextlib.contextmanager
def scratch_ext4(folder: Path) -> Iterator[tuple[Path, Path] | None]:
    """A fresh ext4 on a loop device, mounted in `folder`: its mount point and the
    `/sys/block/<dev>/stat` that counts what it sends to its device.  None where
    that is not allowed (it needs root)."""
    image, mount = folder / "disk.img", folder / "mnt"
    mount.mkdir()
    try:
        with image.open("wb") as f:
            f.truncate(DISK_MB << 20)
        subprocess.run(["mkfs.ext4", "-q", str(image)], check=True, capture_output=True)
        subprocess.run(
            ["mount", "-o", "loop", str(image), str(mount)], check=True, capture_output=True
        )
    except (OSError, subprocess.CalledProcessError):
        yield None
        return
    try:
        source = subprocess.run(
            ["findmnt", "-n", "-o", "SOURCE", str(mount)],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        yield mount, Path("/sys/block") / Path(source).name / "stat"
    finally:
        subprocess.run(["umount", str(mount)], check=False, capture_output=True)


def _copy(source: Path, into: Path) -> Path:
    """A copy of a layout's files in `into` (emptied), out of the page cache."""
    shutil.rmtree(into, ignore_errors=True)
    shutil.copytree(source, into)
    for file in into.iterdir():
        fd = os.open(file, os.O_RDONLY)
        try:
            os.fsync(fd)
            os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        finally:
            os.close(fd)
    return into


def _day(built: Path, work: Path, run: tuple[str, str, int], device: str) -> dict[str, Any]:
    layout, values, commits = run
    folder = _copy(built / ("old" if layout == "old" else "worst"), work / "day")
    result = _child("day", str(folder), layout, values, str(commits), device)
    shutil.rmtree(folder)
    return summary(result, commits)


def _per_day(
    rows: list[dict[str, Any]], key: str, compacted: list[bool]
) -> tuple[float, float, float]:
    """`key` a day: measured (the run's total, scaled to a day) and amortised (the
    mean commit, and new snapshots at the rate the log grows to the next one), and
    that rate: new snapshots a day."""
    total = sum(r[key] for r in rows)
    plain = [r[key] for r, c in zip(rows, compacted, strict=True) if not c]
    snapshots = [r[key] for r, c in zip(rows, compacted, strict=True) if c]
    grown = [
        b["log_bytes"] - a["log_bytes"]
        for (a, b), c in zip(itertools.pairwise(rows), compacted[1:], strict=True)
        if not c
    ]
    snapshot = statistics.median(r["snapshot_bytes"] for r in rows)
    each = statistics.mean(snapshots) if snapshots else snapshot
    a_day = DAY * statistics.mean(grown) / (2 * snapshot) if grown and snapshot else 0.0
    return total * DAY / len(rows), DAY * statistics.mean(plain) + a_day * each, a_day


def summary(result: dict[str, Any], commits: int) -> dict[str, Any]:
    """Per-day figures of one run of `day`."""
    rows = result["rows"]
    compacted = [bool(r["compacted"]) for r in rows]
    plain = [r for r, c in zip(rows, compacted, strict=True) if not c]
    written, amortised, snapshots_a_day = _per_day(rows, "write_bytes", compacted)
    device = _per_day(rows, "device", compacted) if rows[0]["device"] is not None else None
    new_bytes = result["new_points"] * 16 + result["new_buckets"] * BUCKET_BYTES
    return {
        "commits": commits,
        "mb_a_day": written / MB,
        "amortised_mb_a_day": amortised / MB,
        "device_mb_a_day": None if device is None else device[0] / MB,
        "device_amortised_mb_a_day": None if device is None else device[1] / MB,
        "wchar_mb_a_day": sum(r["wchar"] for r in rows) * DAY / commits / MB,
        "amplification": sum(r["write_bytes"] for r in rows) / new_bytes,
        "new_mb_a_day": new_bytes * DAY / commits / MB,
        "commit_kb": statistics.median(r["write_bytes"] for r in plain) / 1e3,
        "compactions": sum(compacted),
        "snapshots_a_day": snapshots_a_day,
        "snapshots": [
            f"{r['write_bytes'] / MB:.1f} MB in {r['commit_s'] * 1e3:.0f} ms, "
            f"{r['loop_s'] * 1e3:.0f} on the loop in steps of up to {r['step_s'] * 1e3:.1f}"
            for r, c in zip(rows, compacted, strict=True)
            if c
        ],
        "loop_ms": statistics.median(r["loop_s"] for r in plain) * 1e3,
        "loop_max_ms": max(r["loop_s"] for r in plain) * 1e3,
        "commit_ms": statistics.median(r["commit_s"] for r in plain) * 1e3,
        "snapshot_mb": statistics.median(r["snapshot_bytes"] for r in rows) / MB,
        "log_max_mb": max(r["log_bytes"] for r in rows) / MB,
        "files": result["files"],
    }


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    report = Report(NAME)
    commits = QUICK_COMMITS if options.quick else DAY
    old_commits = QUICK_OLD_COMMITS if options.quick else OLD_COMMITS
    sizes = LOAD_SERIES[:1] if options.quick else LOAD_SERIES
    with tempfile.TemporaryDirectory(prefix="bench-sdcard-") as tmp:
        root = Path(tmp)
        built = {}
        for n in sizes:
            progress(f"{NAME}: filling {n} series with a month at 1 Hz (every tier full)")
            (root / str(n)).mkdir()
            built[n] = _child("build", str(root / str(n)), str(n))
        days: dict[tuple[str, str], list[dict[str, Any]]] = {}
        with scratch_ext4(root) as disk:
            work, device = (disk[0], str(disk[1])) if disk else (root, "-")
            for i in range(options.repeat):
                for values in VALUES:
                    for layout, n in (("new", commits), ("old", old_commits)):
                        progress(f"{NAME}: {layout} layout, {values} values, {n} commits ({i + 1})")
                        got = _day(root / str(SERIES), work, (layout, values, n), device)
                        days.setdefault((layout, values), []).append(got)
        loads: dict[tuple[int, str], list[float]] = {}
        cpus: dict[tuple[int, str], list[float]] = {}
        for i in range(options.repeat):
            for n in sizes:
                for layout in ("old", "worst", "best"):
                    progress(f"{NAME}: load of {n} series, {layout} layout ({i + 1})")
                    folder = _copy(root / str(n) / layout, root / "load")
                    got = _child("load", str(folder), "old" if layout == "old" else "new")
                    if got["series"] != n:
                        raise SdcardError(f"{layout}: {got['series']} series loaded, not {n}")
                    loads.setdefault((n, layout), []).append(got["load_s"] * 1e3)
                    cpus.setdefault((n, layout), []).append(got["cpu_s"] * 1e3)
    _report(report, days, (loads, cpus), built)
    report.notes.append(_verdict(days, commits, disk is not None))
    return report


def _report(
    report: Report,
    days: dict[tuple[str, str], list[dict[str, Any]]],
    timed: tuple[dict[tuple[int, str], list[float]], dict[tuple[int, str], list[float]]],
    built: dict[int, dict[str, Any]],
) -> None:
    loads, cpus = timed
    for values in VALUES:
        new, old = days["new", values], days["old", values]
        label = "full-precision values" if values == "noisy" else "sensor values (1-2 decimals)"
        report.rows.append(
            Row.compare(
                NAME,
                f"{SERIES} series at 1 Hz, full history, {label}: MB written a day",
                "MB, lower is better",
                project=[r["mb_a_day"] for r in new],
                baseline_name="version 1 (whole arrays, SQLite WAL)",
                baseline=[r["mb_a_day"] for r in old],
            )
        )
    for (n, layout), samples in sorted(loads.items()):
        if layout == "old":
            continue
        report.rows.append(
            Row.compare(
                NAME,
                f"load of a full month, {n} series, log {LOG_STATES[layout]}",
                "ms, lower is better",
                project=samples,
                baseline_name="version 1",
                baseline=loads[n, "old"],
            )
        )
    for (layout, values), runs in sorted(days.items()):
        report.notes.append(_day_note(layout, values, runs))
    for n, b in sorted(built.items()):
        report.notes.append(
            f"{NAME} files, {n} series: snapshot {b['best']['snapshot'] / MB:.1f} MB; largest log "
            f"{b['worst']['log'] / MB:.1f} MB; version 1 file {sum(b['old'].values()) / MB:.1f}"
            " MB; "
            "loads (wall, of it CPU) "
            + ", ".join(
                f"{x} {statistics.median(loads[n, x]):.0f} ms ({statistics.median(cpus[n, x]):.0f})"
                for x in ("old", "best", "worst")
            )
        )
    report.details.extend(
        [{"layout": k[0], "values": k[1], **r} for k, runs in days.items() for r in runs]
        + [
            {"load_series": k[0], "layout": k[1], "ms": v, "cpu_ms": cpus[k]}
            for k, v in loads.items()
        ]
        + [{"built_series": n, **b} for n, b in built.items()]
    )


def _day_note(layout: str, values: str, runs: list[dict[str, Any]]) -> str:
    def med(key: str) -> float:
        return float(statistics.median(r[key] for r in runs))

    device = ""
    if runs[0]["device_mb_a_day"] is not None:
        device = (
            f"; on the device, the ext4 journal included: {med('device_mb_a_day'):.1f}, "
            f"amortised {med('device_amortised_mb_a_day'):.1f}"
        )
    snapshots = [f"{r['compactions']} ({'; '.join(r['snapshots'])})" for r in runs]
    return (
        f"{NAME} {layout}, {values}: {med('mb_a_day'):.1f} MB/day written (write_bytes over "
        f"{runs[0]['commits']} commits; amortised {med('amortised_mb_a_day'):.1f}; wchar "
        f"{med('wchar_mb_a_day'):.1f}{device}) for {med('new_mb_a_day'):.1f} MB/day of new "
        f"points and buckets: amplification {med('amplification'):.2f}; a commit writes "
        f"{med('commit_kb'):.1f} kB and takes {med('commit_ms'):.1f} ms, "
        f"{med('loop_ms'):.2f} ms of it on the event loop (at most {med('loop_max_ms'):.1f}); "
        f"new snapshots per run: {', '.join(snapshots)} (a day: {med('snapshots_a_day'):.2f}); "
        f"snapshot {med('snapshot_mb'):.1f} MB, "
        f"log up to {med('log_max_mb'):.1f} MB"
    )


def _verdict(days: dict[tuple[str, str], list[dict[str, Any]]], commits: int, device: bool) -> str:
    figures: tuple[str, ...] = ("amortised_mb_a_day", "device_amortised_mb_a_day")
    if commits >= DAY:  # a shorter run's total holds a new snapshot or none: not a day's
        figures += ("mb_a_day", "device_mb_a_day")
    runs = [r for values in VALUES for r in days["new", values]]
    worst = max(r[k] or 0.0 for r in runs for k in figures)
    amplification = max(r["amplification"] for r in runs)
    within = "within" if worst <= TARGET_MB else "OVER"
    a_within = "within" if amplification <= TARGET_AMPLIFICATION else "OVER"
    return (
        f"{NAME}: worst case {worst:.1f} MB/day ({within} the {TARGET_MB:.0f} MB target), "
        f"amplification at most {amplification:.2f} ({a_within} {TARGET_AMPLIFICATION:.0f})"
        + ("" if device else "; device-level figures need root (a loop-mounted ext4)")
        + (f"; {commits} commits, not a day: quick" if commits < DAY else "")
    )
