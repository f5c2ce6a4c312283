"""`telemetry.history.ring`: a series' recent raw points."""

from __future__ import annotations

import bisect
import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.history import HOLD, Ring
from telemetry.history.ring import GROWTH


def points(ring: Ring) -> list[tuple[float, float]]:
    ts, values = ring.points()
    return list(zip(ts.tolist(), values.tolist(), strict=True))


def filled(capacity: int, count: int, span: float = 1e9) -> Ring:
    ring = Ring(capacity, span)
    for i in range(count):
        assert ring.append(float(i), float(i) * 10)
    return ring


def test_ring_starts_empty() -> None:
    ring = Ring(4, 60.0)
    assert len(ring) == 0
    assert ring.last_ts is None
    assert points(ring) == []


def test_ring_keeps_points_in_time_order() -> None:
    ring = filled(10, 3)
    assert points(ring) == [(0.0, 0.0), (1.0, 10.0), (2.0, 20.0)]
    assert ring.last_ts == 2.0


def test_ring_keeps_at_most_capacity_points_dropping_the_oldest() -> None:
    ring = filled(4, 6)
    assert len(ring) == 4
    assert points(ring) == [(2.0, 20.0), (3.0, 30.0), (4.0, 40.0), (5.0, 50.0)]


def test_ring_inserts_a_late_point_at_its_place() -> None:
    ring = filled(4, 3)
    assert ring.append(1.5, -1.0) is True
    assert points(ring) == [(0.0, 0.0), (1.0, 10.0), (1.5, -1.0), (2.0, 20.0)]
    assert ring.last_ts == 2.0


def test_ring_refuses_an_exact_repeat_and_counts_it() -> None:
    ring = filled(4, 3)
    assert ring.append(1.0, 10.0) is False
    assert ring.append(2.0, 20.0) is False
    assert ring.duplicates == 2
    assert points(ring) == [(0.0, 0.0), (1.0, 10.0), (2.0, 20.0)]


def test_ring_refuses_a_late_point_older_than_its_span() -> None:
    ring = Ring(100, 10.0)
    for ts in (0.0, 10.0, 20.0):
        ring.append(ts, ts)
    assert ring.append(5.0, 5.0) is False
    assert ring.too_old == 1
    assert ring.append(15.0, 15.0) is True
    assert ring.points()[0].tolist() == [10.0, 15.0, 20.0]


def test_ring_accepts_a_point_with_the_same_time_as_its_newest() -> None:
    ring = filled(4, 3)
    assert ring.append(2.0, 99.0) is True
    assert points(ring)[-2:] == [(2.0, 20.0), (2.0, 99.0)]


def test_ring_range_includes_both_ends() -> None:
    ring = filled(10, 10)
    ts, values = ring.range(3.0, 6.0)
    assert ts.tolist() == [3.0, 4.0, 5.0, 6.0]
    assert values.tolist() == [30.0, 40.0, 50.0, 60.0]


def test_ring_range_between_points_gives_the_points_inside() -> None:
    ring = filled(10, 10)
    assert ring.range(2.5, 4.5)[0].tolist() == [3.0, 4.0]
    assert ring.range(4.2, 4.8)[0].tolist() == []
    assert ring.range(-100.0, 0.0)[0].tolist() == [0.0]
    assert ring.range(9.0, 100.0)[0].tolist() == [9.0]
    assert ring.range(6.0, 3.0)[0].tolist() == []


def test_ring_range_includes_every_point_with_an_equal_boundary_time() -> None:
    ring = Ring(10, 1e9)
    for ts, value in [(1.0, 1.0), (2.0, 2.0), (2.0, 3.0), (2.0, 4.0), (3.0, 5.0)]:
        ring.append(ts, value)
    assert ring.range(2.0, 2.0)[1].tolist() == [2.0, 3.0, 4.0]


def test_ring_range_gives_copies_not_views_of_the_buffer() -> None:
    ring = filled(4, 3)
    ts, values = ring.range(0.0, 10.0)
    ts[:] = -1.0
    values[:] = -1.0
    assert points(ring) == [(0.0, 0.0), (1.0, 10.0), (2.0, 20.0)]


def test_ring_does_not_return_points_older_than_span_behind_the_newest() -> None:
    ring = Ring(100, 10.0)
    for ts in (0.0, 5.0, 10.0, 15.0, 20.0):
        ring.append(ts, ts)
    assert ring.points()[0].tolist() == [10.0, 15.0, 20.0]
    assert ring.range(0.0, 12.0)[0].tolist() == [10.0]


def test_ring_capacity_one_keeps_only_the_newest_point() -> None:
    ring = filled(1, 7)
    assert points(ring) == [(6.0, 60.0)]


def test_ring_appends_far_past_twice_its_capacity_keep_the_last_points() -> None:
    ring = filled(5, 53)
    assert points(ring) == [(float(i), float(i) * 10) for i in range(48, 53)]


def test_ring_buffer_holds_its_span_and_a_quarter_more_at_a_steady_rate() -> None:
    """A day at 1 Hz in the runs a series flushes, 15 minutes kept: the buffer holds
    the span's points and a quarter more, not room for the span's and a run's too."""
    ring = Ring(20_000, 900.0)
    for start in range(0, 86_400, HOLD):
        ts = np.arange(start, start + HOLD, dtype=np.float64)
        ring.extend(ts, ts * 10)
    kept, newest = points(ring), float(ts[-1])
    assert kept == [(t, t * 10) for t in np.arange(newest - 900, newest + 1).tolist()]
    assert ring.nbytes <= 16 * math.ceil(GROWTH * len(kept))


@settings(max_examples=150)
@given(
    st.integers(min_value=1, max_value=8),
    st.lists(st.tuples(st.integers(-3, 5), st.integers(0, 3)), max_size=60),
    st.sampled_from([0.0, 3.0, 10.0, 1e9]),
)
def test_ring_behaves_like_a_sorted_list_of_the_last_capacity_points(
    capacity: int, steps: list[tuple[int, int]], span: float
) -> None:
    """Each step moves time by a small amount, sometimes backwards (a late point that
    is inserted at its place), with values from a small set so repeats happen."""
    ring = Ring(capacity, span)
    model: list[tuple[float, float]] = []
    ts = 0.0
    for step, value in steps:
        ts += step
        point = (ts, float(value))
        newest = model[-1][0] if model else -math.inf
        expected = point not in model and (ts >= newest or ts >= newest - span)
        assert ring.append(*point) == expected
        if expected:
            at = bisect.bisect_right([t for t, _ in model], ts)
            model = [*model[:at], point, *model[at:]][-capacity:]
        newest = model[-1][0] if model else -math.inf
        model = [p for p in model if p[0] >= newest - span]
        assert points(ring) == model


def test_ring_snapshot_holds_only_the_points_within_the_span() -> None:
    ring = Ring(20_000, 900.0)
    ring.extend(np.arange(10_000.0), np.zeros(10_000))  # one batch: all in the buffer
    ts, values = ring.snapshot()
    assert ts.tolist() == np.arange(9099.0, 10_000.0).tolist()
    assert len(values) == 901
    assert ring.points()[0].tolist() == ts.tolist()
