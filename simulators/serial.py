"""Simulated serial devices: a sketch printing readings to a pty, paced as the wire allows.

`SerialSimulator` writes each reading of its channels to a `PtyDevice` (see
`simulators.ptydevice`) in one line format (`simulators.lines`): `number`
(`21.37 °C`, the default, which the server parses today), `plotter`, `csv`,
`json` or `nmea`.  At `baud` (8N1: ten bit times per byte) a line of n bytes
takes n*10/baud seconds, and no more bytes come out than the wire carries: the
line rate is capped by the baud rate, whatever `rate_hz` asks.

Faults (`SerialFaults`), each a share of lines or a period: garbage before a
line (wrong-baud bytes, an ESP32 boot log, NUL bytes), a line split across
writes with a pause between the pieces, a line that never ends before a line,
and unplug/replug (on a new pty, or the same number when the kernel gives it
back).  After every plug-in the sketch "boots" again and prints its
power-up lines (the CSV header), whoever replugged it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass

from simulators import faults, signals
from simulators.firmware import Quantity
from simulators.lines import line_format
from simulators.ptydevice import PtyDevice
from telemetry.threads import Worker

__all__ = ["PtyDevice", "SerialFaults", "SerialSimulator"]

logger = logging.getLogger(__name__)

# Writes are cut into pieces of this much wire time, so a reader never gets bytes early.
SLICE = 0.02


@dataclass(frozen=True, slots=True)
class SerialFaults:
    """What goes wrong on the line: shares of lines (0..1), and a period for unplugs."""

    garbage: float = 0.0  # lines preceded by a garbage block
    split: float = 0.0  # lines written in two or three pieces, with a pause between
    endless: float = 0.0  # lines preceded by a long line that never ends
    unplug_every: float | None = None  # seconds between unplugs (None: never)
    unplugged_for: float = 0.5  # seconds the cable stays out
    same_pty: bool = False  # come back on the same pty number when possible
    split_pause: float = 0.01  # seconds between the pieces of a split line

    def __post_init__(self) -> None:
        for name in ("garbage", "split", "endless"):
            share = getattr(self, name)
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"the {name} fault is a share between 0 and 1, got {share}")
        if self.unplug_every is not None and not self.unplug_every > 0:
            raise ValueError(f"unplug_every must be above 0, got {self.unplug_every}")


class SerialSimulator:
    """A thread writing readings as lines to a `PtyDevice`, `rate_hz` readings a second.

    `signal` is one signal (a channel called `name`, with `unit` and `decimals`)
    or a list of channels (`Quantity`) for the formats that print several.
    """

    def __init__(
        self,
        device: PtyDevice,
        signal: signals.Signal | Sequence[Quantity],
        rate_hz: float = 5.0,
        *,
        unit: str | None = None,
        decimals: int = 2,
        terminator: bytes | None = None,
        duration: float | None = None,
        format: str = "number",
        baud: int | None = 115200,
        faults: SerialFaults | None = None,
        seed: int = 0,
        burst: signals.Burst | None = None,
        name: str = "value",
    ) -> None:
        if rate_hz <= 0:
            raise ValueError(f"rate_hz must be above 0, got {rate_hz}")
        if baud is not None and baud < 50:
            raise ValueError(f"baud must be 50 or more, got {baud}")
        self.device = device
        if callable(signal):
            self.channels = [Quantity(name, unit, signal, decimals)]
        else:
            self.channels = list(signal)
        self.interval = 1.0 / rate_hz
        self._rng = signals.generator(seed, 6)
        self.format = line_format(format, self._rng)
        self.terminator = self.format.terminator if terminator is None else terminator
        self.duration = duration
        self.baud = baud
        self.faults = faults or SerialFaults()
        self.burst = burst
        self.lines = 0  # readings lines written (garbage and endless lines not counted)
        self.injected: dict[str, int] = {}  # faults by kind: "boot-log", "split", "unplug", ...
        self._booted = 0  # the device generation the sketch last booted in
        self._wire_free = 0.0  # monotonic time when the wire has sent everything so far
        self._clock = signals.Ticker(self.interval, duration, burst)
        self._worker = Worker(f"sim-serial-{device.link.name}")

    def start(self) -> None:
        self._worker.start(self._run)

    def stop(self, timeout: float = 2.0) -> None:
        self._worker.stop(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the duration is over or `stop`; True when it is done."""
        return self._worker.wait(timeout)

    def line(self, t: float) -> str:
        """The first line of the reading at `t` (empty in a dropout): for simple callers."""
        samples = [s for c in self.channels if (s := c.sample(t)) is not None]
        lines = self.format.lines(self.channels, samples, time.time())
        return lines[0] if lines else ""

    def seconds_for(self, size: int) -> float:
        """Wire time of `size` bytes at 8N1 (a start bit, 8 data bits, a stop bit)."""
        return size * 10 / self.baud if self.baud else 0.0

    def _run(self) -> None:
        clock = self._clock = signals.Ticker(self.interval, self.duration, self.burst)
        next_unplug = self.faults.unplug_every
        while not self._worker.stopping and clock.running():
            t = clock.elapsed()
            if self.device.generation != self._booted:
                self._booted = self.device.generation
                for text in self.format.boot(self.channels):
                    self._write(text.encode("utf-8") + self.terminator)
            samples = [s for c in self.channels if (s := c.sample(t)) is not None]
            for text in self.format.lines(self.channels, samples, time.time()):
                self._write_line(text.encode("utf-8") + self.terminator)
            if next_unplug is not None and self.faults.unplug_every and t >= next_unplug:
                self._unplug_and_replug()
                next_unplug = clock.elapsed() + self.faults.unplug_every
            self._worker.sleep(clock.until_next())

    def _chance(self, share: float) -> bool:
        return share > 0 and self._rng.random() < share

    def _count(self, kind: str) -> None:
        self.injected[kind] = self.injected.get(kind, 0) + 1

    def _write_line(self, data: bytes) -> None:
        if self._chance(self.faults.garbage):
            kind, block = faults.garbage(self._rng)
            self._count(kind)
            self._write(block)
        if self._chance(self.faults.endless):
            self._count("endless")
            self._write(faults.endless_line(self._rng))
        if self._chance(self.faults.split) and len(data) > 1:
            self._count("split")
            pieces = int(self._rng.integers(2, min(3, len(data)) + 1))
            cuts = sorted(int(c) for c in self._rng.choice(range(1, len(data)), pieces - 1, False))
            for start, end in zip([0, *cuts], [*cuts, len(data)], strict=True):
                self._write(data[start:end])
                if end < len(data):
                    self._worker.sleep(self.faults.split_pause)
        else:
            self._write(data)
        self.lines += 1

    def _write(self, data: bytes) -> None:
        """Write `data` no faster than the wire: in slices, each after the previous has gone."""
        step = max(1, int(SLICE * self.baud / 10)) if self.baud else len(data) or 1
        for start in range(0, len(data), step):
            piece = data[start : start + step]
            wait = self._wire_free - time.monotonic()
            if wait > 0 and (self._worker.sleep(wait) or not self._clock.running()):
                return  # stopping, or the run is over in the middle of a long write
            self.device.write(piece)
            self._wire_free = max(self._wire_free, time.monotonic()) + self.seconds_for(len(piece))

    def _unplug_and_replug(self) -> None:
        self._count("unplug")
        self.device.unplug()
        if self._worker.sleep(self.faults.unplugged_for):
            return
        same = self.device.replug(same=self.faults.same_pty)
        logger.info(
            "simulated serial device %s replugged on %s (%s pty)",
            self.device.link,
            self.device.slave_name,
            "the same" if same else "another",
        )
