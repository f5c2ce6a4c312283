"""The per-series ring of raw points and the store's cap on series."""

from __future__ import annotations

import bisect
import math
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry import store as store_module
from telemetry.model import Reading
from telemetry.store import Ring, Rollup, Store


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


def reading(device: str, sensor: str = "temp") -> Reading:
    return Reading(device, sensor, 1.0, None, 100.0, 100.0)


def test_store_creates_a_catalog_entry_per_series() -> None:
    store = Store(max_series=10, raw_points=16, raw_span=60.0)
    info = store.create(reading("kitchen"), "home", "°C")
    assert info is not None
    assert store.series == {"kitchen/temp": info}
    assert info.as_json()["unit"] == "°C"
    assert info.as_json()["source"] == "home"


def test_store_series_cap_refuses_and_counts_new_series() -> None:
    store = Store(max_series=2, raw_points=16, raw_span=60.0)
    assert store.create(reading("a"), "home", None) is not None
    assert store.create(reading("b"), "home", None) is not None
    assert store.create(reading("c"), "home", None) is None
    assert store.create(reading("d"), "home", None) is None
    assert sorted(store.series) == ["a/temp", "b/temp"]
    assert store.refused_series == 2


def test_store_append_updates_last_value_and_counts() -> None:
    store = Store(max_series=2, raw_points=16, raw_span=60.0)
    info = store.create(reading("a"), "home", None)
    assert info is not None
    assert Store.append(info, 101.0, 5.0) is None
    assert Store.append(info, 102.0, 6.0) is None
    assert (info.count, info.last_ts, info.last_value) == (2, 102.0, 6.0)


def test_store_append_of_a_late_point_inserts_it_and_keeps_the_newest_as_last() -> None:
    store = Store(max_series=2, raw_points=16, raw_span=60.0)
    info = store.create(reading("a"), "home", None)
    assert info is not None
    Store.append(info, 102.0, 6.0)
    assert Store.append(info, 101.0, 5.0) is None
    assert Store.append(info, 101.0, 5.0) == "duplicate"  # a QoS 1 redelivery
    assert (info.count, info.refused, info.last_value) == (2, 1, 6.0)
    assert info.ring.points()[1].tolist() == [5.0, 6.0]


@pytest.mark.parametrize("count", [0, 1, 15, 16, 17, 31, 32, 33, 100])
def test_store_ring_keeps_the_configured_number_of_raw_points(count: int) -> None:
    store = Store(max_series=1, raw_points=16, raw_span=1e9)
    info = store.create(reading("a"), "home", None)
    assert info is not None
    for i in range(count):
        Store.append(info, float(i), float(i))
    assert info.ring.points()[0].tolist() == [float(i) for i in range(max(0, count - 16), count)]


def rollup_stats(rollup: Rollup) -> list[tuple[float, ...]]:
    b = rollup.buckets(-math.inf, math.inf)
    keys = ("ts", "first", "last", "min", "max", "mean", "count")
    return [
        tuple(round(float(x), 4) for x in row) for row in zip(*(b[k] for k in keys), strict=True)
    ]


def test_rollup_buckets_by_hand() -> None:
    rollup = Rollup(10.0, 3600.0)
    for ts, value in [(100.0, 5.0), (103.0, 1.0), (109.0, 3.0), (121.0, 7.0)]:
        assert rollup.add(ts, value)
    assert rollup_stats(rollup) == [
        (100.0, 5.0, 3.0, 1.0, 5.0, 3.0, 3),
        (120.0, 7.0, 7.0, 7.0, 7.0, 7.0, 1),  # 110 had nothing: no bucket, a gap
    ]


def test_rollup_late_point_updates_first_last_and_stats_as_if_in_order() -> None:
    rollup = Rollup(10.0, 3600.0)
    for ts, value in [(105.0, 5.0), (121.0, 7.0), (101.0, 9.0), (108.0, -2.0)]:
        rollup.add(ts, value)
    assert rollup_stats(rollup) == [
        (100.0, 9.0, -2.0, -2.0, 9.0, 4.0, 3),
        (120.0, 7.0, 7.0, 7.0, 7.0, 7.0, 1),
    ]


def test_rollup_keeps_its_span_and_refuses_older_points() -> None:
    rollup = Rollup(1.0, 9.0)  # ten buckets
    for ts in range(100):
        rollup.add(float(ts), float(ts))
    assert rollup.size == 10
    b = rollup.buckets(-math.inf, math.inf)
    assert b["ts"].tolist() == [float(t) for t in range(90, 100)]
    assert not rollup.add(89.5, 0.0)
    assert rollup.add(90.5, 100.0)
    assert rollup.buckets(90.0, 90.0)["max"].tolist() == [100.0]


def test_rollup_skips_over_a_long_silence() -> None:
    rollup = Rollup(1.0, 9.0)
    for ts in (0.0, 1.0, 2.0, 1000.0, 1003.0):
        rollup.add(ts, ts)
    assert rollup.buckets(-math.inf, math.inf)["ts"].tolist() == [1000.0, 1003.0]


def test_rollup_grows_from_a_small_buffer_only_as_time_passes() -> None:
    rollup = Rollup(10.0, 30 * 86400.0)
    rollup.add(0.0, 1.0)
    small = rollup.nbytes
    for ts in range(0, 3600, 10):
        rollup.add(float(ts), 1.0)
    assert rollup.size == 512
    assert small < rollup.nbytes < 512 * 40


def test_rollup_accepts_points_before_its_first_within_reach() -> None:
    rollup = Rollup(1.0, 100.0)
    rollup.add(50.0, 1.0)
    assert rollup.add(45.0, 2.0)
    assert rollup.buckets(-math.inf, math.inf)["ts"].tolist() == [45.0, 50.0]


@settings(max_examples=100)
@given(
    st.lists(st.tuples(st.integers(0, 500), st.integers(-50, 50)), min_size=1, max_size=80),
    st.sampled_from([1.0, 7.0, 60.0]),
    st.randoms(use_true_random=False),
)
def test_rollup_statistics_do_not_depend_on_arrival_order(
    points_: list[tuple[int, int]], width: float, rnd: random.Random
) -> None:
    in_order = Rollup(width, 1e6)
    shuffled = Rollup(width, 1e6)
    unique = sorted(set(points_))
    for ts, value in unique:
        in_order.add(float(ts), float(value))
    mixed = list(unique)
    rnd.shuffle(mixed)
    for ts, value in mixed:
        shuffled.add(float(ts), float(value))
    got = shuffled.buckets(-math.inf, math.inf)
    want = in_order.buckets(-math.inf, math.inf)
    for key in ("ts", "min", "max", "mean", "count", "first_ts", "last_ts"):
        assert np.allclose(got[key], want[key]), key
    # numpy over the points themselves
    times = np.array([p[0] for p in unique], dtype=float)
    values = np.array([p[1] for p in unique], dtype=float)
    keys = np.floor(times / width)
    assert got["count"].tolist() == [int((keys == k).sum()) for k in np.unique(keys)]
    assert got["max"].tolist() == [values[keys == k].max() for k in np.unique(keys)]


def append_one_by_one(
    ring: Ring, rollups: tuple[Rollup, ...], ts: float, value: float
) -> str | None:
    """What `Store.append` does without holding points: the model for it."""
    duplicates = ring.duplicates
    stored = ring.append(ts, value)
    if not stored and ring.duplicates > duplicates:
        return "duplicate"
    for rollup in rollups:
        stored = rollup.add(ts, value) or stored
    return None if stored else "too_old"


@settings(max_examples=120, deadline=None)
@given(
    st.integers(min_value=1, max_value=8),
    st.sampled_from([2.0, 10.0, 1e9]),
    st.sampled_from([1, 3, 256]),
    st.lists(
        st.tuples(st.integers(-4, 6), st.integers(0, 3), st.booleans()), min_size=1, max_size=120
    ),
)
def test_store_holding_points_stores_what_one_by_one_would(
    capacity: int, span: float, hold: int, steps: list[tuple[int, int, bool]]
) -> None:
    """Newer points wait with the series and go into the ring and rollups together;
    late points, repeats, and reads in between must see and store the same.  Half
    seconds put several points in a bucket; 1e39 is beyond the rollups' float32."""
    values = (0.0, 1.5, -2.0, 1e39)
    widths = ((1.0, 12.0), (7.0, 40.0))
    store = Store(max_series=1, raw_points=capacity, raw_span=span, rollups=widths)
    info = store.create(reading("a"), "home", None)
    assert info is not None
    ring = Ring(capacity, span)
    rollups = tuple(Rollup(width, keep) for width, keep in widths)
    saved = store_module.HOLD
    store_module.HOLD = hold
    try:
        ts = 1000.0
        for step, value, read in steps:
            ts += step / 2
            want = append_one_by_one(ring, rollups, ts, values[value])
            assert Store.append(info, ts, values[value]) == want
            if read:
                assert points(info.ring) == points(ring)
                for got, model in zip(info.rollups, rollups, strict=True):
                    assert rollup_stats(got) == rollup_stats(model)
    finally:
        store_module.HOLD = saved
    assert points(info.ring) == points(ring)
    for got, model in zip(info.rollups, rollups, strict=True):
        assert rollup_stats(got) == rollup_stats(model)
        for key, column in got.buckets(-math.inf, math.inf).items():
            assert np.allclose(column, model.buckets(-math.inf, math.inf)[key]), key


def series_with(rollups: tuple[tuple[float, float], ...], seconds: int) -> Store:
    store = Store(max_series=1, raw_points=100_000, raw_span=900.0, rollups=rollups)
    info = store.create(reading("a"), "home", None)
    assert info is not None
    for ts in range(seconds):
        Store.append(info, float(ts), math.sin(ts / 100))
    return store


def test_query_picks_raw_when_the_ring_reaches_back_far_enough() -> None:
    store = series_with(((10.0, 3600.0), (60.0, 86400.0)), 3600)
    info = store.series["a/temp"]
    assert Store.choose(info, 3000.0, 3600.0, 1000) is info.ring


def test_query_picks_the_coarsest_rollup_with_enough_points() -> None:
    store = series_with(((10.0, 3600.0), (60.0, 86400.0)), 3600)
    info = store.series["a/temp"]
    fine, coarse = info.rollups
    assert Store.choose(info, 0.0, 3600.0, 1000) is fine  # 360 buckets, 1440 points
    assert Store.choose(info, 0.0, 3600.0, 200) is coarse  # 60 buckets, 240 points
    ts, values = Store.points(fine, 0.0, 3600.0)
    assert len(ts) == 4 * 360
    assert np.all(np.diff(ts) >= 0)
    assert values.max() == pytest.approx(1.0, abs=1e-3)


def test_query_older_than_every_source_picks_the_one_reaching_furthest() -> None:
    store = series_with(((10.0, 600.0),), 3600)
    info = store.series["a/temp"]
    assert Store.choose(info, 0.0, 100.0, 100) is info.ring


def test_store_memory_of_a_day_at_one_hertz_stays_small() -> None:
    store = series_with(((10.0, 3600.0), (60.0, 86400.0), (900.0, 30 * 86400.0)), 86400)
    assert store.nbytes() < 150_000


def buckets_by_brute_force(
    points_: list[tuple[float, float]], width: float, capacity: int
) -> list[tuple[float, ...]]:
    """Each bucket the rollup should still hold, worked out from the points alone."""
    groups: dict[int, list[tuple[float, float]]] = {}
    for ts, value in points_:
        groups.setdefault(math.floor(ts / width), []).append((ts, value))
    top = max(groups)
    rows = []
    for number in sorted(n for n in groups if n > top - capacity):
        values = [v for _, v in groups[number]]
        rows.append(
            tuple(
                round(x, 4)
                for x in (
                    number * width,
                    values[0],
                    values[-1],
                    min(values),
                    max(values),
                    sum(values) / len(values),
                    len(values),
                )
            )
        )
    return rows


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(st.sampled_from([0.5, 1.0, 3.0, 9.0, 40.0]), st.integers(-5, 5)),
        min_size=1,
        max_size=150,
    ),
    st.lists(st.integers(1, 40), min_size=1, max_size=10),
)
def test_rollup_holds_the_buckets_its_points_make_however_they_wrap_around(
    steps: list[tuple[float, int]], chunks: list[int]
) -> None:
    """Points in time order, some far apart, into a small rollup whose buffer wraps
    around: one point at a time (`add`) and in runs (`extend`, as a series' held
    points come) both hold exactly the buckets worked out from the points."""
    width, keep = 2.0, 20.0  # 11 buckets at most
    ts, points_ = 100.0, []
    for step, value in steps:
        ts += step
        points_.append((ts, float(value)))
    one_by_one, in_runs = Rollup(width, keep), Rollup(width, keep)
    for t, v in points_:
        assert one_by_one.add(t, v)
    at, turn = 0, 0
    while at < len(points_):
        run = points_[at : at + chunks[turn % len(chunks)]]
        in_runs.extend(np.array([p[0] for p in run]), np.array([p[1] for p in run]))
        at, turn = at + len(run), turn + 1
    want = buckets_by_brute_force(points_, width, in_runs.capacity)
    assert rollup_stats(one_by_one) == want
    assert rollup_stats(in_runs) == want
