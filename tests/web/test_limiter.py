"""Login attempts per address: counted from their start, a successful one taken back."""

from __future__ import annotations

from web.limiter import LoginLimiter, RateLimiter


def test_attempts_under_way_count_against_the_address() -> None:
    limiter = LoginLimiter(allowed=3, window=60.0)
    # Three attempts begun and none finished yet: the fourth waits all the same.
    assert [limiter.begin("10.0.0.1", 0.0) for _ in range(4)] == [True, True, True, False]
    assert limiter.begin("10.0.0.2", 0.0)  # another address is not held up
    assert limiter.recent("10.0.0.1", 1.0) == 3
    assert limiter.begin("10.0.0.1", 61.0)  # the window has passed


def test_a_successful_attempt_is_taken_back() -> None:
    limiter = LoginLimiter(allowed=2, window=60.0)
    assert limiter.begin("10.0.0.1", 0.0)
    limiter.take_back("10.0.0.1", 0.0)
    assert limiter.recent("10.0.0.1", 1.0) == 0
    assert limiter.begin("10.0.0.1", 1.0) and limiter.begin("10.0.0.1", 2.0)
    assert not limiter.begin("10.0.0.1", 3.0)


def test_the_least_recently_tried_address_is_forgotten_first() -> None:
    limiter = LoginLimiter(allowed=1, window=60.0, hosts=2)
    limiter.begin("10.0.0.1", 0.0)
    limiter.begin("10.0.0.2", 1.0)
    limiter.begin("10.0.0.3", 2.0)
    assert limiter.recent("10.0.0.1", 3.0) == 0
    assert limiter.recent("10.0.0.2", 3.0) == limiter.recent("10.0.0.3", 3.0) == 1


def test_rate_limiter_lets_a_burst_through_then_keeps_to_the_rate() -> None:
    limiter = RateLimiter(per_minute=60, hosts=2)
    assert [limiter.allow("a", 100.0) for _ in range(61)] == [True] * 60 + [False]
    assert limiter.allow("b", 100.0)  # another address has its own bucket
    assert not limiter.allow("a", 100.5)
    assert limiter.allow("a", 101.0)  # one a second comes back
    assert not limiter.allow("a", 101.0)


def test_rate_limiter_remembers_a_bounded_number_of_addresses() -> None:
    limiter = RateLimiter(per_minute=1, hosts=2)
    assert limiter.allow("a", 0.0) and not limiter.allow("a", 0.0)
    limiter.allow("b", 0.0)
    limiter.allow("c", 0.0)  # "a", the least recently seen, is forgotten
    assert len(limiter._buckets) == 2  # (the bound itself is the point)
    assert limiter.allow("a", 0.0)
