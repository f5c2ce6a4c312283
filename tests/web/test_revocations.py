"""The sessions a logout ended: remembered until they expire, bounded, never let back."""

from __future__ import annotations

from web.credentials import Session
from web.revocations import Revocations

NOW = 1_000_000.0


def session(n: int, expires: float) -> Session:
    return Session("alice", int(expires), f"{n:043d}")


def test_an_ended_session_stays_ended_and_others_do_not() -> None:
    record = Revocations()
    record.end(session(1, NOW + 60), NOW)
    assert record.ended(session(1, NOW + 60))
    assert not record.ended(session(2, NOW + 60))


def test_a_full_record_forgets_expired_sessions_first() -> None:
    record = Revocations(capacity=2)
    record.end(session(1, NOW + 10), NOW)
    record.end(session(2, NOW + 1000), NOW)
    later = NOW + 100  # session 1 has expired by now: its place is free
    record.end(session(3, NOW + 2000), later)
    assert record.ended(session(2, NOW + 1000)) and record.ended(session(3, NOW + 2000))
    assert len(record) == 2 and record.folded == 0
    assert not record.ended(session(4, NOW + 1500))  # nobody ended this one


def test_a_full_record_never_lets_an_ended_session_back() -> None:
    record = Revocations(capacity=3)
    ended = [session(n, NOW + 100 * n) for n in range(1, 6)]
    for s in ended:
        record.end(s, NOW)
    assert all(record.ended(s) for s in ended)
    assert len(record) <= 3 and record.folded >= 1
    # The bound ends sessions nobody ended too (they sign in again), but a
    # session issued after it is not ended.
    assert record.ended(session(99, NOW + 150))
    fresh = session(100, record.expiry(NOW, 3600))
    assert not record.ended(fresh)


def test_a_session_issued_after_the_bound_outlives_it_whatever_the_lifetime() -> None:
    # A session from before a restart with a longer lifetime pushed the bound
    # past NOW + lifetime: a new login must still not count as ended.
    record = Revocations(capacity=1)
    record.end(session(1, NOW + 10 * 86400), NOW)
    record.end(session(2, NOW + 20 * 86400), NOW)
    assert record.through >= NOW + 20 * 86400
    assert not record.ended(session(3, record.expiry(NOW, 3600)))
