"""The simulated serial sketches on a real pty: formats, pacing and faults."""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from simulators import signals
from simulators.cli import add_sim_parser
from simulators.firmware import Quantity
from simulators.serial import PtyDevice, SerialFaults, SerialSimulator
from tests.harness.waiting import wait_until
from tests.simulators.ptyread import RawReader
from tests.simulators.test_lines import verify_nmea

CHANNELS = [
    Quantity("temperature", "°C", signals.sine(21.0, 3.0, 60.0, 0.05, 1)),
    Quantity("humidity", "%", signals.random_walk(40.0, 70.0, 0.8, 2), 1),
]
READING = re.compile(r"^-?\d+\.\d+ °C$".encode())  # a number-format temperature line


@contextmanager
def running(device: PtyDevice, **options: object) -> Iterator[tuple[SerialSimulator, RawReader]]:
    """A simulator on `device` with a raw reader that saw everything from the first byte."""
    reader = RawReader(device.link)
    sim = SerialSimulator(device, CHANNELS, **options)  # type: ignore[arg-type]
    sim.start()
    try:
        yield sim, reader
    finally:
        sim.stop()
        reader.close()


def check_number(line: bytes) -> None:
    value, unit = line.decode().split(" ")
    assert float(value) and unit in ("°C", "%")


def check_plotter(line: bytes) -> None:
    pairs = dict(pair.split(":") for pair in line.decode().split(","))
    assert set(pairs) == {"temperature", "humidity"}
    assert all(float(v) for v in pairs.values())


def check_json(line: bytes) -> None:
    assert set(json.loads(line)) == {"temperature", "humidity"}


def check_nmea(line: bytes) -> None:
    verify_nmea(line.decode("ascii"))


CHECKS: dict[str, tuple[Callable[[bytes], None], bytes]] = {
    "number": (check_number, b"\n"),
    "plotter": (check_plotter, b"\n"),
    "json": (check_json, b"\n"),
    "nmea": (check_nmea, b"\r\n"),
}


@pytest.mark.parametrize("fmt", sorted(CHECKS))
def test_serial_simulator_prints_its_format_through_the_pty(
    serial_device: PtyDevice, fmt: str
) -> None:
    check, terminator = CHECKS[fmt]
    with running(serial_device, rate_hz=50.0, format=fmt) as (_, reader):
        lines = reader.wait_lines(6, terminator)
    for line in lines:
        check(line)


def test_serial_simulator_prints_the_csv_header_first(serial_device: PtyDevice) -> None:
    with running(serial_device, rate_hz=50.0, format="csv") as (_, reader):
        header, *rows = reader.wait_lines(4)
    assert header == b"temperature,humidity"
    assert all(len(row.split(b",")) == 2 for row in rows)
    assert b"temperature,humidity" not in rows


def test_serial_simulator_prints_the_csv_header_again_after_a_replug(
    serial_device: PtyDevice,
) -> None:
    with running(serial_device, rate_hz=50.0, format="csv") as (_, reader):
        reader.wait_lines(3)
        serial_device.replug()
        after = RawReader(serial_device.link)  # the pty keeps what the sketch printed
        try:
            header, *rows = after.wait_lines(3)
        finally:
            after.close()
    assert header == b"temperature,humidity"
    assert rows and b"temperature,humidity" not in rows


def test_serial_simulator_unplugs_and_replugs_itself_behind_the_same_link(
    serial_device: PtyDevice,
) -> None:
    faults = SerialFaults(unplug_every=0.3, unplugged_for=0.3, same_pty=True)
    with running(serial_device, rate_hz=50.0, format="csv", faults=faults) as (sim, reader):
        wait_until(lambda: reader.poll() is not None and reader.unplugged, what="an unplug")
        wait_until(serial_device.link.is_symlink, what="plugged in again")
        again = RawReader(serial_device.link)
        try:
            header, *_ = again.wait_lines(2)
        finally:
            again.close()
    assert header == b"temperature,humidity"
    assert sim.injected["unplug"] >= 1
    # Whether the number came back depends on other processes taking ptys meanwhile;
    # `test_pty_device_replug_same_*` pin that down.  The link always follows.
    assert os.path.realpath(serial_device.link) == serial_device.slave_name


def test_serial_simulator_paces_lines_at_the_baud_rate(serial_device: PtyDevice) -> None:
    baud = 2400  # 240 bytes a second: about 24 number lines, not the 200 asked for
    reader = RawReader(serial_device.link)
    sim = SerialSimulator(serial_device, CHANNELS[:1], rate_hz=200.0, baud=baud)
    started = time.monotonic()
    sim.start()
    try:
        wait_until(lambda: reader.poll() is not None and len(reader.data) >= 240, timeout=5)
        elapsed = time.monotonic() - started
        received = len(reader.data)
    finally:
        sim.stop()
        reader.close()
    allowed = elapsed * baud / 10
    assert received <= allowed + 5  # one slice of wire time may be under way
    assert elapsed >= 0.8  # 240 bytes cannot come sooner than a second at 2400 baud
    assert sim.seconds_for(10) == pytest.approx(10 * 10 / baud)


def test_serial_simulator_garbage_comes_between_intact_lines(serial_device: PtyDevice) -> None:
    faults = SerialFaults(garbage=0.5)
    with running(serial_device, rate_hz=100.0, faults=faults, seed=3) as (sim, reader):
        wait_until(lambda: len(sim.injected) == 3, what="every kind of garbage")
        lines = reader.wait_lines(sim.lines)
    good = [line for line in lines if READING.match(line)]
    bad = [line for line in lines if not READING.match(line) and line.strip(b"\r")]
    assert len(good) >= sim.lines - 2  # every reading intact, but perhaps the last ones
    assert any(b"\x00" in line for line in bad)
    assert any(line.startswith(b"rst:0x1 (POWERON_RESET)") for line in bad)
    assert any(any(byte >= 0x80 for byte in line) and b"\xc2\xb0" not in line for line in bad)


def test_serial_simulator_split_lines_arrive_in_pieces(serial_device: PtyDevice) -> None:
    faults = SerialFaults(split=1.0, split_pause=0.05)
    with running(serial_device, rate_hz=5.0, format="plotter", faults=faults) as (sim, reader):
        lines = reader.wait_lines(3)
    assert sim.injected["split"] >= 3
    assert any(not chunk.endswith(b"\n") for _, chunk in reader.chunks)
    for line in lines:
        check_plotter(line)


def test_serial_simulator_endless_line_swallows_the_next_and_then_lines_resume(
    serial_device: PtyDevice,
) -> None:
    faults = SerialFaults(endless=0.3)
    with running(serial_device, rate_hz=50.0, faults=faults, seed=1) as (sim, reader):
        wait_until(lambda: sim.injected.get("endless", 0) >= 1, what="an endless line")
        count = sim.lines + 3
        lines = reader.wait_lines(count)
    long_lines = [i for i, line in enumerate(lines) if len(line) >= 4096]
    assert long_lines
    assert all(re.fullmatch(rb"[0-9.,-]{4096}.*", lines[i], re.DOTALL) for i in long_lines)
    assert any(READING.match(line) for line in lines[long_lines[0] + 1 :])


def test_serial_simulator_skips_lines_in_a_dropout(serial_device: PtyDevice) -> None:
    gappy = signals.dropouts(signals.constant(1.0), rate=1000.0, length=1000.0, seed=0)
    sim = SerialSimulator(serial_device, gappy, rate_hz=100.0, format="json")
    reader = RawReader(serial_device.link)
    sim.start()
    try:
        wait_until(lambda: sim.lines >= 1, what="the first line")
        time.sleep(0.1)  # room for lines that must not come
        reader.poll()
    finally:
        sim.stop()
        reader.close()
    assert reader.lines() == [b'{"value":1.0}']
    assert sim.lines == 1


def test_serial_faults_refuse_shares_outside_zero_to_one() -> None:
    with pytest.raises(ValueError, match="garbage"):
        SerialFaults(garbage=1.5)


def test_sim_serial_command_takes_format_baud_and_faults(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    parser = argparse.ArgumentParser()
    add_sim_parser(parser.add_subparsers(dest="command"))
    link = tmp_path / "gps"
    args = parser.parse_args(
        ["sim", "serial", "--link", str(link), "--format", "nmea", "--baud", "9600",
         "--rate", "20", "--duration", "0.5", "--garbage", "0.3", "--split", "0.3",
         "--endless-line", "0.1", "--unplug-every", "10", "--same-pty"]
    )  # fmt: skip
    assert args.func(args) == 0
    out = capsys.readouterr().out
    assert "wrote" in out
    assert "faults:" in out
    assert not link.exists()


@pytest.mark.parametrize("option", ["--garbage", "--split", "--endless-line"])
def test_sim_serial_command_refuses_a_share_above_one(tmp_path: Path, option: str) -> None:
    parser = argparse.ArgumentParser()
    add_sim_parser(parser.add_subparsers(dest="command"))
    with pytest.raises(SystemExit):
        parser.parse_args(["sim", "serial", "--link", str(tmp_path / "x"), option, "2"])
