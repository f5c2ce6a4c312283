"""Login attempts per client address: a few a minute, then the address waits.

An attempt counts from the moment it starts, not once its password check has
failed: checks run in worker threads, so attempts sent all at once would
otherwise all be let in before the first failure was counted.  A successful
attempt (or one the server turned away for its own reasons) is taken back.
At most `hosts` addresses are remembered, the one least recently tried
forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict

ALLOWED = 5  # attempts per address within WINDOW, then refused
WINDOW = 60.0  # seconds
HOSTS = 1024


class LoginLimiter:
    def __init__(self, allowed: int = ALLOWED, window: float = WINDOW, hosts: int = HOSTS) -> None:
        self.allowed = allowed
        self.window = window
        self.hosts = hosts
        self._attempts: OrderedDict[str, list[float]] = OrderedDict()  # monotonic times

    def recent(self, host: str, now: float) -> int:
        """Attempts from `host` within the window before `now` (monotonic seconds)."""
        return sum(1 for t in self._attempts.get(host, ()) if now - t < self.window)

    def begin(self, host: str, now: float) -> bool:
        """Count an attempt from `host`, or answer False if it has had its share."""
        recent = [t for t in self._attempts.pop(host, ()) if now - t < self.window]
        if len(recent) >= self.allowed:
            self._attempts[host] = recent
            return False
        self._attempts[host] = [*recent, now]
        while len(self._attempts) > self.hosts:
            self._attempts.popitem(last=False)
        return True

    def take_back(self, host: str, began: float) -> None:
        """Uncount the attempt `begin` counted at `began`: it succeeded, or never ran."""
        attempts = self._attempts.get(host)
        if attempts is not None and began in attempts:
            attempts.remove(began)
