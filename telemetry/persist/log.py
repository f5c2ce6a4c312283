"""The log beside the snapshot: a header, then one framed record per commit, appended.

    header  "TELMLOG1"  lineage (u64)  base (u64)
    record  length (u32)  crc32 of the payload (u32)  payload: seq (u64) + record bytes

`lineage` is the id of the snapshot the log belongs to and `base` the sequence
number that snapshot included when the log was started: records follow it,
numbered base + 1, base + 2, ...  Each append is one write of the whole frame and
an `fdatasync`: a commit is on the card once `append` returns.  A power cut in
the middle of one leaves a frame cut short (or, on some file systems, padded
with zeros): `Scan` stops at the first frame that is incomplete or whose CRC
does not match, and says where the good part ends.  A new log is written
beside the old one and renamed over it, so there is always one whole header.
"""

from __future__ import annotations

import contextlib
import os
import struct
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from telemetry.errors import TelemetryError

HEADER = struct.Struct("<8sQQ")
MAGIC = b"TELMLOG1"
FRAME = struct.Struct("<II")
SEQ = struct.Struct("<Q")
MAX_RECORD = 1 << 30  # a length past this is garbage, not a record


class UnreadableLog(TelemetryError):
    """The file is not a log this version can read (its header is wrong)."""


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def sync_directory(path: Path) -> None:
    """Make a rename in `path`'s directory survive a power cut."""
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class Header:
    lineage: int
    base: int


class Log:
    """The log open for appending (one writer: the history's worker thread)."""

    def __init__(self, path: Path, fd: int, size: int) -> None:
        self.path = path
        self._fd = fd
        self.size = size

    @classmethod
    def create(cls, path: Path, header: Header) -> Log:
        """A new, empty log at `path`, in place of any log there (written beside it,
        synced, renamed over it)."""
        new = path.with_name(path.name + ".new")
        fd = os.open(new, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, HEADER.pack(MAGIC, header.lineage, header.base))
            os.fsync(fd)
            os.replace(new, path)
            sync_directory(path)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, HEADER.size)

    @classmethod
    def open(cls, path: Path, size: int) -> Log:
        """The log at `path` to append to after its first `size` bytes (the good part
        a scan found); anything after them is cut off."""
        fd = os.open(path, os.O_WRONLY)
        try:
            if os.fstat(fd).st_size != size:
                os.ftruncate(fd, size)
                os.fsync(fd)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, size)

    def append(self, seq: int, record: bytes) -> int:
        """Write one record and sync it; the bytes it took.  On an error the log is cut
        back to where it was (as far as the disk allows) and the error raised."""
        payload = SEQ.pack(seq) + record
        frame = FRAME.pack(len(payload), zlib.crc32(payload)) + payload
        try:
            os.lseek(self._fd, self.size, os.SEEK_SET)
            _write_all(self._fd, frame)
            os.fdatasync(self._fd)
        except OSError:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, self.size)
            raise
        self.size += len(frame)
        return len(frame)

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class Scan:
    """Reading a log from its start: `header`, then `records()` yields (seq, record
    bytes) up to the first bad frame; afterwards `end` is where the good part ends,
    `dropped` how many bytes follow it and `problem` what was wrong there."""

    def __init__(self, file: BinaryIO) -> None:
        self._file = file
        self.total = os.fstat(file.fileno()).st_size
        head = file.read(HEADER.size)
        if len(head) < HEADER.size:
            raise UnreadableLog(f"its header is cut short ({len(head)} bytes)")
        magic, lineage, base = HEADER.unpack(head)
        if magic != MAGIC:
            raise UnreadableLog("it does not start as a telemetry history log")
        self.header = Header(lineage, base)
        self.end = HEADER.size
        self.problem = ""

    @property
    def dropped(self) -> int:
        return self.total - self.end

    def records(self) -> Iterator[tuple[int, bytes]]:
        while self.end < self.total:
            frame = self._file.read(FRAME.size)
            if len(frame) < FRAME.size:
                self.problem = "a record cut short"
                return
            length, crc = FRAME.unpack(frame)
            if not SEQ.size <= length <= min(MAX_RECORD, self.total - self.end - FRAME.size):
                self.problem = (
                    "a record cut short" if length >= SEQ.size else "a record of no length"
                )
                return
            payload = self._file.read(length)
            if len(payload) < length:
                self.problem = "a record cut short"
                return
            if zlib.crc32(payload) != crc:
                self.problem = "a record whose checksum does not match"
                return
            (seq,) = SEQ.unpack_from(payload)
            yield seq, payload[SEQ.size :]
            self.end += FRAME.size + length

    def stop(self, problem: str) -> None:
        """The record just yielded is not good either (it does not decode or follow)."""
        self.problem = problem
