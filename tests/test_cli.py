"""The `telemetry` command as a user runs it: a real process, real signals."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any, cast

import pytest

from tests.harness.parts import find_program
from tests.harness.sse_client import SSEClient

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "telemetry" / "example-config.toml"
COMMAND = [sys.executable, "-m", "telemetry"]


def run(
    *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*COMMAND, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


class Process:
    """A `telemetry` server process and the URL it printed."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen(
            [*COMMAND, *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if match is None:
            self.proc.kill()
            _, err = self.proc.communicate(timeout=10)
            raise AssertionError(f"no URL printed: {line!r}\n{err}")
        self.url = match.group(1).replace("localhost", "127.0.0.1")

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=10)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            for stream in (self.proc.stdout, self.proc.stderr):
                if stream is not None:
                    stream.close()


@pytest.fixture
def demo() -> Iterator[Process]:
    process = Process("demo", "--port", "0")
    yield process
    process.stop()


def test_check_config_accepts_the_documented_example() -> None:
    result = run("check-config", str(EXAMPLE), env={"MQTT_PASSWORD": "secret"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0].endswith(": OK")
    assert "mqtt home: mqtt://127.0.0.1:1883 as pi" in result.stdout
    assert "prefix home- timezone Europe/Berlin" in result.stdout
    assert "alert freezer-warm: freezer/temperature above -15 (clears at -17) for 10m" in (
        result.stdout
    )
    assert "device times: zone-less ones in local, now UTC +00:00; used when at most 10m" in (
        result.stdout
    )
    assert "secret" not in result.stdout + result.stderr


def test_check_config_gives_one_precise_line_per_error(tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text(
        '[server]\nprot = 8000\ntick = "fast"\n'
        '[[mqtt]]\nurl = "mqtt://broker"\n'
        '[[mqtt.subscribe]]\ntopic = "a/#"\n'
        '[[mqtt.subscribe]]\ntopic = "b/#"\nqos = 3\n'
        '[[serial]]\nname = "bench"\nport = "/dev/ttyUSB0"\nbaudrate = "fast"\n'
        "[histroy]\n",
        encoding="utf-8",
    )
    result = run("check-config", str(config))
    assert result.returncode == 2
    assert result.stdout == ""
    assert sorted(result.stderr.splitlines()) == sorted(
        [
            "error: server.prot: unknown key; did you mean 'port'?",
            'error: server.tick: "fast" is not a duration such as "250ms", "10s", "10m", '
            '"1h30m" or "30d"',
            "error: mqtt[0].subscribe[1].qos: 3 is not one of 0, 1, 2",
            'error: serial[0].baudrate: "fast" is not a whole number from 50 to 4000000',
            "error: histroy: unknown section; did you mean 'history'?",
        ]
    )


def test_check_config_names_a_missing_file_and_exits_2(tmp_path: Path) -> None:
    result = run("check-config", str(tmp_path / "nope.toml"))
    assert result.returncode == 2
    assert "nope.toml: cannot be read" in result.stderr


RECORDED_COMMAND = '[[command]]\nname = "c"\nargv = ["/bin/echo", "1"]\ninterval = "200ms"\n'


def test_record_where_it_cannot_write_says_so_and_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text(RECORDED_COMMAND)
    (tmp_path / "file").write_text("not a folder")
    out = tmp_path / "file" / "s.jsonl.gz"
    done = run("record", "--config", str(config), "--out", str(out), "--duration", "1")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert f"error: cannot record to {out}: " in done.stderr


def test_record_on_a_full_disk_says_so_and_exits_1(tmp_path: Path) -> None:
    config = tmp_path / "t.toml"
    config.write_text(RECORDED_COMMAND)
    done = run("record", "--config", str(config), "--out", "/dev/full", "--duration", "1.5")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    assert "error: the recording stopped: " in done.stderr
    assert "No space left on device" in done.stderr


@pytest.mark.parametrize(
    ("flags", "error"),
    [
        # "16" is 16 bytes, not MiB: the file rotated at every message, three kept.
        (
            ["--max-size", "16"],
            "error: --max-size '16' is out of range; expected from 4KiB to 64GiB",
        ),
        (["--keep", "-1"], "error: --keep -1 is out of range; expected from 0 to 1000"),
    ],
)
def test_record_flags_have_the_configs_bounds(tmp_path: Path, flags: list[str], error: str) -> None:
    config = tmp_path / "t.toml"
    config.write_text(RECORDED_COMMAND)
    out = tmp_path / "s.jsonl.gz"
    done = run("record", "--config", str(config), "--out", str(out), "--duration", "1", *flags)
    assert (done.returncode, done.stderr.strip()) == (1, error)
    assert not out.exists()


def test_parse_prints_one_json_line_per_input_line() -> None:
    lines = [
        {"transport": "mqtt", "topic": "kitchen/temperature", "payload": "21.5 °C"},
        {"transport": "mqtt", "topic": "kitchen/state", "payload": "unavailable"},
        {"transport": "serial", "port": "bench", "payload": "1.5\n2.5\n"},
    ]
    stdin = "\n".join(json.dumps(item) for item in lines) + "\nnot json\n"
    result = run("parse", stdin=stdin)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 4
    assert out[0] == {
        "readings": [
            {
                "device": "kitchen",
                "sensor": "temperature",
                "value": 21.5,
                "unit": "°C",
                "timestamp": None,
            }
        ],
        "errors": [],
    }
    assert out[1]["readings"] == [] and out[1]["errors"][0].startswith("not_a_number")
    assert [r["value"] for r in out[2]["readings"]] == [1.5, 2.5]
    assert out[3]["readings"] == [] and "input line 4" in out[3]["errors"][0]


def test_demo_serves_a_page_and_a_live_stream(demo: Process) -> None:
    with urllib.request.urlopen(demo.url, timeout=5) as response:
        assert response.status == 200
        assert b'<script type="module" src="/static/main.js"' in response.read()
    with SSEClient(demo.url + "events") as client:
        client.until("hello")
        values: dict[str, set[float]] = {}
        for _ in range(30):
            for series, point in client.until("readings").json()["series"].items():
                values.setdefault(series, set()).add(point[1])
    assert {"pump/vibration", "workshop/power"} <= set(values)
    assert len(values["pump/vibration"]) > 5, "values do not change"


def _children(pid: int) -> set[int]:
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def test_demo_reads_simulated_serial_and_mqtt_devices_through_real_readers(
    demo: Process,
) -> None:
    find_program("mosquitto", "/usr/sbin", hint="sudo apt-get install mosquitto")
    with urllib.request.urlopen(demo.url + "api/series", timeout=5) as response:
        kinds = {s["name"]: s["kind"] for s in json.load(response)["sources"]}
    assert kinds == {"demo": "sim", "bench": "serial", "demo-broker": "mqtt"}
    seen: set[str] = set()
    with SSEClient(demo.url + "events?series=bench/*&series=dev0/*") as client:
        deadline = time.monotonic() + 10
        while seen != {"bench/value", "dev0/temperature", "dev0/humidity"}:
            assert time.monotonic() < deadline, f"only {seen} arrived"
            seen.update(client.until("readings", timeout=10).json()["series"])

    # Every simulated firmware family is read as the real firmware would be:
    # every device online and reporting, nothing rejected.
    families = {"dev", "shelly", "esp", "tasmota", "zb", "homie", "senml", "influx"}

    def catalog() -> dict[str, Any]:
        with urllib.request.urlopen(demo.url + "api/series", timeout=5) as response:
            return cast(dict[str, Any], json.load(response))

    def devices_reporting() -> set[str]:
        return {s["device"].rstrip("0123456789") for s in catalog()["series"]}

    deadline = time.monotonic() + 10
    while not families <= devices_reporting():
        assert time.monotonic() < deadline, f"only {devices_reporting()} report"
        time.sleep(0.2)
    final = catalog()
    assert final["rejected_by_source"] == {}
    online = {d["device"].rstrip("0123456789") for d in final["devices"] if d["online"]}
    assert families - {"dev"} <= online
    broker = _children(demo.proc.pid)
    assert broker, "the demo runs its private mosquitto as a child"
    assert demo.stop() == 0
    assert not {pid for pid in broker if Path(f"/proc/{pid}").exists()}, "mosquitto left behind"


def test_demo_exits_promptly_on_sigterm_with_a_stream_open(demo: Process) -> None:
    with SSEClient(demo.url + "events") as client:
        client.until("readings")
        started = time.monotonic()
        demo.proc.send_signal(signal.SIGTERM)
        while client.next_event() is not None:  # the stream must end, not hang
            pass
        assert demo.stop() == 0
        assert time.monotonic() - started < 4  # well before the 8 s backstop


def test_serve_runs_from_a_config_file(tmp_path: Path) -> None:
    config = tmp_path / "telemetry.toml"
    config.write_text('[server]\nhost = "127.0.0.1"\ntick = "50ms"\n', encoding="utf-8")
    server = Process("serve", "--config", str(config), "--port", "0")
    try:
        with SSEClient(server.url + "events") as client:
            assert client.until("hello").json()["tick"] == 50
        with urllib.request.urlopen(server.url + "healthz", timeout=5) as response:
            assert json.load(response)["status"] == "ok"
    finally:
        assert server.stop() == 0
