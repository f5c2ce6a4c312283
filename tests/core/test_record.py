"""The recorder's file: every raw message kept and read back, size-capped and rotated."""

from __future__ import annotations

import asyncio
import dataclasses
import errno
import gzip
import json
import os
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.config import Config, RecordConfig
from telemetry.model import RawMessage, Route
from telemetry.record import Recorder, decode, encode, left_unclosed, read_session, rotated
from telemetry.runtime import Runtime
from tests.harness.waiting import wait_until

MQTT = Route("home", "mqtt", "auto", "tele/{device}/SENSOR", precision="ms", prefix="x.")
SERIAL = Route("bench", "serial", "csv", device="bench", time="receive")


def test_record_line_is_what_parse_reads_with_the_route_added() -> None:
    line = encode(RawMessage(SERIAL, "/dev/ttyUSB0", b"t,21.5", 1765090000.25))
    assert line == {
        "received": 1765090000.25,
        "source": "bench",
        "transport": "serial",
        "port": "/dev/ttyUSB0",
        "payload": "t,21.5",
        "route": {"format": "csv", "device": "bench", "time": "receive"},
    }


@settings(max_examples=200)
@given(
    payload=st.binary(max_size=64),
    topic=st.text(min_size=1, max_size=20),  # lone surrogates included
    when=st.floats(0, 4e9),
    route=st.sampled_from([MQTT, SERIAL, Route("http", "http", "influx", precision="s")]),
)
def test_record_round_trips_any_message(
    payload: bytes, topic: str, when: float, route: Route
) -> None:
    msg = RawMessage(route, topic, payload, when)
    text = json.dumps(encode(msg), ensure_ascii=False)
    assert decode(json.loads(text)) == msg


def test_recorder_writes_and_reads_back_in_order(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl.gz"
    recorder = Recorder(path, max_size=1024**2, keep=2)
    recorder.start()
    sent = [RawMessage(MQTT, f"tele/d{i}/SENSOR", b'{"T":%d}' % i, 1000.0 + i) for i in range(300)]
    sent.append(RawMessage(SERIAL, "bench", b"\xff\xfe not utf-8", 2000.0))
    sent.append(RawMessage(MQTT, "lone \ud800 surrogate, °C", "ünïcode".encode(), 2001.0))
    recorder.submit(sent[:100])
    recorder.submit(sent[100:])
    recorder.stop()
    assert recorder.written == len(sent) and recorder.dropped == 0
    assert list(read_session(path)) == sent


def test_recorder_appends_after_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl.gz"
    for i in range(2):
        recorder = Recorder(path, max_size=1024**2, keep=1)
        recorder.start()
        recorder.submit([RawMessage(MQTT, "t", b"%d" % i, float(i))])
        recorder.stop()
    assert [m.payload for m in read_session(path)] == [b"0", b"1"]


@pytest.mark.parametrize("cut", [0, 40], ids=["at-a-flush", "mid-write"])
def test_recorder_restarted_after_a_power_cut_keeps_both_sessions_readable(
    tmp_path: Path, cut: int
) -> None:
    path = tmp_path / "session.jsonl.gz"
    before = [RawMessage(MQTT, "t", b"before %d" % i, float(i)) for i in range(100)]
    after = [RawMessage(MQTT, "t", b"after %d" % i, 1000.0 + i) for i in range(50)]
    recorder = Recorder(path, max_size=1024**2, keep=2)
    recorder.start()
    recorder.submit(before)
    wait_until(lambda: len(list(read_session(path))) == 100, what="the batch on disk")
    crashed = path.read_bytes()  # what a power cut leaves: the gzip member never ended
    recorder.stop()
    path.write_bytes(crashed[: len(crashed) - cut])
    recorder = Recorder(path, max_size=1024**2, keep=2)
    recorder.start()
    recorder.submit(after)
    recorder.stop()
    errors: list[str] = []
    assert list(read_session(path, errors)) == after
    assert errors == []
    older = list(read_session(rotated(path, 1), errors))  # the readable part, set aside
    assert older == before[: len(older)] and len(older) >= (100 if cut == 0 else 90)
    assert len(errors) == 1 and "cut short" in errors[0]


def test_recorder_start_does_not_wait_for_the_check_of_its_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Checking reads the whole file (up to max_size, 64GiB allowed): a slow read
    # must not hold the server's start.
    release = threading.Event()

    def slow_check(path: Path) -> bool:
        release.wait(10)
        return False

    monkeypatch.setattr("telemetry.record.left_unclosed", slow_check)
    path = tmp_path / "session.jsonl.gz"
    recorder = Recorder(path, max_size=1024**2, keep=2)
    started = time.monotonic()
    recorder.start()
    assert time.monotonic() - started < 5
    recorder.submit([RawMessage(MQTT, "t", b"1", 1.0)])
    release.set()
    recorder.stop()
    assert [m.payload for m in read_session(path)] == [b"1"]


def test_recorder_checks_only_a_regular_file_for_a_cut() -> None:
    # /dev/zero reads as a gzip stream broken at once: rotating it would rename
    # the device (the recorder may run as root).
    assert not left_unclosed(Path("/dev/zero"))
    assert not left_unclosed(Path("/dev/null"))


def test_recorder_rotates_at_its_size_and_keeps_n_files(tmp_path: Path) -> None:
    path = tmp_path / "session.jsonl.gz"
    # Random payloads: compress badly, so the files fill; a restart now and then.
    for batch in range(20):
        recorder = Recorder(path, max_size=8 * 1024, keep=2)
        recorder.start()
        recorder.submit(
            [
                RawMessage(MQTT, "t", os.urandom(200).hex().encode(), batch * 100.0 + i)
                for i in range(50)
            ]
        )
        recorder.stop()
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["session.1.jsonl.gz", "session.2.jsonl.gz", "session.jsonl.gz"]
    for name in files:
        # A file ends within zlib's buffer of the cap (checked per message written).
        assert (tmp_path / name).stat().st_size < 8 * 1024 + 20 * 1024
    # The rotated files are whole, in order: the newest rotated holds times just
    # before the current file's.
    older = list(read_session(rotated(path, 2)))
    newer = list(read_session(rotated(path, 1)))
    current = list(read_session(path))
    assert older and newer and current
    assert older[-1].recv_ts < newer[0].recv_ts and newer[-1].recv_ts < current[0].recv_ts


def test_recorder_queue_is_bounded_and_counts_drops(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "s.jsonl.gz", max_size=1024**2, keep=0, queue=10)
    recorder.submit([RawMessage(MQTT, "t", b"1", float(i)) for i in range(25)])
    assert recorder.dropped == 15


def test_read_session_survives_a_file_cut_short(tmp_path: Path) -> None:
    path = tmp_path / "cut.jsonl.gz"
    lines = b"".join(
        json.dumps(encode(RawMessage(MQTT, "t", b"%d" % i, float(i)))).encode() + b"\n"
        for i in range(200)
    )
    data = gzip.compress(lines + b"not json\n")
    path.write_bytes(data[: len(data) // 2])
    errors: list[str] = []
    got = list(read_session(path, errors))
    assert 0 < len(got) < 200
    assert errors and "cut short" in errors[-1]
    whole = tmp_path / "whole.jsonl.gz"
    whole.write_bytes(data)
    errors = []
    assert len(list(read_session(whole, errors))) == 200
    assert errors == [f"{whole}:201: Expecting value: line 1 column 1 (char 0)"]


@pytest.mark.parametrize(
    "corrupted",
    [
        '{"received": NaN, "source": "s", "transport": "mqtt", "topic": "t", "payload": "1"}',
        '{"received": "inf", "source": "s", "transport": "mqtt", "topic": "t", "payload": "1"}',
        '{"received": 1e999, "source": "s", "transport": "mqtt", "topic": "t", "payload": "1"}',
        '{"received": 1, "source": "s", "transport": "mqtt", "topic": "t", "payload": "1", '
        '"route": {"device": ["x"]}}',
        '{"received": 1, "source": "s", "transport": "mqtt", "topic": "t", "payload": "1", '
        '"route": {"template": 7}}',
        '{"received": 1, "source": "s", "transport": "mqtt", "topic": "t", "payload": "1", '
        '"route": {"radio": "yes"}}',
        "[" * 100_000,
    ],
    ids=["nan", "inf-text", "overflow", "list-device", "number-template", "text-radio", "deep"],
)
def test_read_session_skips_a_corrupted_line_and_reads_on(tmp_path: Path, corrupted: str) -> None:
    path = tmp_path / "corrupted.jsonl.gz"
    good = [RawMessage(MQTT, "t", b"%d" % i, float(i)) for i in range(2)]
    lines = [json.dumps(encode(good[0])), corrupted, json.dumps(encode(good[1]))]
    path.write_bytes(gzip.compress("\n".join(lines).encode() + b"\n"))
    errors: list[str] = []
    assert list(read_session(path, errors)) == good
    assert len(errors) == 1 and errors[0].startswith(f"{path}:2: ")


def test_read_session_stops_at_a_read_error_and_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "bad-sector.jsonl.gz"
    sent = [RawMessage(MQTT, "t", b"%d" % i, float(i)) for i in range(2000)]
    path.write_bytes(gzip.compress(b"".join(json.dumps(encode(m)).encode() + b"\n" for m in sent)))
    read1 = gzip.GzipFile.read1
    calls = 0

    def failing(self: gzip.GzipFile, size: int = -1) -> bytes:  # an SD card's bad sector
        nonlocal calls
        calls += 1
        if calls > 1:
            raise OSError(errno.EIO, "Input/output error")
        return read1(self, size)

    monkeypatch.setattr(gzip.GzipFile, "read1", failing)
    errors: list[str] = []
    got = list(read_session(path, errors))
    assert 0 < len(got) < 2000 and got == sent[: len(got)]
    assert errors == [f"{path}: cut short after line {len(got)}: [Errno 5] Input/output error"]


def test_recorder_that_cannot_write_does_not_stop_the_server(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    config = dataclasses.replace(Config(), record=RecordConfig(file=str(blocker / "s.jsonl.gz")))
    runtime = Runtime(config)

    async def run() -> None:
        await runtime.start()
        await runtime.stop()

    asyncio.run(run())
    assert runtime.recorder is None
