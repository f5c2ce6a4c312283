"""Memory of the running server with its history truly full, and its cold start.

The server is the real one, built as `telemetry serve` builds it
(`bench.month_server`: config, runtime, web app, uvicorn on loopback), its
store filled before it serves with 500 series holding every point at 1 Hz
(time-compressed: explicit timestamps ending now) for 24 hours, then for 30
days, with the default `[history]`.  Once it listens, this harness asks it for
`/api/series` and a few `/api/history` answers (the page's ranges and a month),
then reads VmRSS and RssAnon from `/proc/PID/status`.  Each fill runs twice:
persistence off (no `[history] file`), and on (the file set, the whole fill
saved by the runtime's own commit before measuring).  The baseline is a process
that only imports what the server imports; an idle server with no series is
measured too.  Budget: 100 MB of RSS in all.  Quick: 50 series.

Cold start: the month's file is then served by `python -m telemetry serve
--config FILE` itself: the seconds and CPU-seconds (utime + stime of
`/proc/PID/stat`) from the process's start to its port accepting a connection
(the saved history is loaded before uvicorn listens), against the same
command with no history file, alternating, `repeat` times each; and the
restarted server's RSS after the same queries.  Also with 50 series.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from bench import procs
from bench.footprint import IMPORTS
from bench.model import BenchError, Options, Report, Row
from simulators.broker import free_port

NAME = "month"
SERIES, QUICK_SERIES, FEW_SERIES = 500, 50, 50
SPANS = (("24 h", 1.0), ("30 d", 30.0))
BUDGET_MB = 100.0
FILL_TIMEOUT = 1200.0
HOST = "127.0.0.1"
# (range in seconds, points): the page's 1 h, 6 h and 24 h at 1,200 px, and a month.
QUERIES = ((3600.0, 4800), (6 * 3600.0, 4800), (86_400.0, 4800), (30 * 86_400.0, 4800))
QUERIED_SERIES = 5


class MonthError(BenchError):
    """The filled server did not start, answer, or hold the series it was given."""


def status(pid: int) -> dict[str, float]:
    """VmRSS, RssAnon and RssFile of a process, in MB."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "VmHWM"):
                out[key] = int(value.split()[0]) / 1024
    return out


def cpu_seconds(pid: int) -> float:
    """utime + stime of a running process."""
    with open(f"/proc/{pid}/stat", encoding="ascii") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def imports_status() -> dict[str, float]:
    """VmRSS and RssAnon of a process that imports what the server imports, and no more."""
    code = (
        f"import importlib, json; [importlib.import_module(m) for m in {IMPORTS!r}]; "
        "print(json.dumps({l.split(':')[0]: int(l.split()[1]) / 1024 "
        "for l in open('/proc/self/status') if l.startswith(('VmRSS', 'RssAnon', 'RssFile'))}))"
    )
    out = subprocess.run(
        procs.measured([sys.executable, "-c", code]),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    result: dict[str, float] = json.loads(out.stdout)
    return result


def get(port: int, path: str) -> Any:
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    try:
        conn.request("GET", path, headers={"Host": "bench"})
        response = conn.getresponse()
        body = response.read()
    finally:
        conn.close()
    if response.status != 200:
        raise MonthError(f"GET {path}: {response.status} {body[:200]!r}")
    return json.loads(body)


def ask(port: int, series: int) -> dict[str, Any]:
    """The catalog, and each query of QUERIES for a few series; what the answers held."""
    catalog = get(port, "/api/series")["series"]
    if len(catalog) != series:
        raise MonthError(f"the server has {len(catalog)} series; it was given {series}")
    sources = {}
    now = time.time()
    for n in range(min(series, QUERIED_SERIES)):
        sid = f"month{n * (series // QUERIED_SERIES or 1)}/temperature"
        for span, points in QUERIES:
            query = urllib.parse.urlencode(
                {"series": sid, "start": now - span, "end": now, "points": points}
            )
            answer = get(port, f"/api/history?{query}")["series"][sid]
            if not answer["t"]:
                raise MonthError(f"{sid}: no points over the last {span:.0f} s")
            sources[f"{span / 3600:g} h"] = answer["from"]
    return {"sources": sources}


def settled_status(pid: int) -> dict[str, float]:
    """The median of five readings of /proc/PID/status over two seconds."""
    samples = []
    for _ in range(5):
        samples.append(status(pid))
        time.sleep(0.5)
    return {key: statistics.median(s[key] for s in samples) for key in samples[0]}


def config_text(history_file: Path | None, series: int) -> str:
    file = f'file = "{history_file}"\n' if history_file is not None else ""
    return (
        f'[server]\nhost = "{HOST}"\n\n[history]\n{file}\n'
        f"[limits]\nmax_series = {max(1000, series)}\n"
    )


@contextlib.contextmanager
def _process(
    argv: list[str], ready: Callable[[], bool], timeout: float, *, measured: bool = True
) -> Iterator[int]:
    """`argv` in its own session, on the measured cores unless `measured` is false;
    yields its pid once `ready()`; SIGTERM (a clean stop, the final save included) and
    reaped afterwards."""
    with tempfile.TemporaryFile() as err:
        process = subprocess.Popen(
            procs.measured(argv) if measured else argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + timeout
            while not ready():
                if process.poll() is not None:
                    err.seek(0)
                    tail = err.read().decode("utf-8", "replace")[-2000:]
                    raise MonthError(f"{argv[1:4]} exited {process.returncode}\n{tail}")
                if time.monotonic() > deadline:
                    raise MonthError(f"{argv[1:4]} was not ready within {timeout:.0f} s")
                time.sleep(0.01)
            yield process.pid
            os.kill(process.pid, signal.SIGTERM)
            process.wait(60)
        finally:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def accepting(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection((HOST, port), 1):
        return True
    return False


def filled(folder: Path, series: int, days: float, persist: bool) -> dict[str, Any]:
    """Fill a server, query it, read its memory; with `persist`, leave its file behind."""
    history = folder / f"history-{series}-{days:g}.db" if persist else None
    config = folder / "filled.toml"
    config.write_text(config_text(history, series), encoding="utf-8")
    ready, port = folder / "ready.json", free_port()
    ready.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "bench.month_server", str(config), str(port)]
    argv += ["--series", str(series), "--days", str(days), "--ready", str(ready)]
    with _process(argv, ready.exists, FILL_TIMEOUT) as pid:
        report = json.loads(ready.read_text(encoding="utf-8"))
        asked = ask(port, series)
        memory = settled_status(pid)
    out = {"series": series, "days": days, "persist": persist, **report, **asked, **memory}
    if history is not None:
        out["file_mb"] = history.stat().st_size / 1024**2
    return out


@contextlib.contextmanager
def served(
    folder: Path, series: int, history: Path | None, *, measured: bool = True
) -> Iterator[tuple[int, int, float]]:
    """`telemetry serve` on `history` (None: no file) while the block runs: its port,
    its pid, and the seconds from its start to its port accepting."""
    config = folder / "cold.toml"
    config.write_text(config_text(history, series), encoding="utf-8")
    port = free_port()
    argv = [sys.executable, "-m", "telemetry", "serve", "--config", str(config), "--port"]
    t0 = time.perf_counter()
    with _process([*argv, str(port)], lambda: accepting(port), 300, measured=measured) as pid:
        yield port, pid, time.perf_counter() - t0


def cold_start(folder: Path, series: int, history: Path | None) -> dict[str, Any]:
    """`telemetry serve` on `history` (None: no file): seconds and CPU-seconds from its
    start to its port accepting; then, with a file, its memory after the queries."""
    with served(folder, series, history) as (port, pid, listen_s):
        out: dict[str, Any] = {"listen_s": listen_s, "cpu_s": cpu_seconds(pid)}
        if history is not None:
            out |= ask(port, series) | settled_status(pid)
    return out


def _rss_row(series: int, label: str, got: dict[str, Any], base: dict[str, float]) -> Row:
    return Row.compare(
        NAME,
        f"server RSS, {series} series x {label}",
        "MB, lower is better",
        project=[got["VmRSS"]],
        baseline_name="imports only",
        baseline=[base["VmRSS"]],
    )


def _rss_note(
    series: int, label: str, got: dict[str, Any], base: dict[str, float], idle: dict[str, Any]
) -> str:
    per_series = (got["VmRSS"] - idle["VmRSS"]) * 1024 / series
    verdict = "within" if got["VmRSS"] <= BUDGET_MB else "OVER"
    fill = f"; filled in {got['fill_s']:.0f} s" if "fill_s" in got else ""
    if "file_mb" in got:
        fill += f", file {got['file_mb']:.0f} MB saved in {got['commit_s']:.1f} s"
    return (
        f"{NAME}: {series} series x {label}: RSS {got['VmRSS']:.1f} MB (RssAnon "
        f"{got['RssAnon']:.1f}), {per_series:.0f} KB a series over an idle server's "
        f"{idle['VmRSS']:.1f} (imports alone {base['VmRSS']:.1f}); {verdict} the "
        f"{BUDGET_MB:.0f} MB budget{fill}; history answered from {got['sources']}"
    )


def _cold_starts(
    folder: Path, series: int, history: Path, repeat: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """`repeat` cold starts on `history` and as many with no file, alternating."""
    restored: list[dict[str, Any]] = []
    empty: list[dict[str, Any]] = []
    for i in range(repeat):
        for file in (history, None) if i % 2 == 0 else (None, history):
            (restored if file else empty).append(cold_start(folder, series, file))
    return restored, empty


def run(options: Options, progress: Callable[[str], None] = lambda _: None) -> Report:
    report = Report(NAME)
    series = QUICK_SERIES if options.quick else SERIES
    base = imports_status()
    measured: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-month-") as tmp:
        folder = Path(tmp)
        idle = filled(folder, 0, 0.0, persist=False)
        for span, days in SPANS:
            for persist in (False, True):
                label = f"{span} at 1 Hz, persistence {'on' if persist else 'off'}"
                progress(f"{NAME}: {series} series x {label}")
                measured[label] = filled(folder, series, days, persist)
        progress(f"{NAME}: cold starts on {series} series x 30 d")
        restored, empty = _cold_starts(
            folder, series, folder / f"history-{series}-30.db", options.repeat
        )
        measured["30 d, restarted on its file"] = restored[0]
        few: list[dict[str, Any]] = []
        if not options.quick:
            progress(f"{NAME}: cold starts on {FEW_SERIES} series x 30 d")
            filled(folder, FEW_SERIES, 30.0, persist=True)
            few, _ = _cold_starts(
                folder, FEW_SERIES, folder / f"history-{FEW_SERIES}-30.db", options.repeat
            )
    report.details.append({"benchmark": NAME, "imports": base, "idle_server": idle})
    report.details.extend({"benchmark": NAME, "case": k, **v} for k, v in measured.items())
    report.details.append(
        {"benchmark": NAME, "cold_start": {"restored": restored, "empty": empty, "few": few}}
    )
    for label, got in measured.items():
        report.rows.append(_rss_row(series, label, got, base))
        report.notes.append(_rss_note(series, label, got, base, idle))
    report.notes.append(
        f"{NAME}: an idle server with no series: RSS {idle['VmRSS']:.1f} MB (RssAnon "
        f"{idle['RssAnon']:.1f}); the imports alone {base['VmRSS']:.1f} ({base['RssAnon']:.1f})"
    )
    report.rows.append(
        Row.compare(
            NAME,
            f"cold start to listening, {series} series x 30 d restored",
            "s, lower is better",
            project=[r["listen_s"] for r in restored],
            baseline_name="no history file",
            baseline=[e["listen_s"] for e in empty],
        )
    )

    def median(runs: list[dict[str, Any]], key: str) -> float:
        return float(statistics.median(r[key] for r in runs))

    few_note = ""
    if few:
        few_note = (
            f"; {FEW_SERIES} series: {median(few, 'listen_s'):.2f} s, "
            f"{median(few, 'cpu_s'):.2f} CPU-s"
        )
    report.notes.append(
        f"{NAME}: cold start to listening (median of {options.repeat}) with {series} series "
        f"x 30 d restored: {median(restored, 'listen_s'):.2f} s, "
        f"{median(restored, 'cpu_s'):.2f} CPU-s (no history file: "
        f"{median(empty, 'listen_s'):.2f} s, {median(empty, 'cpu_s'):.2f} CPU-s){few_note}"
    )
    return report
