"""The log beside the snapshot: a header, then one framed record per commit, appended.

    header  "TELMLOG1"  lineage (u64)  base (u64)
    record  tag (u32)  length (u32)  crc32 of the payload (u32)  payload
            payload: seq (u64) + the record's bytes

`lineage` is the id of the snapshot the log belongs to and `base` the sequence
number that snapshot included when the log was (re)started: records follow it,
numbered base + 1, base + 2, ...  Each append is one write of the whole frame
and an `fdatasync`: a commit is on the card once `append` returns.

When a new snapshot is written the log is not replaced: its header is rewritten
in place (`restart`) and records are written again from the start, over the old
ones.  Overwriting blocks the file already has changes no metadata (size,
allocation), so an `fdatasync` then writes the data alone, not a file-system
journal transaction as well (bench/README.md, SD card).  What follows the last
record is then old records: a frame's `tag`, a checksum of the lineage, the
base and the length, tells this log's frames from anything else, which ends it.

A power cut in the middle of an append leaves a frame of this log cut short,
with a payload whose checksum does not match, or zeros: `Scan` stops there,
says so, and the next append overwrites it.  A frame whose first bytes were
not written at all looks like what followed: it is the end, silently.
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
FRAME = struct.Struct("<III")
TAGGED = struct.Struct("<QQI")
SEQ = struct.Struct("<Q")
MAX_RECORD = 1 << 30  # a length past this is garbage, not a record


class UnreadableLog(TelemetryError):
    """The file is not a log this version can read (its header is wrong)."""


def _write_all(fd: int, data: bytes, offset: int) -> None:
    view = memoryview(data)
    while view:
        done = os.pwrite(fd, view, offset)
        view, offset = view[done:], offset + done


def forget(fd: int) -> None:
    """Drop the file's pages from the page cache (they are synced, so clean).

    The log is read at start only, and the snapshot never after it is loaded:
    cached, they would take memory for nothing (the log up to twice the snapshot).
    And on kernels whose page cache holds files in large folios, writing over a
    cached block dirties, and counts as written, its whole folio."""
    if hasattr(os, "posix_fadvise"):
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)


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

    def tag(self, length: int) -> int:
        """What a frame of `length` bytes of this log carries first."""
        return zlib.crc32(TAGGED.pack(self.lineage, self.base, length))


class Log:
    """The log open for appending (one writer: the history's worker thread)."""

    def __init__(self, path: Path, fd: int, header: Header, size: int) -> None:
        self.path = path
        self._fd = fd
        self.header = header
        self.size = size  # where the next record goes

    @classmethod
    def create(cls, path: Path, header: Header) -> Log:
        """A new, empty log at `path`, in place of any file there (written beside it,
        synced, renamed over it)."""
        new = path.with_name(path.name + ".new")
        fd = os.open(new, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            _write_all(fd, HEADER.pack(MAGIC, header.lineage, header.base), 0)
            os.fsync(fd)
            os.replace(new, path)
            sync_directory(path)
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, header, HEADER.size)

    @classmethod
    def open(cls, path: Path, header: Header, size: int) -> Log:
        """The log at `path` to append to after its first `size` bytes (the good part
        a scan found; what follows is overwritten)."""
        fd = os.open(path, os.O_RDWR)
        forget(fd)  # as read by the scan
        return cls(path, fd, header, size)

    def restart(self, header: Header) -> None:
        """Start again from the start, under a new header (written in place): the
        records in the file are no longer this log's."""
        _write_all(self._fd, HEADER.pack(MAGIC, header.lineage, header.base), 0)
        os.fdatasync(self._fd)
        forget(self._fd)
        self.header = header
        self.size = HEADER.size

    def append(self, seq: int, record: bytes) -> int:
        """Write one record and sync it; the bytes it took.  On an error the error is
        raised and the next append goes where this one went."""
        payload = SEQ.pack(seq) + record
        frame = FRAME.pack(self.header.tag(len(payload)), len(payload), zlib.crc32(payload))
        _write_all(self._fd, frame + payload, self.size)
        os.fdatasync(self._fd)
        forget(self._fd)
        self.size += FRAME.size + len(payload)
        return FRAME.size + len(payload)

    def close(self) -> None:
        if self._fd >= 0:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = -1


class Scan:
    """Reading a log from its start: `header`, then `records()` yields (seq, record
    bytes) up to the end of the log; afterwards `end` is where its good part ends,
    and `problem` says what was wrong there, if anything (`dropped` bytes)."""

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
        self.dropped = 0
        self._last = 0  # the size of the frame yielded last

    def _cut(self, problem: str, size: int) -> None:
        self.problem, self.dropped = problem, min(size, self.total - self.end)

    def records(self) -> Iterator[tuple[int, bytes]]:
        while self.end < self.total:
            frame = self._file.read(FRAME.size)
            if len(frame) < FRAME.size:
                self._cut("a record cut short", len(frame))
                return
            tag, length, crc = FRAME.unpack(frame)
            if tag != self.header.tag(length) or length > MAX_RECORD:
                if not any(frame):
                    self._cut("a record of zeros", self.total - self.end)
                return  # not a frame of this log: its end
            payload = self._file.read(length)
            if len(payload) < length:
                self._cut("a record cut short", FRAME.size + len(payload))
                return
            if length < SEQ.size or zlib.crc32(payload) != crc:
                self._cut("a record whose checksum does not match", FRAME.size + length)
                return
            (seq,) = SEQ.unpack_from(payload)
            self._last = FRAME.size + length
            yield seq, payload[SEQ.size :]
            self.end += FRAME.size + length

    def stop(self, problem: str) -> None:
        """The record just yielded is not good either (it does not decode or follow)."""
        self._cut(problem, self._last)
