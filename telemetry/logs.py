"""Logging: set up by the CLI only; one line per event; device text escaped.

Every record is formatted on one line: CR, LF, ANSI escapes and other control
characters (in messages, device strings and tracebacks alike) become visible
escapes, so a device name can never forge a log line or colour a terminal.
`RateLimitedLog` keeps a repeating error to one line per interval per key and
says how many it held back.
"""

from __future__ import annotations

import logging
import re
import sys
import time

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape(text: str) -> str:
    """`text` with every control character written as a visible escape."""
    return _CONTROL.sub(lambda m: m.group().encode("unicode_escape").decode("ascii"), text)


class OneLineFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return escape(super().format(record))


def setup_logging(level: str = "INFO") -> None:
    """Log to stderr at `level`; called once by the CLI, never at import time."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(OneLineFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())


class RateLimitedLog:
    """At most one line per `key` every `interval` seconds (monotonic clock)."""

    def __init__(self, logger: logging.Logger, interval: float = 30.0) -> None:
        self.logger = logger
        self.interval = interval
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def _log(self, level: int, key: str, msg: str, *args: object) -> None:
        if not self.logger.isEnabledFor(level):
            return
        now = time.monotonic()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._held[key] = self._held.get(key, 0) + 1
            return
        if len(self._last) > 1024:  # keys come from a fixed set of reasons; stay bounded anyway
            self._last.clear()
            self._held.clear()
        self._last[key] = now
        held = self._held.pop(key, 0)
        if held:
            msg += " (and %d more like it)"
            args = (*args, held)
        self.logger.log(level, msg, *args)

    def info(self, key: str, msg: str, *args: object) -> None:
        self._log(logging.INFO, key, msg, *args)

    def warning(self, key: str, msg: str, *args: object) -> None:
        self._log(logging.WARNING, key, msg, *args)
