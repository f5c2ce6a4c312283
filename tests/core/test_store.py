"""The per-series ring of raw points and the store's cap on series."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.model import Reading
from telemetry.store import Ring, Store


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


def test_ring_refuses_a_point_older_than_its_newest_and_changes_nothing() -> None:
    ring = filled(4, 3)
    before = points(ring)
    assert ring.append(1.5, -1.0) is False
    assert points(ring) == before
    assert ring.last_ts == 2.0


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
    st.lists(st.integers(min_value=-3, max_value=5), max_size=60),
    st.sampled_from([0.0, 3.0, 10.0, 1e9]),
)
def test_ring_behaves_like_a_list_of_the_last_capacity_points(
    capacity: int, steps: list[int], span: float
) -> None:
    """Each step moves time by a small amount, sometimes backwards (which is refused)."""
    ring = Ring(capacity, span)
    model: list[tuple[float, float]] = []
    ts = 0.0
    for n, step in enumerate(steps):
        ts += step
        accepted = ring.append(ts, float(n))
        assert accepted == (not model or ts >= model[-1][0])
        if accepted:
            model = [*model, (ts, float(n))][-capacity:]
        else:
            ts = model[-1][0]
        assert len(ring) == len(model)
        assert points(ring) == [p for p in model if p[0] >= model[-1][0] - span]


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
    assert Store.append(info, 101.0, 5.0)
    assert Store.append(info, 102.0, 6.0)
    assert (info.count, info.last_ts, info.last_value) == (2, 102.0, 6.0)


def test_store_append_of_an_older_point_is_refused_and_counted() -> None:
    store = Store(max_series=2, raw_points=16, raw_span=60.0)
    info = store.create(reading("a"), "home", None)
    assert info is not None
    Store.append(info, 102.0, 6.0)
    assert not Store.append(info, 101.0, 5.0)
    assert (info.count, info.refused, info.last_value) == (1, 1, 6.0)
    assert info.ring.points()[1].tolist() == [6.0]


@pytest.mark.parametrize("count", [0, 1, 15, 16, 17, 31, 32, 33, 100])
def test_store_ring_keeps_the_configured_number_of_raw_points(count: int) -> None:
    store = Store(max_series=1, raw_points=16, raw_span=1e9)
    info = store.create(reading("a"), "home", None)
    assert info is not None
    for i in range(count):
        Store.append(info, float(i), float(i))
    assert info.ring.points()[0].tolist() == [float(i) for i in range(max(0, count - 16), count)]
