"""Login attempts per address: counted from their start, a successful one taken back."""

from __future__ import annotations

from web.limiter import LoginLimiter


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
