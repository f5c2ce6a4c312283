"""`python -m bench.arm64`: a benchmark run in an emulated 64-bit ARM Debian, beside a native run.

    python -m bench.arm64 -- --only normalize --quick        # `python -m bench ...` both ways
    python -m bench.arm64 --module bench.idle -- --seconds 60
    python -m bench.arm64 --no-native -- --only ingest --quick

The root file system (Debian bookworm arm64, Raspberry Pi OS's base, with
python3 3.11, mosquitto and a venv of the project's dependencies as aarch64
wheels) is built by `bench/arm64/setup.sh`, run first when it is missing.
Every run is in a private mount namespace (`unshare --mount`): /proc, /dev and
/sys, this checkout at /src and a results folder at /out are mounted for it
and vanish with it.  The emulated CPU is a Cortex-A72's (`QEMU_CPU`), a Pi 4's
core: numpy picks the code paths a Pi 4 has.  Needs root and qemu-aarch64
registered with binfmt_misc (flag F), so that programs started by the
benchmark (the server, mosquitto) run emulated too.

With `python -m bench` (the default module) both runs save JSON and the table
printed last sets each row's native ratio beside its emulated one.  What those
mean, and how roughly an emulated ratio stands for a Pi's: bench/README.md, "arm64".
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

CHECKOUT = Path(__file__).resolve().parents[2]
SETUP = CHECKOUT / "bench" / "arm64" / "setup.sh"
DEFAULT_ROOT = Path(os.environ.get("ARM64_ROOT", "/work/arm64root"))
CPU = "cortex-a72"  # a Raspberry Pi 4's core

# Run in the new mount namespace: mount what the chroot needs, then enter it.
_ENTER = """
set -eu
root=$1; checkout=$2; out=$3; shift 3
mount -t proc proc "$root/proc"
mount --rbind /dev "$root/dev"
mount --rbind /sys "$root/sys"
mkdir -p "$root/src" "$root/out"
mount --bind "$checkout" "$root/src"
mount --bind "$out" "$root/out"
cd "$root/src"
exec chroot "$root" /bin/sh -c 'cd /src && exec "$@"' sh "$@"
"""


def emulated(root: Path, out: Path, argv: list[str]) -> list[str]:
    """The command that runs `argv` in `root`, emulated, with the checkout at /src."""
    env = [
        "/usr/bin/env",
        "-i",
        "HOME=/root",
        "PATH=/opt/venv/bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
        "LANG=C.UTF-8",
        "PYTHONPATH=/src",
        f"QEMU_CPU={CPU}",
    ]
    return [
        "unshare",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        _ENTER,
        "sh",
        str(root),
        str(CHECKOUT),
        str(out),
        *env,
        *argv,
    ]


def ratios(path: Path) -> dict[tuple[str, str], tuple[float, float, str]]:
    """(figure, baseline) -> (median ratio, project's median, unit) of a `--json` file."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return {
        (row["figure"], row["baseline_name"]): (
            row["ratio"]["median"],
            row["project"]["median"],
            row["unit"],
        )
        for row in data["rows"]
    }


def side_by_side(native: Path | None, emulated_json: Path) -> str:
    """Each row's native and emulated ratios, the emulated one over the native one, and
    how many times the emulator slowed the project's figure (absolute: meaningless
    for a Pi, shown so that nobody reads the emulated figures as a Pi's)."""
    emu = ratios(emulated_json)
    nat = ratios(native) if native else {}
    lines = [
        "| figure | baseline | native ratio | emulated arm64 ratio | emulated / native "
        "| emulator's slowdown |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for (figure, baseline), (ratio, project, unit) in emu.items():
        there = nat.get((figure, baseline))
        cells = ["–", "–", "–"]
        if there:
            slowdown = there[1] / project if "lower is better" not in unit else project / there[1]
            cells = [f"{there[0]:.2f}×", f"{ratio / there[0]:.2f}", f"{slowdown:.1f}×"]
        lines.append(
            f"| {figure}: {unit} | {baseline} | {cells[0]} | {ratio:.2f}× | {cells[1]} "
            f"| {cells[2]} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.arm64",
        description="Run a benchmark module in an emulated arm64 Debian (and natively).",
    )
    parser.add_argument("--root", type=Path, default=DEFAULT_ROOT, help="the arm64 root fs")
    parser.add_argument("--module", default="bench", help="the module to run (python -m ...)")
    parser.add_argument("--no-native", action="store_true", help="skip the native run")
    parser.add_argument("--setup", action="store_true", help="run setup.sh first even if built")
    parser.add_argument(
        "--keep", type=Path, help="a folder to keep native.json and emulated.json in"
    )
    parser.add_argument("args", nargs=argparse.REMAINDER, help="-- then the module's arguments")
    args = parser.parse_args(argv)
    passed = args.args[1:] if args.args[:1] == ["--"] else args.args
    if os.geteuid() != 0:
        parser.error("needs root (chroot and mounts)")
    if args.setup or not (args.root / "opt" / "venv" / "bin" / "python").exists():
        subprocess.run([str(SETUP), str(args.root)], check=True)
    whole_suite = args.module == "bench"
    with tempfile.TemporaryDirectory(prefix="bench-arm64-") as folder:
        out = Path(folder)
        native_json = None
        if not args.no_native:
            extra = ["--json", str(out / "native.json")] if whole_suite else []
            command = [sys.executable, "-m", args.module, *passed, *extra]
            print(f"native: {shlex.join(command)}", file=sys.stderr, flush=True)
            if subprocess.run(command, cwd=CHECKOUT, check=False).returncode:
                print("native run failed", file=sys.stderr)
                return 1
            native_json = out / "native.json" if whole_suite else None
        extra = ["--json", "/out/emulated.json"] if whole_suite else []
        inner = ["python", "-m", args.module, *passed, *extra]
        print(f"emulated ({CPU}): {shlex.join(inner)}", file=sys.stderr, flush=True)
        done = subprocess.run(emulated(args.root, out, inner), check=False)
        if done.returncode:
            print(f"emulated run failed (exit {done.returncode})", file=sys.stderr)
            return done.returncode
        if whole_suite:
            print()
            print(side_by_side(native_json, out / "emulated.json"))
            if args.keep:
                args.keep.mkdir(parents=True, exist_ok=True)
                for name in ("native.json", "emulated.json"):
                    if (out / name).exists():
                        shutil.copy(out / name, args.keep / name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
