"""Simulated serial devices on pseudo-terminals, for the demo and the tests.

A `PtyDevice` is the device end (the pty master) of a pseudo-terminal whose
other end (the slave, `/dev/pts/N`) the serial reader opens like a USB
adapter, through a symlink that plays `/dev/serial/by-id/...`.  `unplug()`
closes the pty, so the reader's next read fails as with a pulled cable;
`replug()` makes a new pty with another number and moves the link to it, as an
adapter that comes back as another `/dev/ttyUSB*` does.

Writes never block: a pty whose slave nobody reads holds only a few KiB, and a
device does not wait for a reader either.  What does not fit is dropped and
counted in `dropped` (bytes).
"""

from __future__ import annotations

import logging
import os
import threading
import tty
from pathlib import Path

from simulators import signals
from telemetry.threads import Worker

logger = logging.getLogger(__name__)


class PtyDevice:
    """One simulated serial device, reachable through the symlink `link`."""

    def __init__(self, link: str | os.PathLike[str]) -> None:
        self.link = Path(link)
        self.written = 0
        self.dropped = 0
        self._master: int | None = None
        self._slave: int | None = None
        self._slave_name: str | None = None
        self._last_name: str | None = None  # so a replug gets a different pty
        self._lock = threading.Lock()  # writes from a simulator thread, unplug from another

    @property
    def slave_name(self) -> str:
        """The pty the link points at now (`/dev/pts/N`)."""
        if self._slave_name is None:
            raise RuntimeError(f"simulated device {self.link} is not plugged in")
        return self._slave_name

    @property
    def plugged(self) -> bool:
        return self._master is not None

    def open(self) -> PtyDevice:
        """Create the pty and the link ("plug in"); return self."""
        if self.link.exists() and not self.link.is_symlink():
            # Never replace a real file or device someone named by mistake.
            raise FileExistsError(f"{self.link} exists and is not a symlink; expected a free path")
        with self._lock:
            if self._master is None:
                self._plug(avoid=None)
        return self

    def write(self, data: bytes) -> int:
        """Write what fits without blocking; return how many bytes went out."""
        with self._lock:
            if self._master is None:
                self.dropped += len(data)
                return 0
            sent = 0
            try:
                while sent < len(data):
                    sent += os.write(self._master, data[sent:])
            except BlockingIOError:  # the reader is not keeping up, or absent
                pass
            self.written += sent
            self.dropped += len(data) - sent
            return sent

    def write_line(self, text: str, terminator: bytes = b"\n") -> int:
        return self.write(text.encode("utf-8") + terminator)

    def unplug(self) -> None:
        """Close the pty and remove the link: the reader sees an I/O error."""
        with self._lock:
            self._unplug()

    def replug(self) -> None:
        """Plug in again on a new pty (another number) and move the link to it."""
        with self._lock:
            self._unplug()
            self._plug(avoid=self._last_name)

    def close(self) -> None:
        self.unplug()

    def __enter__(self) -> PtyDevice:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _plug(self, avoid: str | None) -> None:
        master, slave = os.openpty()
        if avoid is not None and os.ttyname(slave) == avoid:
            # The kernel reuses the lowest free number; hold this one to get another.
            held = (master, slave)
            master, slave = os.openpty()
            os.close(held[0])
            os.close(held[1])
        tty.setraw(slave)  # bytes pass unchanged: no echo, no CR/LF translation
        os.set_blocking(master, False)
        self._master, self._slave = master, slave
        self._slave_name = os.ttyname(slave)
        # Replace the link atomically: a reader never sees it missing while plugged.
        temporary = self.link.with_name(f".{self.link.name}.new")
        temporary.unlink(missing_ok=True)
        temporary.symlink_to(self._slave_name)
        temporary.replace(self.link)
        logger.info("simulated serial device %s -> %s", self.link, self._slave_name)

    def _unplug(self) -> None:
        self.link.unlink(missing_ok=True)
        self._last_name = self._slave_name or self._last_name
        for fd in (self._master, self._slave):
            if fd is not None:
                os.close(fd)
        self._master = self._slave = self._slave_name = None


class SerialSimulator:
    """A thread writing one reading per line to a `PtyDevice`, `rate_hz` lines a second.

    Lines are plain numbers (`21.37`), with ` unit` after them when `unit` is
    set, as an Arduino printing one sensor would send them.
    """

    def __init__(
        self,
        device: PtyDevice,
        signal: signals.Signal,
        rate_hz: float = 5.0,
        *,
        unit: str | None = None,
        decimals: int = 2,
        terminator: bytes = b"\n",
        duration: float | None = None,
    ) -> None:
        if rate_hz <= 0:
            raise ValueError(f"rate_hz must be above 0, got {rate_hz}")
        self.device = device
        self.signal = signal
        self.interval = 1.0 / rate_hz
        self.unit = unit
        self.decimals = decimals
        self.terminator = terminator
        self.duration = duration
        self.lines = 0
        self._worker = Worker(f"sim-serial-{device.link.name}")

    def start(self) -> None:
        self._worker.start(self._run)

    def stop(self, timeout: float = 2.0) -> None:
        self._worker.stop(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the duration is over or `stop`; True when it is done."""
        return self._worker.wait(timeout)

    def line(self, t: float) -> str:
        text = f"{self.signal(t):.{self.decimals}f}"
        return f"{text} {self.unit}" if self.unit else text

    def _run(self) -> None:
        clock = signals.Ticker(self.interval, self.duration)
        while not self._worker.stopping and clock.running():
            self.device.write_line(self.line(clock.elapsed()), self.terminator)
            self.lines += 1
            self._worker.sleep(clock.until_next())
