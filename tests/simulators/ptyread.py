"""Reading a simulated serial device in the tests, with or without pyserial.

pyserial flushes the input when it opens a port, as a real reader does, so
what a device printed before the reader opened is gone.  `RawReader` opens
the link with `os.open` and keeps every byte written since the pty was made
(`PtyDevice` holds the slave open, so the pty buffers): the tests can check
what a device printed at power-up without racing it.
"""

from __future__ import annotations

import errno
import os
import time
from pathlib import Path

import serial

from simulators.serial import PtyDevice
from tests.harness.waiting import wait_until


def open_port(device: PtyDevice) -> serial.Serial:
    return serial.Serial(str(device.link), timeout=0.05, exclusive=True)


def read_until(port: serial.Serial, size: int, timeout: float = 3.0) -> bytes:
    data = b""

    def enough() -> bool:
        nonlocal data
        data += port.read(max(1, port.in_waiting))
        return len(data) >= size

    wait_until(enough, timeout, what=f"{size} bytes")
    return data


class RawReader:
    """The slave end of a pty, read without blocking; `chunks` keeps each read's bytes."""

    def __init__(self, link: Path) -> None:
        self.fd: int | None = os.open(link, os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK)
        self.data = b""
        self.chunks: list[tuple[float, bytes]] = []
        self.unplugged = False

    def poll(self) -> bytes:
        """Read what is there now; on an unplug (EIO, or end of file), close and note it."""
        if self.fd is None:
            return b""
        got = b""
        while True:
            try:
                chunk = os.read(self.fd, 65536)
            except BlockingIOError:
                break
            except OSError as exc:
                if exc.errno != errno.EIO:
                    raise
                self.unplugged = True
                self.close()
                break
            if not chunk:  # no data raises BlockingIOError; end of file is a hang-up
                self.unplugged = True
                self.close()
                break
            got += chunk
        if got:
            self.data += got
            self.chunks.append((time.monotonic(), got))
        return got

    def lines(self, terminator: bytes = b"\n") -> list[bytes]:
        """The complete lines so far, without their terminators."""
        return self.data.split(terminator)[:-1]

    def wait_lines(
        self, count: int, terminator: bytes = b"\n", timeout: float = 5.0
    ) -> list[bytes]:
        def enough() -> list[bytes] | None:
            self.poll()
            found = self.lines(terminator)
            return found if len(found) >= count else None

        return wait_until(enough, timeout, interval=0.002, what=f"{count} lines")

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None
