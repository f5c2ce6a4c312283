"""bench.arm64's report: each row's native and emulated ratios side by side."""

from __future__ import annotations

import json
from pathlib import Path

from bench.arm64.__main__ import emulated, side_by_side


def _results(path: Path, rows: list[tuple[str, str, float, float]]) -> Path:
    path.write_text(
        json.dumps(
            {
                "rows": [
                    {
                        "figure": figure,
                        "baseline_name": "paho loop",
                        "unit": unit,
                        "project": {"median": project},
                        "ratio": {"median": ratio},
                    }
                    for figure, unit, project, ratio in rows
                ]
            }
        ),
        encoding="utf-8",
    )
    return path


def test_arm64_side_by_side_divides_the_emulated_ratio_by_the_native(tmp_path: Path) -> None:
    native = _results(
        tmp_path / "n.json",
        [("plain", "readings/CPU-s", 120_000.0, 2.0), ("p99", "ms (lower is better)", 5.0, 1.0)],
    )
    emu = _results(
        tmp_path / "e.json",
        [
            ("plain", "readings/CPU-s", 20_000.0, 1.5),
            ("p99", "ms (lower is better)", 40.0, 1.2),
            ("new", "x/CPU-s", 1.0, 3.0),
        ],
    )
    lines = side_by_side(native, emu).splitlines()
    assert lines[2] == "| plain: readings/CPU-s | paho loop | 2.00× | 1.50× | 0.75 | 6.0× |"
    assert lines[3] == "| p99: ms (lower is better) | paho loop | 1.00× | 1.20× | 1.20 | 8.0× |"
    assert lines[4] == "| new: x/CPU-s | paho loop | – | 3.00× | – | – |"


def test_arm64_runs_the_command_chrooted_with_a_pi_4_core(tmp_path: Path) -> None:
    argv = emulated(Path("/r"), tmp_path, ["python", "-m", "bench", "--only", "idle"])
    assert argv[:4] == ["unshare", "--mount", "--propagation", "private"]
    assert "QEMU_CPU=cortex-a72" in argv
    assert argv[-5:] == ["python", "-m", "bench", "--only", "idle"]
