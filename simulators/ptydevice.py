"""A simulated serial device: a pseudo-terminal behind a symlink, for the demo and the tests.

A `PtyDevice` is the device end (the pty master) of a pseudo-terminal whose
other end (the slave, `/dev/pts/N`) the serial reader opens like a USB
adapter, through a symlink that plays `/dev/serial/by-id/...`.  `unplug()`
closes the pty, so the reader's next read fails as with a pulled cable;
`replug()` makes a new pty with another number and moves the link to it, as an
adapter that comes back as another `/dev/ttyUSB*` does; `replug(same=True)`
asks for the old number back, as an adapter that comes back as the same
`/dev/ttyUSB0`.  A closed pty cannot be reopened, so "the same pty" is a new
pair that the kernel gives the old number: that works once every holder of
the old slave (the reader) has closed it, and `replug` says whether it did.
`generation` counts the plug-ins, so a simulator notices a replug (a reboot).

Writes never block: a pty whose slave nobody reads holds only a few KiB, and a
device does not wait for a reader either.  What does not fit is dropped and
counted in `dropped` (bytes).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import tty
from pathlib import Path

logger = logging.getLogger(__name__)


class PtyDevice:
    """One simulated serial device, reachable through the symlink `link`."""

    def __init__(self, link: str | os.PathLike[str]) -> None:
        self.link = Path(link)
        self.written = 0
        self.dropped = 0
        self.generation = 0  # plug-ins so far
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
                self._plug(avoid=None, want=None)
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

    def replug(self, same: bool = False) -> bool:
        """Plug in again and move the link to the new pty: one with another number, or with
        `same`, the old number when the kernel can give it back.  True when the number is
        the old one."""
        with self._lock:
            self._unplug()
            previous = self._last_name
            if same:
                self._plug(avoid=None, want=previous)
            else:
                self._plug(avoid=previous, want=None)
            return self._slave_name == previous

    def close(self) -> None:
        self.unplug()

    def __enter__(self) -> PtyDevice:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _plug(self, avoid: str | None, want: str | None) -> None:
        master, slave = _open_pty(avoid, want)
        self.generation += 1
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


def _pty_number(name: str | None) -> int:
    found = re.search(r"(\d+)$", name or "")
    return int(found.group(1)) if found else -1


def _open_pty(avoid: str | None, want: str | None) -> tuple[int, int]:
    """A new pty pair whose slave is not `avoid`, and is `want` if the kernel can give it.

    Linux hands out the lowest free number, so holding the numbers below `want`
    (or `avoid` itself) makes it offer the next one.
    """
    held: list[tuple[int, int]] = []
    try:
        while True:
            master, slave = os.openpty()
            name = os.ttyname(slave)
            below_want = want is not None and _pty_number(name) < _pty_number(want)
            if (below_want and len(held) < 256) or (want is None and name == avoid):
                held.append((master, slave))
                continue
            return master, slave
    finally:
        for fds in held:
            for fd in fds:
                os.close(fd)
