"""The registry of benchmarks and the run of a selection of them.

Benchmarks are named here and imported only when selected (a benchmark may
need parts another does not: mosquitto, a browser, tsdownsample).  A new one
is a module with `run(options, progress) -> Report` and a line below; its rows
join the one table.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable
from typing import Protocol, cast

from bench.model import Options, Report

# name -> module; the order is the table's order.
BENCHMARKS: dict[str, str] = {
    "ingest": "bench.ingest",
    "serial": "bench.serial",
    "normalize": "bench.normalize",
    "downsample": "bench.downsample",
    "month": "bench.month",
    "sdcard": "bench.sdcard",
    "footprint": "bench.footprint",
    "fanout": "bench.fanout",
    "latency": "bench.latency",
    "e2e": "bench.e2e",
    "loads": "bench.loads",
    "browser": "bench.browser",
}

Progress = Callable[[str], None]


class Benchmark(Protocol):
    def run(self, options: Options, progress: Progress = ..., /) -> Report: ...


def load(name: str) -> Benchmark:
    try:
        module = BENCHMARKS[name]
    except KeyError:
        raise ValueError(f"no benchmark {name!r}; known: {', '.join(BENCHMARKS)}") from None
    return cast(Benchmark, importlib.import_module(module))


def run(
    names: Iterable[str], options: Options, progress: Progress = lambda _: None
) -> list[Report]:
    return [load(name).run(options, progress) for name in names]
