"""A private mosquitto on a loopback port: for `telemetry demo` and the tests.

`Broker` writes a config (loopback only, anonymous, no persistence, log to a
file next to the config) and runs mosquitto from it; it can be stopped and
started again on the same port, to play a broker restart.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from telemetry.errors import SourceError


def find_mosquitto() -> str | None:
    """The mosquitto program (Debian installs it in /usr/sbin), or None."""
    found = shutil.which("mosquitto")
    if found:
        return found
    candidate = Path("/usr/sbin/mosquitto")
    return str(candidate) if os.access(candidate, os.X_OK) else None


def free_port() -> int:
    """A TCP port free on loopback right now (for programs that cannot take port 0)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


HOST = "127.0.0.1"
START_TIMEOUT = 10.0


class Broker:
    """One mosquitto process on a fixed loopback port; restartable."""

    def __init__(
        self,
        program: str,
        folder: Path,
        port: int,
        listener_options: tuple[str, ...] = (),
        *,
        anonymous: bool = True,
    ) -> None:
        self.program = program
        self.folder = folder
        self.host = HOST
        self.port = port
        self.config = folder / "mosquitto.conf"
        lines = [
            f"listener {port} {HOST}",
            *listener_options,
            f"allow_anonymous {'true' if anonymous else 'false'}",
            "persistence false",
            "log_dest stderr",
            # Started as root, mosquitto would become user `mosquitto`, who cannot
            # read our private tmp dirs (TLS keys); not root, the line is ignored.
            f"user {pwd.getpwuid(os.getuid()).pw_name}",
        ]
        self.config.write_text("".join(f"{line}\n" for line in lines))
        self.log = folder / "mosquitto.log"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"mqtt://{self.host}:{self.port}"

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> Broker:
        if self.running:
            return self
        with self.log.open("ab") as log:
            self._process = subprocess.Popen(
                [self.program, "-c", str(self.config)],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=log,
                # Out of the terminal's process group: Ctrl-C reaches the server,
                # which stops its reader first and then this broker, in order.
                start_new_session=True,
            )
        deadline = time.monotonic() + START_TIMEOUT
        while not self._accepts():
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = self.log.read_text(errors="replace")[-2000:]
                raise SourceError(f"mosquitto did not start on {self.url}:\n{tail}")
            time.sleep(0.02)
        return self

    def pause(self) -> None:
        """`kill -STOP`: the broker stalls with its connections open (as one does whose
        SD card stalls), acknowledging nothing until `resume`."""
        if self._process is not None:
            self._process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        if self._process is not None:
            self._process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """`kill -9`: the broker vanishes without closing anything cleanly."""
        self.stop(signal.SIGKILL)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        process.send_signal(sig)
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def _accepts(self) -> bool:
        try:
            with socket.create_connection((self.host, self.port), timeout=0.5):
                return True
        except OSError:
            return False
