"""The simulated serial device: a real pseudo-terminal behind a symlink."""

from __future__ import annotations

import argparse
import os
import threading
import time
from pathlib import Path

import pytest
import serial

from simulators import signals
from simulators.cli import add_sim_parser, run_sim
from simulators.serial import PtyDevice, SerialSimulator
from tests.harness.waiting import wait_until
from tests.simulators.ptyread import RawReader, open_port, read_until


def test_pty_device_passes_bytes_unchanged(serial_device: PtyDevice) -> None:
    sent = b"21.5\r\n\x00\xff\x03\x1a\n"
    with open_port(serial_device) as port:
        assert serial_device.write(sent) == len(sent)
        assert read_until(port, len(sent)) == sent


def test_pty_device_link_points_at_its_pty(serial_device: PtyDevice) -> None:
    assert serial_device.link.is_symlink()
    assert os.path.realpath(serial_device.link) == serial_device.slave_name


def test_pty_device_unplug_fails_the_reader_and_removes_the_link(
    serial_device: PtyDevice,
) -> None:
    with open_port(serial_device) as port:
        serial_device.unplug()
        assert not serial_device.link.exists()
        with pytest.raises(serial.SerialException):
            port.read(1)


def test_pty_device_replug_moves_the_link_to_a_new_pty(serial_device: PtyDevice) -> None:
    first = serial_device.slave_name
    serial_device.unplug()
    serial_device.replug()

    assert serial_device.slave_name != first
    assert os.path.realpath(serial_device.link) == serial_device.slave_name
    with open_port(serial_device) as port:
        serial_device.write(b"ok\n")
        assert read_until(port, 3) == b"ok\n"


def test_pty_device_replug_same_gets_the_old_number_back_once_the_reader_let_go(
    serial_device: PtyDevice,
) -> None:
    first = serial_device.slave_name
    reader = RawReader(serial_device.link)
    serial_device.unplug()
    reader.close()

    assert serial_device.replug(same=True)
    assert serial_device.slave_name == first
    assert os.path.realpath(serial_device.link) == first


def test_pty_device_replug_same_falls_back_to_a_new_pty_while_the_reader_holds_the_old(
    serial_device: PtyDevice,
) -> None:
    first = serial_device.slave_name
    reader = RawReader(serial_device.link)
    try:
        serial_device.unplug()
        assert not serial_device.replug(same=True)
        assert serial_device.slave_name != first
        assert serial_device.plugged
    finally:
        reader.close()


def test_pty_device_counts_its_plug_ins(serial_device: PtyDevice) -> None:
    assert serial_device.generation == 1
    serial_device.replug()
    assert serial_device.generation == 2


def test_pty_device_drops_instead_of_blocking_when_nobody_reads(
    serial_device: PtyDevice,
) -> None:
    started = time.monotonic()
    for _ in range(100):
        serial_device.write(b"x" * 1000)
    assert time.monotonic() - started < 2.0
    assert serial_device.dropped > 0
    assert serial_device.written + serial_device.dropped == 100_000


def test_pty_device_refuses_to_replace_a_real_file(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.write_text("keep me")
    with pytest.raises(FileExistsError):
        PtyDevice(precious).open()
    assert precious.read_text() == "keep me"


def test_serial_simulator_writes_one_number_per_line(serial_device: PtyDevice) -> None:
    sim = SerialSimulator(serial_device, signals.sawtooth(0.0, 10.0, 60.0), rate_hz=50.0, unit="V")
    with open_port(serial_device) as port:
        sim.start()
        try:
            data = read_until(port, 60)
        finally:
            sim.stop()
    lines = data.split(b"\n")[:-1]
    assert len(lines) >= 3
    for line in lines:
        number, unit = line.decode().split(" ")
        assert 0.0 <= float(number) <= 10.0
        assert unit == "V"


def test_sim_serial_command_runs_for_its_duration_and_cleans_up(tmp_path: Path) -> None:
    parser = argparse.ArgumentParser()
    add_sim_parser(parser.add_subparsers(dest="command"))
    link = tmp_path / "arduino"
    args = parser.parse_args(
        ["sim", "serial", "--link", str(link), "--rate", "20", "--duration", "0.3"]
    )
    results: list[int] = []
    runner = threading.Thread(target=lambda: results.append(args.func(args)))
    runner.start()
    wait_until(link.is_symlink, what="the link exists while running")
    runner.join(5)

    assert results == [0]
    assert args.func is run_sim
    assert not link.exists()
