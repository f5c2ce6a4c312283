"""The sessions a logout ended before their expiry: bounded, in memory only.

Session cookies are signed, not stored (`web.credentials`), so they outlive a
restart; a logout therefore has to be remembered to end its session on the
server.  Each ended session is kept until its own expiry, at most `capacity`
of them.  When the record is full, expired ones go first; if it is still full,
it folds into one bound: every session that expires no later than the latest
ended one counts as ended.  With one session lifetime that is every session
issued before that one, so the bound can end sessions nobody logged out (they
sign in again) but can never let an ended one back in.

Nothing is written to disk (an SD card's writes are precious): a restart
forgets every logout, so a copied cookie works again until it expires.
Changing the user's password ends all of that user's sessions for good.
"""

from __future__ import annotations

from web.credentials import Session

CAPACITY = 10_000  # ended sessions remembered one by one (a few hundred bytes each)


class Revocations:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self.capacity = capacity
        self._ended: dict[str, int] = {}  # a session's signature -> its expiry
        self._through = 0  # every session expiring at or before this (Unix s) has ended
        self.folded = 0  # times the record was full and became one bound

    def __len__(self) -> int:
        return len(self._ended)

    @property
    def through(self) -> int:
        """Sessions expiring at or before this time (Unix seconds) have all ended."""
        return self._through

    def expiry(self, now: float, lifetime: float) -> int:
        """When a session issued at `now` expires: after `lifetime`, and past the bound.

        The bound can lie beyond `now + lifetime` when a session ended here was
        issued with a longer lifetime (before a restart with a shorter one); a
        new session must not count as ended the moment it is issued.
        """
        return max(int(now + lifetime), self._through + 1)

    def ended(self, session: Session) -> bool:
        return session.expires <= self._through or session.mac in self._ended

    def end(self, session: Session, now: float) -> None:
        """Remember that `session` ended at `now`, until it would have expired anyway."""
        if self.ended(session) or session.expires < now:
            return
        if len(self._ended) >= self.capacity:
            self._ended = {mac: exp for mac, exp in self._ended.items() if exp >= now}
        if len(self._ended) >= self.capacity:
            self._through = max(self._through, session.expires, *self._ended.values())
            self._ended.clear()
            self.folded += 1
            return
        self._ended[session.mac] = session.expires
