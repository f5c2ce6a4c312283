"""A real VictoriaMetrics (Debian's `victoria-metrics`) on a free loopback port with
a temporary data directory, for `[[output.influx]]`: it takes InfluxDB line protocol
on `/write` (v1) and `/api/v2/write` (v2), and its `/api/v1/export` gives back every
stored sample exactly (values and millisecond timestamps).  A test may `stop()` it
and `start()` it again on the same port and data to play a database outage.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from simulators.broker import free_port
from tests.harness.parts import find_program
from tests.harness.waiting import wait_until


class Victoria:
    def __init__(self, program: str, folder: Path, *flags: str, ca_file: str | None = None) -> None:
        self.program = program
        self.folder = folder
        self.port = free_port()
        self.flags = flags  # -httpAuth.username=..., -tls ...
        self.url = f"{'https' if '-tls' in flags else 'http'}://127.0.0.1:{self.port}"
        self.context = ssl.create_default_context(cafile=ca_file) if ca_file else None
        self.process: subprocess.Popen[bytes] | None = None
        self.log = folder / "victoria.log"

    def start(self) -> Victoria:
        with self.log.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    self.program,
                    f"-storageDataPath={self.folder / 'data'}",
                    f"-httpListenAddr=127.0.0.1:{self.port}",
                    "-retentionPeriod=100y",
                    "-search.latencyOffset=0s",
                    "-loggerLevel=WARN",
                    *self.flags,
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        wait_until(self._healthy, 15, 0.05, what=f"VictoriaMetrics on {self.port} answers")
        return self

    def _healthy(self) -> bool:
        assert self.process is not None
        if self.process.poll() is not None:
            raise AssertionError(f"VictoriaMetrics exited: {self.log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(
                self.url + "/health", timeout=1, context=self.context
            ) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:  # what it had not flushed is lost: say so
                self.process.kill()
                self.process.wait(5)
                with self.log.open("a") as log:
                    log.write("killed: it did not stop within 15 s\n")
        self.process = None

    def _get(self, path: str, params: dict[str, str], headers: dict[str, str]) -> bytes:
        url = f"{self.url}{path}?{urllib.parse.urlencode(params)}"
        request = urllib.request.Request(url, headers=headers)
        with urllib.request.urlopen(request, timeout=5, context=self.context) as answer:
            return bytes(answer.read())

    def export(self, match: str = '{__name__!=""}', **headers: str) -> list[dict[str, Any]]:
        """Every stored series matching `match`, as `/api/v1/export` gives them
        (flushed first, so what was written is readable)."""
        self._get("/internal/force_flush", {}, headers)
        body = self._get("/api/v1/export", {"match[]": match, "start": "0"}, headers)
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def samples(self, match: str = '{__name__!=""}') -> dict[tuple[str, ...], list[Any]]:
        """{(metric name, sorted label=value...): [(ms, value), ...]}."""
        out: dict[tuple[str, ...], list[Any]] = {}
        for series in self.export(match):
            metric = dict(series["metric"])
            key = (metric.pop("__name__"), *sorted(f"{k}={v}" for k, v in metric.items()))
            points = list(zip(series["timestamps"], series["values"], strict=True))
            out.setdefault(key, []).extend(points)
        return {k: sorted(v) for k, v in out.items()}


def _program() -> str:
    return find_program("victoria-metrics", hint="sudo apt-get install victoria-metrics")


VictoriaFactory = Callable[..., Victoria]


@pytest.fixture
def victoria_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VictoriaFactory]:
    """Make VictoriaMetrics instances: `victoria_factory(*extra_flags, start=True,
    ca_file=None)` (`ca_file`: what the harness trusts when `-tls` is on); every one
    is stopped after the test."""
    program = _program()
    made: list[Victoria] = []

    def make(*flags: str, start: bool = True, ca_file: str | None = None) -> Victoria:
        db = Victoria(program, tmp_path_factory.mktemp("victoria"), *flags, ca_file=ca_file)
        made.append(db)
        return db.start() if start else db

    try:
        yield make
    finally:
        for db in made:
            db.stop()
