"""The `[[system]]` reader's cost: 20 sysfs sensors polled every 5 s.

    python -m bench.system [--seconds 60] [--polls 2000] [--json FILE]

Two figures, on a fake sysfs tree of 20 sensors of every kind on tmpfs
(`simulators.sysfs.twenty_sensors`: 8 thermal zones, 6 hwmon inputs, 4
DS18B20s, 2 raw IIO channels with scale and offset):

- per poll: the CPU time (`time.thread_time`) of `--polls` polls, each read
  through the normalizer and the pipeline as in the server, and what that
  costs a core at one poll every 5 s;
- end to end: two real servers (`telemetry serve`) side by side for the same
  window, one with the `[[system]]` reader (interval 5 s) and one with no
  reader at all, each one's CPU (every thread's time on a CPU, `bench.cpu`)
  over the window after a warm-up; the difference is the reader's share.

The budget (issue 24): at most 0.05% of a core.  Real 1-Wire reads wait about
750 ms each on the bus (the sensor converts): time asleep in the kernel, not
CPU; tmpfs files answer at once, so the CPU measured is the reader's own.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench import fanout
from bench.cpu import Sample
from devices.system import SystemSource
from simulators.sysfs import twenty_sensors
from telemetry.config import parse_config
from telemetry.pipeline import Pipeline

INTERVAL = 5.0
WARM_UP = 8.0  # seconds after both listen: the first poll and rescan are done
BUDGET = 0.05  # % of a core


def system_config(root: Path, interval: float = INTERVAL) -> str:
    return f'[[system]]\nname = "pi"\nroot = "{root}"\ninterval = "{interval:g}s"\n'


def per_poll(root: Path, polls: int) -> dict[str, float]:
    """CPU seconds of one poll, read, normalized and stored."""
    config = parse_config(system_config(root), env={})
    source = SystemSource(config.system[0])
    pipeline = Pipeline(config)
    source.rescan()
    started = time.thread_time()
    for _ in range(polls):
        msg = source.poll()
        assert msg is not None
        pipeline.ingest([msg])
        pipeline.take_tick()
    seconds = (time.thread_time() - started) / polls
    return {
        "sensors": float(len(source.probes)),
        "poll_us": seconds * 1e6,
        "percent_at_5s": 100 * seconds / INTERVAL,
    }


@contextlib.contextmanager
def tree() -> Iterator[Path]:
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(
        prefix="bench-system-", dir=shm if shm.is_dir() else None
    ) as d:
        yield twenty_sensors(Path(d))


def end_to_end(root: Path, seconds: float) -> dict[str, Any]:
    configs = {
        "system": system_config(root),
        "none": '[server]\nhost = "127.0.0.1"\n',
    }
    folder = root / "configs"
    folder.mkdir()
    with contextlib.ExitStack() as stack:
        pids = {}
        for kind, text in configs.items():
            path = folder / f"{kind}.toml"
            path.write_text(text, encoding="utf-8")
            argv = ["-m", "telemetry", "serve", "--config", str(path), "--port"]
            pid, _ = stack.enter_context(fanout.server_process(kind, argv, []))
            pids[kind] = pid
        time.sleep(WARM_UP)
        before = {kind: Sample.of(pid) for kind, pid in pids.items()}
        started = time.monotonic()
        time.sleep(seconds)
        wall = time.monotonic() - started
        after = {kind: Sample.of(pid) for kind, pid in pids.items()}
    out: dict[str, Any] = {"wall": wall}
    for kind in pids:
        spent = after[kind].since(before[kind])
        out[kind] = {
            "percent": 100 * spent["cpu"] / wall,
            "wakeups_per_s": spent["switches"] / wall,
        }
    out["difference"] = out["system"]["percent"] - out["none"]["percent"]
    return out


def run(seconds: float, polls: int) -> dict[str, Any]:
    with tree() as root:
        return {"per_poll": per_poll(root, polls), "end_to_end": end_to_end(root, seconds)}


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.system", description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0, help="the end-to-end window")
    parser.add_argument("--polls", type=int, default=2000, help="polls timed one by one")
    parser.add_argument("--json", help="also write the result to this file")
    args = parser.parse_args(argv)
    result = run(args.seconds, args.polls)
    p, e = result["per_poll"], result["end_to_end"]
    print(
        f"per poll, {p['sensors']:.0f} sensors read, normalized and stored: "
        f"{p['poll_us']:.0f} µs of CPU; every {INTERVAL:g} s: {p['percent_at_5s']:.4f}% of a core"
    )
    for kind, label in (("system", "with [[system]], 20 sensors"), ("none", "no reader")):
        r = e[kind]
        print(
            f"server {label}, {e['wall']:.0f} s: {r['percent']:.4f}% of a core, "
            f"{r['wakeups_per_s']:.1f} wake-ups/s"
        )
    verdict = "holds" if e["difference"] <= BUDGET else "over budget"
    print(f"the reader's share: {e['difference']:.4f}% of a core (budget {BUDGET}%: {verdict})")
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
