"""The serial reader: one port, one thread, lines handed over in batches.

The thread opens the port (exclusively, so two readers never share it), reads
what has arrived, cuts it into lines on the configured terminator and hands
each read's lines to the inbox in one call.  A line split across reads is kept
until its terminator comes; a line longer than `limits.max_line` is counted and
skipped up to the next terminator, so the first good line after it is read.

An unplugged adapter shows as `SerialException`/`OSError`: the port is closed,
the reader reports "disconnected" and opens it again after a jittered backoff.
The configured path is resolved anew at each open because `/dev/serial/by-id`
links move to another `/dev/ttyUSB*` when the adapter comes back.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections import Counter

import serial

from devices import ReconnectingSource, count_rejection
from devices.backoff import Backoff
from telemetry.config import LimitsConfig, SerialConfig
from telemetry.handoff import Inbox
from telemetry.model import RawMessage

logger = logging.getLogger(__name__)

# A read returns after this long when nothing arrived.  A stop interrupts it at
# once (`_wake`: pyserial's `cancel_read`), so an idle port need not be polled.
READ_TIMEOUT = 5.0

TERMINATORS = {"LF": b"\n", "CR": b"\r", "CRLF": b"\r\n"}
PARITIES = {
    "N": serial.PARITY_NONE,
    "E": serial.PARITY_EVEN,
    "O": serial.PARITY_ODD,
    "M": serial.PARITY_MARK,
    "S": serial.PARITY_SPACE,
}


class LineSplitter:
    """Cuts a byte stream into lines, capped at `max_line` bytes each.

    Stray CR and LF around a line are dropped too: a device printing CRLF on a
    port configured for LF (Arduino's `println`) still gives clean lines.
    """

    def __init__(self, terminator: bytes, max_line: int, rejected: Counter[str]) -> None:
        self.terminator = terminator
        self.max_line = max_line
        self.rejected = rejected
        self._pending = b""
        self._skipping = False  # inside an over-long line, until its terminator

    def feed(self, data: bytes) -> list[bytes]:
        parts = (self._pending + data).split(self.terminator)
        self._pending = parts.pop()
        lines = []
        for part in parts:
            if self._skipping:  # the tail of a line already counted as too long
                self._skipping = False
                continue
            line = part.strip(b"\r\n")
            if len(line) > self.max_line:
                self._too_long(len(line))
            elif line:
                lines.append(line)
        if len(self._pending) > self.max_line + len(self.terminator):
            if not self._skipping:
                self._too_long(len(self._pending))
            self._skipping = True
            # Keep what could be the start of a terminator split across reads.
            self._pending = self._pending[len(self._pending) - len(self.terminator) + 1 :]
        return lines

    def _too_long(self, size: int) -> None:
        count_rejection(
            self.rejected,
            logger,
            "line_too_long",
            "a line of %d+ bytes; the limit is %d",
            size,
            self.max_line,
        )

    def reset(self) -> None:
        """Forget a partial line: after a reopen it cannot be completed."""
        self._pending, self._skipping = b"", False


class SerialSource(ReconnectingSource):
    """Reads the lines of one serial port into an `Inbox`."""

    kind = "serial"

    def __init__(
        self, cfg: SerialConfig, limits: LimitsConfig, *, backoff: Backoff | None = None
    ) -> None:
        if cfg.terminator not in TERMINATORS or cfg.parity not in PARITIES:
            raise ValueError(
                f"serial {cfg.name!r}: terminator {cfg.terminator!r} or parity "
                f"{cfg.parity!r} is unknown; expected one of {list(TERMINATORS)} "
                f"and one of {list(PARITIES)}"
            )
        super().__init__(cfg.name, backoff)
        self.cfg = cfg
        self.limits = limits
        self.route = cfg.route
        self.opened_path: str | None = None  # the device the configured path resolved to
        self._splitter = LineSplitter(TERMINATORS[cfg.terminator], limits.max_line, self.rejected)
        self._port: serial.Serial | None = None  # the open port, for `_wake`

    def _run(self, inbox: Inbox) -> None:
        while not self._stopping:
            self._connecting()
            try:
                port = self._open()
            except (serial.SerialException, OSError, ValueError) as exc:
                self._retry(f"cannot open {self.cfg.port!r}: {exc}")
                continue
            self._port = port
            self._connected()
            logger.info("serial %r: opened %r", self.cfg.name, self.opened_path)
            try:
                self._read(port, inbox)
            except (serial.SerialException, OSError) as exc:
                lost: str | None = f"lost {self.cfg.port!r}: {exc}"
            else:  # stopped
                lost = None
            finally:
                self._port = None
                port.close()  # before any wait: an unplugged device must be released
            if lost is not None:
                self._retry(lost)

    def _wake(self) -> None:
        port = self._port
        if port is not None:
            with contextlib.suppress(Exception):  # closed meanwhile: the read is over
                port.cancel_read()

    def _open(self) -> serial.Serial:
        cfg = self.cfg
        path = os.path.realpath(cfg.port)
        port = serial.Serial(
            port=path,
            baudrate=cfg.baudrate,
            bytesize=cfg.bytesize,
            parity=PARITIES[cfg.parity],
            stopbits=cfg.stopbits,
            timeout=READ_TIMEOUT,
            exclusive=True,
        )
        self.opened_path = path
        self._splitter.reset()
        return port

    def _read(self, port: serial.Serial, inbox: Inbox) -> None:
        route, topic = self.route, self.cfg.port
        transcode = self.cfg.encoding.lower().replace("_", "-") not in ("utf-8", "utf8")
        while not self._stopping:
            self._wait_for_room(inbox)
            # Wait (up to the timeout) for one byte, then take whatever else is there.
            data = port.read(1)
            if not data:
                continue
            waiting = port.in_waiting
            if waiting:
                data += port.read(waiting)
            now = time.time  # each line its own time: a read's lines stay apart in a series
            batch = []
            for raw in self._splitter.feed(data):
                if b"\x00" in raw:  # a reset or a wrong baud rate: never a reading
                    count_rejection(
                        self.rejected,
                        logger,
                        "nul_bytes",
                        "serial %r: line %r has NUL bytes",
                        self.cfg.name,
                        raw[:40],
                    )
                    continue
                line = raw
                if transcode:  # the normalizer reads UTF-8
                    line = raw.decode(self.cfg.encoding, errors="replace").encode("utf-8")
                batch.append(RawMessage(route, topic, line, now()))
            if batch:
                inbox.put_many(batch)
                self.received += len(batch)
