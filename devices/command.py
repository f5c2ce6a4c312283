"""The `[[command]]` reader: a program run every `interval`, its stdout read as lines.

One thread runs the command, so two runs of one command never overlap: a run
that outlasts the interval makes the ticks it covered be skipped, and counted
(`skipped_tick`).  The program runs in a process group of its own, its argv as
given (no shell; `shell = "..."` runs `/bin/sh -c` and only when configured),
with stdin from /dev/null and the server's environment plus `env`.  At the
timeout the whole group is killed (SIGKILL: the shell's children too) and the
run counted (`timeout`); whatever it printed before still counts.  A run ends
when the program exits, even while a child it started in the background
(`daemon &`) holds its stdout open: what is in the pipes then is read, and the
group's leftovers are killed (the kernel's pidfd tells the exit).  Stdout is
kept up to `max_output` bytes, the rest read and discarded (`output_capped`);
of stderr only the tail is kept, and its last line is the reader's
`last_error` when a run fails.  An exit status other than 0 is counted
(`exit_status`); a program that cannot be started too (`start_failed`).

Each stdout line is a message of the port-like route `cfg.route` (transport
`serial`, device `name`), so the serial formats read it (json, kv, csv,
number, influx, ...), CSV headers and all; with `split = "none"` the whole
output is one message (a pretty-printed JSON document).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import signal
import subprocess
import time
from collections.abc import Iterator

from devices import count_rejection
from telemetry.config import CommandConfig
from telemetry.handoff import Inbox
from telemetry.logs import escape
from telemetry.model import RawMessage
from telemetry.sources import State, ThreadedSource

STDERR_TAIL = 4096  # bytes of stderr kept, for its last line
READ_SIZE = 65536
SHELL = "/bin/sh"


@contextlib.contextmanager
def _exit_fd(process: subprocess.Popen[bytes]) -> Iterator[int | None]:
    """A descriptor readable once `process` has exited (a pidfd); None where the
    kernel has none (before 5.3): then the run ends when its pipes do."""
    try:
        fd = os.pidfd_open(process.pid)
    except OSError:
        yield None
        return
    try:
        yield fd
    finally:
        os.close(fd)


class Run:
    """One run's output, as read so far."""

    __slots__ = ("capped", "stderr", "stdout")

    def __init__(self) -> None:
        self.stdout = bytearray()
        self.stderr = bytearray()
        self.capped = False


def last_line(data: bytes) -> str:
    """The last non-empty line of `data`, as text safe for a log line or the page."""
    for raw in reversed(data.splitlines()):
        text = raw.decode("utf-8", "replace").strip()
        if text:
            return escape(text[:200])
    return ""


class CommandSource(ThreadedSource):
    """Runs one command every `interval` into an `Inbox`."""

    kind = "command"

    def __init__(self, cfg: CommandConfig) -> None:
        super().__init__(cfg.name)
        self.cfg = cfg
        self.route = cfg.route
        self.argv = [SHELL, "-c", cfg.shell] if cfg.shell is not None else list(cfg.argv)
        self.env = {**os.environ, **dict(cfg.env)}
        self.runs = 0
        self._process: subprocess.Popen[bytes] | None = None  # the running one, for `_wake`

    def _run(self, inbox: Inbox) -> None:
        interval = self.cfg.interval
        due = time.monotonic()
        while True:
            ok = self.run_once(inbox)
            if self._stopping:
                return
            due += interval
            now = time.monotonic()
            if now > due:  # the run took longer than the interval: the ticks it covered
                missed = int((now - due) // interval) + 1
                due += missed * interval
                with self._lock:
                    self.rejected["skipped_tick"] += missed
            # The state `run_once` reported, with the time of the next run.
            state: State = "connected" if ok else "disconnected"
            self._set_state(state, next_attempt=time.time() + due - now)
            self._worker.sleep(due - now)

    def _wake(self) -> None:
        process = self._process
        if process is not None:
            self._kill(process)

    @staticmethod
    def _kill(process: subprocess.Popen[bytes]) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)

    def run_once(self, inbox: Inbox) -> bool:
        """Run the command once, hand its lines over; True when it succeeded."""
        cfg = self.cfg
        self.runs += 1
        try:
            process = subprocess.Popen(
                self.argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=self.env,
                start_new_session=True,  # its own process group: killed with its children
                close_fds=True,
            )
        except OSError as exc:
            return self._failed("start_failed", f"cannot start {self.argv[0]!r}: {exc.strerror}")
        with process:  # its pipes closed and its status collected, whatever happens
            self._process = process
            if self._stopping:  # asked to stop before `_wake` could see the process
                self._kill(process)
            deadline = time.monotonic() + cfg.timeout
            try:
                run, timed_out = self._collect(process, deadline)
                # Its output ended; it may still be exiting (coreutils close stdout first).
                if not timed_out:
                    try:
                        process.wait(max(0.0, deadline - time.monotonic()))
                    except subprocess.TimeoutExpired:
                        timed_out = True
            finally:
                self._process = None
                self._kill(process)  # what it left behind in its group goes too
            status = process.wait()
        self._hand_over(inbox, run)
        if run.capped:
            count_rejection(
                self.rejected,
                self._log,
                "output_capped",
                "command %r printed more than %d bytes; the rest was discarded",
                self._name,
                cfg.max_output,
            )
        if self._stopping:
            return False
        if timed_out:
            return self._failed("timeout", f"killed after the timeout of {cfg.timeout:g} s")
        if status != 0:
            why = last_line(bytes(run.stderr))
            code = f"killed by signal {-status}" if status < 0 else f"exit status {status}"
            return self._failed("exit_status", f"{code}: {why}" if why else code)
        self._set_state("connected")
        return True

    def _failed(self, reason: str, error: str) -> bool:
        count_rejection(self.rejected, self._log, reason, "command %r: %s", self._name, error)
        self._set_state("disconnected", error=error)
        return False

    def _collect(self, process: subprocess.Popen[bytes], deadline: float) -> tuple[Run, bool]:
        """Read stdout and stderr until both end or `deadline`; (output, timed out)."""
        run = Run()
        cap = self.cfg.max_output
        exited = False
        assert process.stdout is not None and process.stderr is not None
        with selectors.DefaultSelector() as selector, _exit_fd(process) as pidfd:
            selector.register(process.stdout, selectors.EVENT_READ, False)
            selector.register(process.stderr, selectors.EVENT_READ, True)
            if pidfd is not None:
                selector.register(pidfd, selectors.EVENT_READ, None)
            while len(selector.get_map()) > (pidfd is not None and not exited):
                left = deadline - time.monotonic()
                if left <= 0:
                    return run, True
                # Once the program has exited, what it wrote is in the pipes: read
                # that, and no more (a child it left may hold them open for hours).
                ready = selector.select(0 if exited else left)
                if exited and not ready:
                    break
                for key, _ in ready:
                    if key.data is None:  # the program exited
                        selector.unregister(key.fileobj)
                        exited = True
                        continue
                    data = os.read(key.fd, READ_SIZE)
                    if not data:
                        selector.unregister(key.fileobj)
                    elif key.data:  # stderr: its tail
                        run.stderr += data
                        del run.stderr[:-STDERR_TAIL]
                    else:
                        room = cap - len(run.stdout)
                        run.capped |= len(data) > room
                        run.stdout += data[: max(room, 0)]
        return run, False

    def _hand_over(self, inbox: Inbox, run: Run) -> None:
        out = bytes(run.stdout)
        if run.capped and self.cfg.split == "lines":
            out = out[: out.rfind(b"\n") + 1]  # a line cut at the cap is no line
        now = time.time()
        if self.cfg.split == "none":
            parts = [out.strip()] if out.strip() else []
        else:
            parts = [p.strip(b"\r") for p in out.split(b"\n") if p.strip()]
        if parts:
            inbox.put_many([RawMessage(self.route, self.cfg.name, p, now) for p in parts])
            with self._lock:
                self.received += len(parts)
