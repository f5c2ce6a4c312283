"""The serial reader against a simulated device on a real pseudo-terminal."""

from __future__ import annotations

import os
import threading
import time
import tty
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

import devices
from devices.backoff import Backoff
from devices.serial import SerialSource
from simulators.serial import PtyDevice
from telemetry.config import LimitsConfig, SerialConfig
from telemetry.handoff import Inbox
from telemetry.model import RawMessage, Route
from telemetry.normalize import Normalizer
from tests.harness.waiting import wait_for_state, wait_until


class Collected:
    """What a reader handed over, and in how many `put_many` calls."""

    def __init__(self) -> None:
        self.messages: list[RawMessage] = []
        self.inbox = BatchCountingInbox(10_000, on_batch=self.messages.extend)

    def payloads(self) -> list[bytes]:
        self.inbox.drain()
        return [m.payload for m in self.messages]


class BatchCountingInbox(Inbox):
    def __init__(self, capacity: int, on_batch: Callable[[list[RawMessage]], None]) -> None:
        super().__init__(capacity, on_batch)
        self.put_sizes: list[int] = []

    def put_many(self, msgs: Iterable[RawMessage]) -> None:
        batch = list(msgs)
        self.put_sizes.append(len(batch))
        super().put_many(batch)


def make_reader(link: Path, *, max_line: int = 4096, encoding: str = "utf-8") -> SerialSource:
    limits = LimitsConfig(max_line=max_line)
    config = SerialConfig(name="bench", port=str(link), format="number", encoding=encoding)
    return SerialSource(config, limits, backoff=Backoff(base=0.05, cap=0.2))


@pytest.fixture
def collected() -> Collected:
    return Collected()


@pytest.fixture
def reader(serial_device: PtyDevice, collected: Collected) -> Iterator[SerialSource]:
    source = make_reader(serial_device.link)
    source.start(collected.inbox)
    wait_for_state(source, "connected")
    yield source
    source.stop()


def test_serial_reader_hands_over_lines_that_become_readings(
    serial_device: PtyDevice, reader: SerialSource, collected: Collected
) -> None:
    serial_device.write(b"21.5\n22.25 \xc2\xb0C\n")

    wait_until(lambda: len(collected.payloads()) == 2, what="two lines")

    assert collected.payloads() == [b"21.5", "22.25 °C".encode()]
    first = collected.messages[0]
    assert first.route == Route(source="bench", transport="serial", format="number", device="bench")
    assert first.topic == str(serial_device.link)
    assert abs(first.recv_ts - time.time()) < 5
    normalizer = Normalizer()
    readings = [r for m in collected.messages for r in normalizer.normalize(m).readings]
    assert [(r.series, r.value, r.unit) for r in readings] == [
        ("bench/value", 21.5, None),
        ("bench/value", 22.25, "°C"),
    ]
    assert reader.status().received == 2


def test_serial_reader_joins_a_line_split_across_writes(
    serial_device: PtyDevice, reader: SerialSource, collected: Collected
) -> None:
    serial_device.write(b"23.")
    time.sleep(0.3)  # long enough for the reader to take the first half alone
    serial_device.write(b"75\n")

    wait_until(collected.payloads, what="a line")
    assert collected.payloads() == [b"23.75"]


def test_serial_reader_hands_over_the_lines_of_one_read_in_one_batch(
    serial_device: PtyDevice, reader: SerialSource, collected: Collected
) -> None:
    serial_device.write(b"1\n2\n3\n")

    wait_until(lambda: len(collected.payloads()) == 3, what="three lines")
    assert collected.inbox.put_sizes == [3]


def test_serial_reader_skips_empty_lines_and_stray_carriage_returns(
    serial_device: PtyDevice, reader: SerialSource, collected: Collected
) -> None:
    serial_device.write(b"\n\r\n4.5\r\n\n6\n")

    wait_until(lambda: len(collected.payloads()) == 2, what="two lines")
    assert collected.payloads() == [b"4.5", b"6"]


def test_serial_reader_skips_an_over_long_line_and_reads_the_next(
    serial_device: PtyDevice, collected: Collected
) -> None:
    source = make_reader(serial_device.link, max_line=32)
    source.start(collected.inbox)
    try:
        wait_for_state(source, "connected")
        for _ in range(10):  # a line that never seems to end, arriving in pieces
            serial_device.write(b"x" * 20)
            time.sleep(0.01)
        serial_device.write(b"tail of the long line\n1.5\n" + b"y" * 40 + b"\n2.5\n")

        wait_until(lambda: len(collected.payloads()) == 2, what="the two good lines")
        assert collected.payloads() == [b"1.5", b"2.5"]
        assert source.rejected["line_too_long"] == 2
    finally:
        source.stop()


def test_serial_reader_skips_lines_with_nul_bytes(
    serial_device: PtyDevice, reader: SerialSource, collected: Collected
) -> None:
    serial_device.write(b"\x00\x00\xfe boot\n7\n")

    wait_until(collected.payloads, what="the good line")
    assert collected.payloads() == [b"7"]
    assert reader.rejected["nul_bytes"] == 1


def test_serial_reader_transcodes_a_configured_encoding_to_utf8(
    serial_device: PtyDevice, collected: Collected
) -> None:
    source = make_reader(serial_device.link, encoding="latin-1")
    source.start(collected.inbox)
    try:
        wait_for_state(source, "connected")
        serial_device.write(b"19.5 \xb0C\n")
        wait_until(collected.payloads, what="a line")
        assert collected.payloads() == ["19.5 °C".encode()]
    finally:
        source.stop()


def test_serial_reader_reopens_after_unplug_and_replug(
    serial_device: PtyDevice, reader: SerialSource, collected: Collected
) -> None:
    first_pty = serial_device.slave_name
    serial_device.write(b"1\n")
    wait_until(collected.payloads, what="a line before the unplug")

    serial_device.unplug()
    status = wait_for_state(reader, "disconnected")
    assert status.last_error
    assert status.next_attempt is not None and status.next_attempt >= status.since

    serial_device.replug()
    assert serial_device.slave_name != first_pty
    wait_for_state(reader, "connected")
    assert reader.opened_path == serial_device.slave_name
    assert reader.status().last_error is None
    serial_device.write(b"2\n")
    wait_until(lambda: len(collected.payloads()) == 2, what="a line after the replug")
    assert collected.payloads() == [b"1", b"2"]


def test_serial_reader_waits_for_a_port_that_is_not_there_yet(
    tmp_path: Path, collected: Collected
) -> None:
    device = PtyDevice(tmp_path / "late")
    source = make_reader(device.link)
    source.start(collected.inbox)
    try:
        status = wait_for_state(source, "disconnected")
        assert "late" in (status.last_error or "")
        with device:
            wait_for_state(source, "connected")
            device.write(b"3\n")
            wait_until(collected.payloads, what="a line")
    finally:
        source.stop()


def test_serial_reader_opens_its_port_exclusively(
    serial_device: PtyDevice, reader: SerialSource, collected: Collected
) -> None:
    second = make_reader(serial_device.link)
    second.start(collected.inbox)
    try:
        status = wait_for_state(second, "disconnected")
        assert "lock" in (status.last_error or "").lower()
    finally:
        second.stop()


def test_serial_reader_stop_is_bounded_and_releases_the_port(
    serial_device: PtyDevice, collected: Collected
) -> None:
    source = make_reader(serial_device.link)
    source.start(collected.inbox)
    wait_for_state(source, "connected")

    started = time.monotonic()
    source.stop(timeout=1.0)
    assert time.monotonic() - started < 1.0
    assert source.status().state == "stopped"

    again = make_reader(serial_device.link)  # the lock was released
    again.start(collected.inbox)
    try:
        wait_for_state(again, "connected")
    finally:
        again.stop()


def _thread_cpu_seconds(native_id: int) -> float:
    """User plus system CPU time of one thread of this process, from /proc."""
    stat = Path(f"/proc/self/task/{native_id}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_serial_reader_stays_idle_while_unplugged(
    serial_device: PtyDevice, collected: Collected
) -> None:
    # The default backoff, as a user gets it: 0.5 s doubling up to 30 s.
    source = SerialSource(
        SerialConfig(name="bench", port=str(serial_device.link), format="number"),
        LimitsConfig(),
    )
    source.start(collected.inbox)
    try:
        wait_for_state(source, "connected")
        thread = next(t for t in threading.enumerate() if t.name == "serial-bench")
        assert thread.native_id is not None
        serial_device.unplug()
        wait_for_state(source, "disconnected")
        cpu_before, attempts_before = _thread_cpu_seconds(thread.native_id), source.reconnects
        time.sleep(3.0)
        # A few reopen attempts on the backoff's schedule, not a busy loop.
        assert source.reconnects - attempts_before <= 4
        assert _thread_cpu_seconds(thread.native_id) - cpu_before < 0.2
        serial_device.replug()
        wait_for_state(source, "connected", timeout=10)
    finally:
        source.stop()


def test_serial_reader_reopens_when_the_same_pty_comes_back(
    serial_device: PtyDevice, reader: SerialSource, collected: Collected
) -> None:
    first_pty = serial_device.slave_name
    serial_device.unplug()
    wait_for_state(reader, "disconnected")  # the reader has let go of the old pty
    assert serial_device.replug(same=True), "the kernel did not give the same pty back"
    assert serial_device.slave_name == first_pty
    wait_for_state(reader, "connected", timeout=10)
    serial_device.write(b"5\n")
    wait_until(collected.payloads, what="a line after the replug")


def test_serial_reader_pauses_rather_than_drops_when_the_pipeline_is_behind(
    tmp_path: Path,
) -> None:
    # A device that waits for the reader (USB CDC does): blocking writes to the pty.
    master, slave = os.openpty()
    tty.setraw(slave)
    link = tmp_path / "ttyFAST"
    link.symlink_to(os.ttyname(slave))
    lines = [f"{i}\n".encode() for i in range(5_000)]
    writer = threading.Thread(target=lambda: os.write(master, b"".join(lines)), daemon=True)
    collected = Collected()
    source = make_reader(link)
    source.start(collected.inbox)
    try:
        wait_for_state(source, "connected")
        writer.start()
        # Nobody drains the inbox: the reader stops taking lines near its mark, and the
        # rest waits in the pty (a read takes at most its 4 KiB).
        time.sleep(1.0)
        assert len(collected.inbox) <= devices.BACKPRESSURE_AT + 4096 // 2 < 5_000
        got: list[bytes] = []
        deadline = time.monotonic() + 20
        while len(got) < 5_000 and time.monotonic() < deadline:
            got.extend(collected.payloads())
            collected.messages.clear()  # what a pipeline would have taken
            time.sleep(0.01)
        writer.join(5)
        assert collected.inbox.dropped == 0
        assert got == [line.strip() for line in lines]
    finally:
        source.stop()
        os.close(master)
        os.close(slave)
