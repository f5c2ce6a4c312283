"""The `[[command]]` reader: real programs (/bin/sh, sleep), real process groups."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from devices.command import CommandSource
from telemetry.config import LimitsConfig, make_normalizer, parse_config
from telemetry.handoff import Inbox
from telemetry.model import RawMessage
from telemetry.parsetool import ParseTool
from tests.harness.http import fetch
from tests.harness.server import StartServer
from tests.harness.waiting import wait_for_state, wait_until


def command(body: str) -> CommandSource:
    (cfg,) = parse_config(f'[[command]]\nname = "probe"\n{body}', env={}).command
    return CommandSource(cfg)


class Collected:
    def __init__(self) -> None:
        self.messages: list[RawMessage] = []
        self.inbox = Inbox(10_000, self.messages.extend)

    def payloads(self) -> list[bytes]:
        self.inbox.drain()
        return [m.payload for m in self.messages]


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie waiting for its parent counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            return f.read().rpartition(")")[2].split()[0] != "Z"
    except FileNotFoundError:
        return False


def test_command_lines_are_messages_of_its_device() -> None:
    src = command('argv = ["/bin/sh", "-c", "echo 21.5; echo; echo \'22 °C\'"]\nformat = "number"')
    out = Collected()
    assert src.run_once(out.inbox)
    assert out.payloads() == [b"21.5", "22 °C".encode()]
    assert {(m.route.device, m.route.transport, m.route.format) for m in out.messages} == {
        ("probe", "serial", "number")
    }
    assert src.received == 2
    assert src.status().state == "connected"


def test_command_that_hangs_is_killed_with_its_children_at_the_timeout(tmp_path: Path) -> None:
    pidfile = tmp_path / "child"
    src = command(
        f'shell = "sleep 60 & echo $! > {pidfile}; echo 1.5; wait"\n'
        'interval = "10s"\ntimeout = "300ms"\nformat = "number"'
    )
    out = Collected()
    started = time.monotonic()
    assert not src.run_once(out.inbox)
    assert time.monotonic() - started < 3
    child = int(pidfile.read_text())
    wait_until(lambda: not alive(child), what="the shell's child is killed too")
    assert src.rejected == {"timeout": 1}
    status = src.status()
    assert status.state == "disconnected"
    assert status.last_error == "killed after the timeout of 0.3 s"
    assert out.payloads() == [b"1.5"]  # what it printed before still counts


def test_command_that_exits_leaving_a_child_on_its_stdout_ends_with_it(tmp_path: Path) -> None:
    # `daemon &` in a shell line: the child holds stdout open after the shell has
    # printed and exited 0; the run is the shell's, not the child's.
    pidfile = tmp_path / "child"
    src = command(
        f'shell = "sleep 60 & echo $! > {pidfile}; echo 1.5"\n'
        'interval = "10s"\ntimeout = "5s"\nformat = "number"'
    )
    out = Collected()
    started = time.monotonic()
    assert src.run_once(out.inbox)
    assert time.monotonic() - started < 2
    assert src.rejected == {}
    assert src.status().state == "connected"
    assert out.payloads() == [b"1.5"]
    child = int(pidfile.read_text())
    wait_until(lambda: not alive(child), what="what it left in its group is killed")


def test_command_failing_is_counted_with_its_last_stderr_line() -> None:
    src = command("shell = \"echo 1 >&2; echo 'no sensor on bus 1' >&2; exit 3\"")
    out = Collected()
    assert not src.run_once(out.inbox)
    assert src.rejected == {"exit_status": 1}
    assert src.status().last_error == "exit status 3: no sensor on bus 1"
    assert out.payloads() == []


def test_command_that_cannot_start_is_counted() -> None:
    src = command('argv = ["/nonexistent/program"]')
    assert not src.run_once(Collected().inbox)
    assert src.rejected == {"start_failed": 1}
    assert "cannot start '/nonexistent/program'" in (src.status().last_error or "")


def test_command_output_is_capped_and_the_rest_discarded() -> None:
    # 2000 lines of 6 bytes; 100 bytes kept: 16 whole lines, the cut one dropped.
    src = command(
        'shell = "i=0; while [ $i -lt 2000 ]; do echo 12.25; i=$((i+1)); done"\nmax_output = 100'
    )
    out = Collected()
    assert src.run_once(out.inbox)  # capped, not failed
    assert out.payloads() == [b"12.25"] * 16
    assert src.rejected == {"output_capped": 1}


def test_command_environment_is_the_servers_plus_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TELEMETRY_TEST_INHERITED", "7")
    src = command('shell = "echo $TELEMETRY_TEST_INHERITED; echo $BUS"\n[command.env]\nBUS = "3"')
    out = Collected()
    assert src.run_once(out.inbox)
    assert out.payloads() == [b"7", b"3"]


def test_command_argv_is_not_read_by_a_shell(tmp_path: Path) -> None:
    src = command('argv = ["/bin/echo", "$HOME; touch x"]')
    out = Collected()
    assert src.run_once(out.inbox)
    assert out.payloads() == [b"$HOME; touch x"]


def test_command_split_none_gives_the_whole_output_as_one_message() -> None:
    src = command('shell = "printf \'{\\\\n  \\"t\\": 1\\\\n}\\\\n\'"\nsplit = "none"')
    out = Collected()
    assert src.run_once(out.inbox)
    assert out.payloads() == [b'{\n  "t": 1\n}']


def test_command_slower_than_its_interval_skips_ticks_and_counts_them() -> None:
    src = command('shell = "sleep 0.5; echo 1"\ninterval = "200ms"\ntimeout = "5s"')
    out = Collected()
    src.start(out.inbox)
    try:
        wait_until(lambda: src.runs >= 2, timeout=5, what="two runs")
        assert src.rejected["skipped_tick"] >= 2
        assert "timeout" not in src.rejected
    finally:
        src.stop()


def test_command_stop_kills_a_running_command_at_once(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    src = command(f'shell = "echo $$ > {pidfile}; exec sleep 60"\ntimeout = "1m"')
    src.start(Collected().inbox)
    wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), what="the command runs")
    pid = int(pidfile.read_text())
    started = time.monotonic()
    src.stop(timeout=5)
    assert time.monotonic() - started < 1.0
    wait_until(lambda: not alive(pid), what="the command is killed")
    assert src.status().state == "stopped"


def test_command_stop_returns_at_once_while_a_child_that_left_its_group_holds_stdout(
    tmp_path: Path,
) -> None:
    # `setsid` escapes the group kill and keeps the pipes open: the run must end
    # with its program all the same, not at its timeout.
    pidfile = tmp_path / "pid"
    src = command(f'shell = "setsid sleep 60 & echo $! > {pidfile}; exec sleep 60"\ntimeout = "1m"')
    src.start(Collected().inbox)
    try:
        wait_until(lambda: pidfile.exists() and pidfile.read_text().strip(), what="it runs")
        started = time.monotonic()
        src.stop(timeout=5)
        assert time.monotonic() - started < 1.0
        assert src.status().state == "stopped"
    finally:
        os.kill(int(pidfile.read_text()), signal.SIGKILL)


def test_command_json_and_kv_lines_are_stored_by_the_server(
    tmp_path: Path, start_server: StartServer
) -> None:
    script = tmp_path / "probe.sh"
    script.write_text('echo \'{"temperature": 21.5, "humidity": 40}\'\n', encoding="utf-8")
    config = parse_config(
        "[[command]]\n"
        'name = "probe"\n'
        f'argv = ["/bin/sh", "{script}"]\n'
        'interval = "100ms"\n'
        'format = "json"\n'
        "[[command]]\n"
        'name = "ups"\n'
        'argv = ["/bin/echo", "battery=87.5 load=12"]\n'
        'interval = "100ms"\n'
        'format = "kv"\n',
        env={},
    )
    server = start_server(config, None)

    def catalog() -> dict[str, dict[str, object]] | None:
        status, body, _ = fetch(server.url + "api/series")
        assert status == 200
        found = {s["id"]: s for s in json.loads(body)["series"]}
        wanted = {"probe/temperature", "probe/humidity", "ups/battery", "ups/load"}
        return found if wanted <= set(found) else None

    found = wait_until(catalog, what="the commands' series")
    assert found["probe/temperature"]["last_value"] == 21.5
    assert found["ups/battery"]["last_value"] == 87.5
    for src in server.runtime.sources:
        wait_for_state(src, "connected")
    status, body, _ = fetch(server.url + "metrics")
    assert status == 200
    assert 'telemetry_reader_state{kind="command",source="probe",state="connected"} 1.0' in (
        body.decode()
    )


def test_command_failure_shows_in_healthz(tmp_path: Path, start_server: StartServer) -> None:
    config = parse_config(
        '[[command]]\nname = "broken"\nshell = "echo gone >&2; exit 1"\ninterval = "1s"\n',
        env={},
    )
    server = start_server(config, None)
    (src,) = server.runtime.sources
    wait_for_state(src, "disconnected")
    status, body, _ = fetch(server.url + "healthz")
    assert status == 503
    assert "exit status 1: gone" in body.decode()


@pytest.mark.parametrize(
    ("fmt", "output", "expected"),
    [
        ("number", "21.5 °C\n", [("probe/value", 21.5, "°C")]),
        (
            "json",
            '{"temp": 21.5, "rh": 40}\n',
            [("probe/temp", 21.5, None), ("probe/rh", 40.0, None)],
        ),
        (
            "kv",
            "temp=21.5C rh=40\ntemp=21.75C rh=41\n",
            [("probe/temp", 21.75, "°C"), ("probe/rh", 41.0, None)],
        ),
        (
            "csv",
            "temp_C,rh_%\n21.5,40\n",
            [("probe/temp", 21.5, "°C"), ("probe/rh", 40.0, "%")],
        ),
        (
            "influx",
            "ups battery=87.5,load=12\n",
            [("probe/ups.battery", 87.5, None), ("probe/ups.load", 12.0, None)],
        ),
    ],
)
def test_command_output_in_each_format_reads_as_telemetry_parse_reads_it(
    fmt: str, output: str, expected: list[tuple[str, float, str | None]]
) -> None:
    src = command(f'argv = ["/usr/bin/printf", "%s", {json.dumps(output)}]\nformat = "{fmt}"')
    out = Collected()
    assert src.run_once(out.inbox)
    out.payloads()
    normalizer = make_normalizer(LimitsConfig())
    got = [
        (r.series, r.value, r.unit)
        for msg in out.messages
        for r in normalizer.normalize(msg).readings
    ]
    assert got[-len(expected) :] == expected
    # `telemetry parse` reads the command's output as the server does, by its name.
    tool = ParseTool(parse_config(f'[[command]]\nname = "probe"\nargv = ["x"]\nformat = "{fmt}"\n'))
    line = json.dumps({"transport": "serial", "port": "probe", "payload": output})
    (parsed,) = [json.loads(text) for text in tool.run([line])]
    assert [(f"{r['device']}/{r['sensor']}", r["value"], r["unit"]) for r in parsed["readings"]][
        -len(expected) :
    ] == expected
