"""A simulated serial device for the tests: a pty behind a symlink in `tmp_path`."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from simulators.serial import PtyDevice


@pytest.fixture
def serial_device(tmp_path: Path) -> Iterator[PtyDevice]:
    """A plugged-in `PtyDevice` whose link is `tmp_path / "ttyUSB-sim"`; closed after."""
    device = PtyDevice(tmp_path / "ttyUSB-sim").open()
    try:
        yield device
    finally:
        device.close()
