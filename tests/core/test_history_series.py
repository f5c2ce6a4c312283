"""`telemetry.history.series` and `.store`: a series owns its history; the store caps them."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from telemetry import frames
from telemetry.config import HistoryConfig
from telemetry.history import (
    FLUSHED,
    HELD,
    HOLD,
    LATE,
    Changes,
    FloatArray,
    Ring,
    Rollup,
    Runs,
    Series,
    Store,
    series,
)
from telemetry.model import Reading
from tests.core.test_history_ring import points
from tests.core.test_history_rollup import rollup_stats


def reading(device: str, sensor: str = "temp") -> Reading:
    return Reading(device, sensor, 1.0, None, 100.0, 100.0)


def made(store: Store, device: str = "a") -> Series:
    got = store.create(reading(device), "home", None)
    assert got is not None
    return got


def pair(arrays: tuple[FloatArray, FloatArray]) -> list[tuple[float, float]]:
    return list(zip(arrays[0].tolist(), arrays[1].tolist(), strict=True))


def test_store_creates_a_catalog_entry_per_series() -> None:
    store = Store(max_series=10, raw_points=16, raw_span=60.0)
    got = store.create(reading("kitchen"), "home", "°C")
    assert got is not None
    assert store.series == {"kitchen/temp": got}
    assert [e.id for e in store.entries()] == ["kitchen/temp"]
    assert frames.series(got.entry)["unit"] == "°C"
    assert frames.series(got.entry)["source"] == "home"


def test_store_series_cap_refuses_and_counts_new_series() -> None:
    store = Store(max_series=2, raw_points=16, raw_span=60.0)
    assert store.create(reading("a"), "home", None) is not None
    assert store.create(reading("b"), "home", None) is not None
    assert store.create(reading("c"), "home", None) is None
    assert store.create(reading("d"), "home", None) is None
    assert sorted(store.series) == ["a/temp", "b/temp"]
    assert store.refused_series == 2


def test_series_append_updates_last_value_and_counts() -> None:
    s = made(Store(max_series=2, raw_points=16, raw_span=60.0))
    assert s.append(101.0, 5.0) is None
    assert s.append(102.0, 6.0) is None
    assert (s.entry.count, s.entry.last_ts, s.entry.last_value) == (2, 102.0, 6.0)


def test_series_append_of_a_late_point_inserts_it_and_keeps_the_newest_as_last() -> None:
    s = made(Store(max_series=2, raw_points=16, raw_span=60.0))
    s.append(102.0, 6.0)
    assert s.append(101.0, 5.0) is None
    assert s.append(101.0, 5.0) == "duplicate"  # a QoS 1 redelivery
    assert (s.entry.count, s.entry.refused, s.entry.last_value) == (2, 1, 6.0)
    assert s.raw()[1].tolist() == [5.0, 6.0]


@pytest.mark.parametrize("count", [0, 1, 15, 16, 17, 31, 32, 33, 100])
def test_series_keeps_the_configured_number_of_raw_points(count: int) -> None:
    s = made(Store(max_series=1, raw_points=16, raw_span=1e9))
    for i in range(count):
        s.append(float(i), float(i))
    s.flush()
    assert s.raw()[0].tolist() == [float(i) for i in range(max(0, count - 16), count)]


def test_series_reads_change_nothing() -> None:
    """`raw`, `query`, `snapshot` and `nbytes` answer with the held points, and leave
    them held: a scrape or a query is not a write."""
    s = made(Store(max_series=1, raw_points=1000, raw_span=1e9, rollups=((10.0, 3600.0),)))
    for i in range(100):  # fewer than HOLD: all held
        s.append(1000.0 + i, float(i))
    before = (len(s._held_ts), s._ring.nbytes, [r.nbytes for r in s._rollups])
    assert len(s.raw()[0]) == 100
    got = s.query(0.0, 5000.0, 10)  # a long range, few points: the rollup answers
    assert got.source == "10s" and got.ts.tolist() == [1000.0 + i for i in range(100)]
    assert s.snapshot().held[0].tolist() == [1000.0 + i for i in range(100)]
    assert s.nbytes > 0 and s.raw_count == 100
    assert (len(s._held_ts), s._ring.nbytes, [r.nbytes for r in s._rollups]) == before
    assert len(s._ring) == 0 and s._rollups[0].newest == -1


def test_series_snapshot_and_restore_give_the_same_series() -> None:
    widths = ((10.0, 600.0), (60.0, 3600.0))
    store = Store(max_series=1, raw_points=500, raw_span=300.0, rollups=widths)
    s = made(store)
    for i in range(1300):  # flushed twice, 276 still held
        s.append(float(i), math.sin(i / 30))
    again = Series.restore(s.snapshot(), 500, 300.0, widths)
    assert pair(again.raw()) == pair(s.raw())
    for start, end, n in ((0.0, 1300.0, 100), (1000.0, 1300.0, 2000), (0.0, 1300.0, 5000)):
        a, b = s.query(start, end, n), again.query(start, end, n)
        assert (a.source, a.ts.tolist(), a.values.tolist()) == (
            b.source,
            b.ts.tolist(),
            b.values.tolist(),
        )
    assert frames.series(again.entry) == frames.series(s.entry)
    s.flush()
    again.flush()
    for x, y in zip(s._rollups, again._rollups, strict=True):
        assert rollup_stats(x) == rollup_stats(y)


def test_store_restore_adds_nothing_when_one_saved_series_is_broken() -> None:
    store = Store(max_series=5, raw_points=16, raw_span=60.0)
    good = made(Store(max_series=1, raw_points=16, raw_span=60.0)).snapshot()
    bad = made(Store(max_series=1, raw_points=16, raw_span=60.0), "b").snapshot()
    bad = type(bad)(**{**{f: getattr(bad, f) for f in bad.__dataclass_fields__},
                       "raw": (np.array([2.0, 1.0]), np.array([0.0, 0.0]))})  # fmt: skip
    with pytest.raises(ValueError, match="in order"):
        store.restore([good, bad])
    assert store.series == {}
    assert store.restore([good]) == ["a/temp"]


def append_one_by_one(
    ring: Ring, rollups: tuple[Rollup, ...], ts: float, value: float
) -> str | None:
    """What `Series.append` does without holding points: the model for it."""
    duplicates = ring.duplicates
    stored = ring.append(ts, value)
    if not stored and ring.duplicates > duplicates:
        return "duplicate"
    for rollup in rollups:
        stored = rollup.add(ts, value) or stored
    return None if stored else "too_old"


def test_series_holds_other_values_at_its_newest_time_and_refuses_repeats() -> None:
    """Points at the newest time with new values (a batch of lines without
    timestamps, a device clock in whole seconds) are held like newer ones, before
    and after a flush, not put in one at a time (about 0.8 ms each through the
    rollups); a value already there at that time is a repeat either way."""
    widths = ((2.0, 40.0), (30.0, 3000.0))
    s = made(Store(max_series=1, raw_points=100, raw_span=1e9, rollups=widths))
    ring = Ring(100, 1e9)
    rollups = tuple(Rollup(width, keep) for width, keep in widths)
    for value in (1.0, 2.0, 3.0):
        assert s.append(1000.0, value) is None
        assert append_one_by_one(ring, rollups, 1000.0, value) is None
    assert len(s._held_ts) == 3
    s.flush()
    for value in (4.0, 5.0, 2.0, 6.0, 5.0):
        assert s.append(1000.0, value) == append_one_by_one(ring, rollups, 1000.0, value)
    assert len(s._held_ts) == 3  # 4, 5 and 6; 2 (in the ring) and 5 (held) are repeats
    assert s.entry.refused == 2
    assert pair(s.raw()) == points(ring)
    s.flush()
    for got, model in zip(s._rollups, rollups, strict=True):
        assert rollup_stats(got) == rollup_stats(model)


@settings(max_examples=300, deadline=None)
@given(
    st.integers(min_value=1, max_value=8),
    st.sampled_from([2.0, 10.0, 1e9]),
    st.sampled_from([1, 3, 256]),
    st.lists(
        st.tuples(st.integers(-4, 6), st.integers(0, 3), st.booleans()), min_size=1, max_size=120
    ),
)
# Points at one time past a small ring: held ones push the ring's out of the check.
@example(capacity=1, span=2.0, hold=3, steps=[(0, v, False) for v in (0, 1, 0, 1, 0)])
def test_series_holding_points_stores_what_one_by_one_would(
    capacity: int, span: float, hold: int, steps: list[tuple[int, int, bool]]
) -> None:
    """Newer points wait with the series and go into the ring and rollups together;
    late points, repeats, and reads in between must see and store the same.  Half
    seconds put several points in a bucket; 1e39 is beyond the rollups' float32."""
    values = (0.0, 1.5, -2.0, 1e39)
    widths = ((1.0, 12.0), (7.0, 40.0))
    s = made(Store(max_series=1, raw_points=capacity, raw_span=span, rollups=widths))
    ring = Ring(capacity, span)
    rollups = tuple(Rollup(width, keep) for width, keep in widths)
    saved = series.HOLD
    series.HOLD = hold
    try:
        ts = 1000.0
        for step, value, read in steps:
            ts += step / 2
            want = append_one_by_one(ring, rollups, ts, values[value])
            assert s.append(ts, values[value]) == want
            if read:  # what is held counts as stored, without being put in
                assert pair(s.raw()) == points(ring)
    finally:
        series.HOLD = saved
    s.flush()
    assert pair(s.raw()) == points(ring)
    for got, model in zip(s._rollups, rollups, strict=True):
        assert rollup_stats(got) == rollup_stats(model)
        for key, column in got.buckets(-math.inf, math.inf).items():
            assert np.allclose(column, model.buckets(-math.inf, math.inf)[key]), key


@settings(max_examples=100, deadline=None)
@given(
    st.sampled_from([1, 5, 64]),
    st.sampled_from([3.0, 50.0, 1e9]),
    st.lists(st.integers(1, 400), min_size=1, max_size=6),
    st.integers(0, 30),
)
def test_series_extend_stores_what_appending_one_by_one_would(
    capacity: int, span: float, runs: list[int], after: int
) -> None:
    """A run at once (a backlog) leaves the ring, the rollups and the catalog entry
    as the same points appended one at a time; appends may follow."""
    widths = ((2.0, 40.0), (30.0, 3000.0))
    one = made(Store(max_series=1, raw_points=capacity, raw_span=span, rollups=widths))
    bulk = made(Store(max_series=1, raw_points=capacity, raw_span=span, rollups=widths))
    t = 1000.0
    for n in runs:
        ts = t + 0.75 * np.arange(n, dtype=np.float64)
        values = np.sin(ts)
        for a, b in zip(ts.tolist(), values.tolist(), strict=True):
            assert one.append(a, b) is None
        bulk.extend(ts, values)
        t = float(ts[-1]) + 0.5
    for i in range(after):
        assert one.append(t + i, -1.0) is None
        assert bulk.append(t + i, -1.0) is None
    assert pair(bulk.raw()) == pair(one.raw())
    assert frames.series(bulk.entry) == frames.series(one.entry)
    one.flush()
    bulk.flush()
    for x, y in zip(bulk._rollups, one._rollups, strict=True):
        assert rollup_stats(x) == rollup_stats(y)


def test_series_extend_refuses_points_not_newer_than_the_last() -> None:
    s = made(Store(max_series=1, raw_points=16, raw_span=60.0))
    s.append(10.0, 1.0)
    with pytest.raises(ValueError, match="times do not rise"):
        s.extend(np.array([10.0, 11.0]), np.zeros(2))
    with pytest.raises(ValueError, match="times do not rise"):
        s.extend(np.array([12.0, 12.0]), np.zeros(2))
    assert s.raw()[0].tolist() == [10.0] and s.entry.count == 1


def test_series_extend_of_a_long_run_keeps_the_ring_as_small_as_appends_would() -> None:
    """A day at once must not grow the raw buffer past what the span keeps."""
    store = Store(max_series=2, raw_points=20_000, raw_span=900.0, rollups=())
    one, bulk = made(store, "a"), made(store, "b")
    ts = np.arange(86_400.0)
    for t in ts[-3000:].tolist():
        one.append(t, 0.0)
    one.flush()
    bulk.extend(ts, np.zeros(len(ts)))
    assert bulk.nbytes <= one.nbytes
    assert len(bulk.raw()[0]) == 901


def series_with(rollups: tuple[tuple[float, float], ...], seconds: int) -> Series:
    s = made(Store(max_series=1, raw_points=100_000, raw_span=900.0, rollups=rollups))
    for ts in range(seconds):
        s.append(float(ts), math.sin(ts / 100))
    return s


def test_query_picks_raw_when_the_ring_reaches_back_far_enough() -> None:
    s = series_with(((10.0, 3600.0), (60.0, 86400.0)), 3600)
    got = s.query(3000.0, 3600.0, 1000)
    assert got.source == "raw" and len(got.ts) == 600  # 3000 .. 3599


def test_query_picks_the_coarsest_rollup_with_enough_points() -> None:
    s = series_with(((10.0, 3600.0), (60.0, 86400.0)), 3600)
    fine = s.query(0.0, 3600.0, 1000)  # 360 buckets, 1440 points
    assert fine.source == "10s"
    assert s.query(0.0, 3600.0, 200).source == "1m"  # 60 buckets, 240 points
    assert 4 * 359 <= len(fine.ts) <= 4 * 360 + 512  # buckets, then what is held
    assert np.all(np.diff(fine.ts) >= 0)
    assert fine.values.max() == pytest.approx(1.0, abs=1e-3)


def test_query_older_than_every_source_picks_the_one_reaching_furthest() -> None:
    s = series_with(((10.0, 600.0),), 3600)
    assert s.query(0.0, 100.0, 100).source == "raw"


def test_store_memory_of_a_day_at_one_hertz_stays_small() -> None:
    history = HistoryConfig()
    store = Store(1, history.raw_points, history.raw_span, history.rollups)
    s = made(store)
    for ts in range(86400):
        s.append(float(ts), math.sin(ts / 100))
    # The ring's 901 points and a quarter more; buckets of 28 bytes: 361 of 10 s,
    # 361 of 1 min, 361 of 4 min, 16 of 2 h (growing); what is held.
    assert store.nbytes() <= 16 * 1127 + 28 * (361 + 361 + 361 + 16) + 16 * HOLD


def exact_state(s: Series) -> list[object]:
    """Everything a series answers with, bit for bit: raw points, every rollup's
    columns (the means too, so the sums behind them), the entry's counts."""
    bits = [s.raw()[0].view(np.uint64).tolist(), s.raw()[1].view(np.uint64).tolist()]
    for rollup in s._rollups:
        for key, column in sorted(rollup.buckets(-math.inf, math.inf).items()):
            bits.append((rollup.width, key, column.view(np.uint64).tolist()))
    e = s.entry
    return [*bits, (e.count, e.last_ts, e.last_value)]


def test_series_extend_stores_what_append_and_flush_would() -> None:
    widths = ((10.0, 600.0), (60.0, 3600.0))
    one = made(Store(max_series=1, raw_points=500, raw_span=300.0, rollups=widths))
    batch = made(Store(max_series=1, raw_points=500, raw_span=300.0, rollups=widths))
    ts = 1000.0 + np.cumsum(np.random.default_rng(3).uniform(0.1, 2.0, 700))
    values = np.sin(ts / 50)
    for t, v in zip(ts.tolist()[:300], values.tolist()[:300], strict=True):
        one.append(t, v)
    one.flush()
    for t, v in zip(ts.tolist()[300:], values.tolist()[300:], strict=True):
        one.append(t, v)
    one.flush()
    batch.extend(ts[:300], values[:300])
    batch.extend(ts[300:], values[300:])
    assert exact_state(batch) == exact_state(one)


@pytest.mark.parametrize("ts", [[5.0, 6.0], [200.0, 200.0], [300.0, 250.0], [300.0, math.nan]])
def test_series_extend_refuses_points_that_do_not_rise_and_stores_none(ts: list[float]) -> None:
    s = made(Store(max_series=1, raw_points=16, raw_span=1e9, rollups=((10.0, 600.0),)))
    s.append(100.0, 1.0)
    before = exact_state(s)
    with pytest.raises(ValueError, match="rise"):
        s.extend(np.array(ts), np.zeros(len(ts)))
    assert exact_state(s) == before


@settings(max_examples=200, deadline=None)
@given(
    st.sampled_from([1, 3, 512]),
    st.lists(
        st.tuples(st.integers(-30, 8), st.integers(0, 3), st.booleans()), min_size=1, max_size=150
    ),
)
@example(hold=3, steps=[(0, 0, True), (0, 0, True)])  # a flush with nothing new
def test_series_changes_replayed_on_its_snapshot_give_the_same_series(
    hold: int, steps: list[tuple[int, int, bool]]
) -> None:
    """What persistence relies on: the runs a series took in, replayed in order on a
    copy of it as it was, rebuild it bit for bit, late points and repeats included,
    held points held (taking changes puts nothing in)."""
    widths = ((2.0, 20.0), (7.0, 60.0))
    store = Store(max_series=1, raw_points=40, raw_span=30.0, rollups=widths)
    s = made(store)
    saved = s.snapshot()
    store.track_changes(whole=False)
    copy = Series.restore(saved, 40, 30.0, widths)
    held, series.HOLD = series.HOLD, hold
    try:
        ts = 1000.0
        for step, value, take in steps:
            ts += step / 2
            s.append(ts if step >= 0 else ts + step, (0.5, -1.25, 3.0, 1e39)[value])
            if take:
                changes = s.take_changes()
                assert changes is not None
                assert (changes.count, changes.last_ts) == (copy.entry.count, copy.entry.last_ts)
                copy.replay(Runs.of(changes.runs))
                assert exact_state(copy) == exact_state(s)
        changes = s.take_changes()
        assert changes is not None
        copy.replay(Runs.of(changes.runs))  # under the same HOLD: its appends flush alike
    finally:
        series.HOLD = held
    assert exact_state(copy) == exact_state(s)


def test_series_changes_with_a_repeated_time_then_a_run_replay_bit_for_bit() -> None:
    """A held point at the newest held time with another value (kept), then a run
    stored at once: the replay puts the held points in where the series did, and
    the run in one batch, not point by point."""
    widths = ((2.0, 20.0), (7.0, 60.0))
    store = Store(max_series=1, raw_points=4000, raw_span=3000.0, rollups=widths)
    s = made(store)
    copy = Series.restore(s.snapshot(), 4000, 3000.0, widths)
    store.track_changes(whole=False)
    rng = np.random.default_rng(0)
    for i in range(200):
        s.append(1000 + i * 0.5, float(rng.normal()))
    assert s.append(1000 + 199 * 0.5, 7.77) is None  # the same time, another value
    ts = np.asarray(1200 + np.arange(1000) * 0.3, dtype=np.float64)
    s.extend(ts, np.asarray(np.sin(ts) * 1e3 + rng.normal(size=1000), dtype=np.float64))
    s.append(2000.0, 1.0)  # and one held
    changes = s.take_changes()
    assert changes is not None
    copy.replay(Runs.of(changes.runs))
    assert exact_state(copy) == exact_state(s)


def test_series_changes_are_kept_up_to_a_bound_then_the_whole_series_is_asked_for() -> None:
    """CHANGES_MAX points, however large the ring: a burst (or a fill) between two
    commits never keeps more than that in every series."""
    store = Store(max_series=2, raw_points=100_000, raw_span=1e9)
    s = made(store)
    assert s.take_changes() is None  # not tracked until now: save it whole
    n = series.CHANGES_MAX
    s.extend(np.arange(1.0, n + 1.0), np.zeros(n))
    changes = s.take_changes()
    assert changes is not None and sum(len(ts) for ts, _, _ in changes.runs) == n
    s.extend(np.arange(n + 1.0, 2 * n + 2.0), np.zeros(n + 1))  # one more than the bound
    assert not s.changes_known
    assert s.take_changes() is None
    assert s.nbytes < 2 * (2 * n + 1) * 16 + 4096  # the runs were let go
    s.append(1e9, 1.0)
    changes = s.take_changes()
    assert changes is not None and changes.count == 2 * n + 1
    assert [(ts.tolist(), kind) for ts, _, kind in changes.runs] == [([1e9], HELD)]


def test_store_tracking_keeps_a_new_series_from_its_creation() -> None:
    store = Store(max_series=2, raw_points=16, raw_span=60.0)
    store.track_changes(whole=False)
    s = made(store)  # created at (100.0, 1.0), nothing stored yet
    s.append(100.0, 1.0)
    s.append(99.0, 2.0)  # late
    changes = s.take_changes()
    assert changes is not None
    assert (changes.count, changes.last_ts, changes.last_value) == (0, 100.0, 1.0)
    runs = [(ts.tolist(), kind) for ts, _, kind in changes.runs]
    assert runs == [([100.0], FLUSHED), ([99.0], LATE)]  # held, put in before the late one
    assert s.take_changes() == Changes(2, 100.0, 1.0, ())


def test_store_memory_of_a_month_at_one_hertz_is_the_defaults_arithmetic() -> None:
    """Every point of 30 days at 1 Hz, in runs: no buffer beyond what README's
    arithmetic for the default `[history]` says (67 KB of arrays a series at most)."""
    history = HistoryConfig()
    store = Store(1, history.raw_points, history.raw_span, history.rollups)
    s = made(store)
    for start in range(0, 30 * 86400, 4 * 3600):
        ts = np.arange(start, start + 4 * 3600, dtype=np.float64)
        s.extend(ts, np.sin(ts / 100))
    for t in range(30 * 86400, 30 * 86400 + HOLD - 1):  # held, as many as can be
        s.append(float(t), 0.0)
    buckets = 361 + 361 + 361 + 361
    assert store.nbytes() <= 16 * 1127 + 28 * buckets + 16 * HOLD < 67_000
    assert [r.size for r in s._rollups] == [361, 361, 361, 361]


def test_query_a_burst_of_old_points_still_held_comes_from_a_rollup_not_the_ring() -> None:
    # An hour of points every 30 s arriving at once (a fresh series, a reconnect
    # burst): all held, most older than the ring's span of 900 s.  Asking for
    # more points than the 10 s rollup has must not answer with the ring's last
    # 15 minutes alone.
    s = series_with(((10.0, 3600.0), (60.0, 86400.0)), 0)
    for i in range(120):
        s.append(30.0 * i, float(i))
    assert len(s.raw()[0]) < 120  # the ring keeps its span only
    got = s.query(0.0, 3600.0, 3000)
    assert got.source == "10s"
    assert got.ts[0] == 0.0 and len(got.ts) >= 120
