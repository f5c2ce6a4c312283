"""Limits per client address: `LoginLimiter` for logins, `RateLimiter` for HTTP ingest.

Login attempts per client address: a few a minute, then the address waits.

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


class RateLimiter:
    """Requests per client address: a token bucket of `per_minute` each, refilled
    evenly, so a client may burst to `per_minute` and then keeps to the rate.  One
    pair of numbers per address (at most `hosts`, the one least recently seen
    forgotten first): memory does not grow with the rate."""

    def __init__(self, per_minute: int, hosts: int = HOSTS) -> None:
        self.capacity = float(per_minute)
        self.per_second = per_minute / 60.0
        self.hosts = hosts
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()  # tokens, when

    def allow(self, host: str, now: float) -> bool:
        """Take one request from `host`'s bucket at `now` (monotonic seconds)."""
        tokens, then = self._buckets.pop(host, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.per_second)
        allowed = tokens >= 1.0
        self._buckets[host] = (tokens - 1.0 if allowed else tokens, now)
        while len(self._buckets) > self.hosts:
            self._buckets.popitem(last=False)
        return allowed
