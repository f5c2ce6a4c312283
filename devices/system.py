"""The `[[system]]` reader: the kernel's own sensors (sysfs), polled in one thread.

Every `interval` the thread reads each sensor file `devices.sysfs` found and
hands the poll's values over as one message (the `system` payload family reads
it); between polls it sleeps on the worker's event, which `stop` sets, so an
idle reader costs nothing.  Sensors are looked for again every `rescan`: a
1-Wire thermometer plugged in later is read from then on, one unplugged is
forgotten.  A sensor whose file fails to read (gone, ENODEV or EIO from an
unplugged 1-Wire sensor) is skipped and counted (`sensor_unreadable`); the
reader stays connected and the series goes stale as any silent series does.
A value the file gives but that is no reading (a 1-Wire CRC failure, the
DS18B20's 85 °C power-on value) is counted under its own reason.
"""

from __future__ import annotations

import logging
import os
import time

from devices import count_rejection
from devices.sysfs import Probe, Refused, Value, discover
from telemetry.config import SystemConfig
from telemetry.handoff import Inbox
from telemetry.model import RawMessage
from telemetry.normalize.families.system import line
from telemetry.sources import ThreadedSource

logger = logging.getLogger(__name__)


class SystemSource(ThreadedSource):
    """Polls the kernel's sensors under `cfg.root` into an `Inbox`."""

    kind = "system"

    def __init__(self, cfg: SystemConfig) -> None:
        super().__init__(cfg.name)
        self.cfg = cfg
        self.route = cfg.route
        self.probes: list[Probe] = []
        self.polls = 0

    def rescan(self) -> None:
        """Look for the sensors again (a thread of its own calls this; so may a test)."""
        self.probes = discover(self.cfg)

    def poll(self) -> RawMessage | None:
        """Read every sensor once: the poll's message, None when nothing was read."""
        values: list[Value] = []
        for probe in self.probes:
            try:
                values += probe.read()
            except Refused as exc:
                count_rejection(self.rejected, logger, exc.reason, "system %r: %s", self._name, exc)
            except (OSError, UnicodeError) as exc:
                count_rejection(
                    self.rejected,
                    logger,
                    "sensor_unreadable",
                    "system %r: %s: %s",
                    self._name,
                    probe.sensor,
                    os.strerror(exc.errno) if isinstance(exc, OSError) and exc.errno else exc,
                )
        self.polls += 1
        if not values:
            return None
        payload = "\n".join(line(*v) for v in values).encode("utf-8")
        return RawMessage(self.route, self.cfg.root, payload, time.time())

    def _run(self, inbox: Inbox) -> None:
        cfg = self.cfg
        if not os.path.isdir(cfg.root):
            self._set_state("disconnected", error=f"root {cfg.root!r} is not a directory")
        scanned = -float("inf")
        due = time.monotonic()
        while not self._stopping:
            now = time.monotonic()
            if now - scanned >= cfg.rescan:
                scanned = now
                self.rescan()
                if os.path.isdir(cfg.root):
                    self._set_state("connected")
                    if not self.probes:
                        logger.info("system %r: no sensors found under %r", self._name, cfg.root)
            msg = self.poll()
            if msg is not None:
                inbox.put_many([msg])
                with self._lock:
                    self.received += 1
            # The next poll keeps the rhythm; a late one (a slow 1-Wire bus) does not burst.
            due = max(due + cfg.interval, time.monotonic())
            self._worker.sleep(due - time.monotonic())
