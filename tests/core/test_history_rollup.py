"""`telemetry.history.rollup`: fixed-width buckets, however points arrive."""

from __future__ import annotations

import math
import random
from typing import Any

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from telemetry.history import Rollup


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


class LateLast(random.Random):
    """A shuffle that moves the fourth point last: (3, -50) after (100, 1) above."""

    def shuffle(self, x: list[Any]) -> None:  # type: ignore[override]
        x.append(x.pop(3))


@settings(max_examples=100)
@given(
    st.lists(st.tuples(st.integers(0, 500), st.integers(-50, 50)), min_size=1, max_size=80),
    st.sampled_from([1.0, 7.0, 60.0]),
    st.randoms(use_true_random=False),
)
@example([(0, 50), (1, 0), (2, 0), (3, -50), (100, 1)], 60.0, LateLast())
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
    for key in ("ts", "min", "max", "count", "first_ts", "last_ts"):
        assert np.allclose(got[key], want[key]), key
    # numpy over the points themselves
    times = np.array([p[0] for p in unique], dtype=float)
    values = np.array([p[1] for p in unique], dtype=float)
    keys = np.floor(times / width)
    assert got["count"].tolist() == [int((keys == k).sum()) for k in np.unique(keys)]
    assert got["max"].tolist() == [values[keys == k].max() for k in np.unique(keys)]
    # A late point into an older bucket takes its sum back from the float32 mean
    # (the module's docstring), so each such point may add a float32 rounding of
    # the bucket's values' size: a bucket of 50, 0, 0 and a late -50 has the mean
    # -4.8e-7, not 0.  Within float32 steps of the largest value, times the points.
    exact = [values[keys == k].mean() for k in np.unique(keys)]
    slack = [np.abs(values[keys == k]).max() * 2e-7 * (keys == k).sum() for k in np.unique(keys)]
    for mean, wanted, near, k in zip(got["mean"], want["mean"], exact, slack, strict=True):
        assert abs(wanted - near) <= k + 1e-12  # in order: rounded once
        assert abs(mean - near) <= k + 1e-12


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


def test_rollup_nbytes_is_28_bytes_a_bucket_however_it_grew() -> None:
    rollup = Rollup(10.0, 3600.0)
    for end in (1, 100, 5000):
        rollup.extend(np.arange(end - 1.0, float(end)), np.ones(1))
        assert rollup.nbytes == 28 * rollup.size == rollup._buckets.nbytes


def rollup_bits(rollup: Rollup) -> list[tuple[str, list[int]]]:
    """Every column of every bucket, bit for bit (the means, so the sums, too)."""
    got = rollup.buckets(-math.inf, math.inf)
    return [(k, np.asarray(v, np.float64).view(np.uint64).tolist()) for k, v in sorted(got.items())]


@settings(max_examples=300, deadline=None)
@given(
    st.lists(st.integers(0, 40), min_size=1, max_size=12),
    st.sampled_from([0.5, 1.0, 7.0]),
    st.sampled_from([(3.0, 30.0), (10.0, 3600.0)]),
    st.booleans(),
    st.integers(0, 2**32 - 1),
)
def test_rollup_extend_runs_is_extend_of_each_run(
    sizes: list[int], step: float, tier: tuple[float, float], restored: bool, seed: int
) -> None:
    """In one pass, bit for bit what one `extend` per run does: the sums added up run
    by run, buckets spanning runs, runs of nothing, the buffer wrapping around."""
    rng = np.random.default_rng(seed)
    n = sum(sizes)
    ts = 1000.0 + np.cumsum(rng.uniform(0.01, 2 * step, n))
    values = rng.normal(0.0, 1e3, n) * rng.choice([1.0, 1e-9], n)
    values[rng.random(n) < 0.05] = 1e40  # beyond float32: infinity in the buckets
    width, keep = tier
    one, each = Rollup(width, keep), Rollup(width, keep)
    if restored:  # buckets there already, the newest one going on
        for r in (one, each):
            r.extend(np.array([990.0, 999.9]), np.array([1.5, -2.25]))
    starts = np.cumsum([0, *sizes[:-1]]).tolist()
    for a, b in zip(starts, [*starts[1:], n], strict=True):
        each.extend(ts[a:b], values[a:b])
    one.extend_runs(ts, values, starts)
    assert rollup_bits(one) == rollup_bits(each)
    assert (one.newest, one.oldest) == (each.newest, each.oldest)


@pytest.mark.parametrize("sizes", [[3000] * 5, [9000, 1, 20_000, 0, 700]])
def test_rollup_extend_runs_adds_long_buckets_as_extend_does(sizes: list[int]) -> None:
    """Buckets of a thousand points and more spanning runs: numpy sums long runs
    pairwise, in blocks; a part must be summed as that run alone would sum it."""
    rng = np.random.default_rng(len(sizes))
    n = sum(sizes)
    ts = 1000.0 + np.cumsum(rng.uniform(0.001, 0.02, n))
    values = rng.normal(0.0, 1.0, n) + 1e6
    one, each = Rollup(10.0, 3600.0), Rollup(10.0, 3600.0)
    starts = np.cumsum([0, *sizes[:-1]]).tolist()
    for a, b in zip(starts, [*starts[1:], n], strict=True):
        each.extend(ts[a:b], values[a:b])
    one.extend_runs(ts, values, starts)
    assert rollup_bits(one) == rollup_bits(each)


def test_rollup_keeps_times_within_a_bucket_to_a_65535th_of_its_width() -> None:
    """The first and last points' times place them when drawn: a 1 h bucket keeps them
    to 55 ms, whatever the epoch."""
    rollup = Rollup(3600.0, 30 * 86400.0)
    start = 1_700_000_000.0 // 3600 * 3600
    ts = start + np.array([0.0, 12.34, 1800.0, 3599.9])
    rollup.extend(ts, np.arange(4.0))
    b = rollup.buckets(-math.inf, math.inf)
    assert abs(b["first_ts"][0] - ts[0]) <= 3600 / 65535 / 2
    assert abs(b["last_ts"][0] - ts[-1]) <= 3600 / 65535 / 2
    assert rollup.first_ts == b["first_ts"][0]


def test_rollup_saves_times_within_a_bucket_as_float32_seconds() -> None:
    """As saved files always held them: a file from before still restores, and a
    round trip changes nothing."""
    rollup = Rollup(10.0, 3600.0)
    rollup.extend(np.array([100.0, 103.25, 109.5, 121.0]), np.array([5.0, 1.0, 3.0, 7.0]))
    newest, oldest, columns = rollup.snapshot()
    named = dict(zip(Rollup.COLUMNS, columns, strict=True))
    assert [c.dtype.str for c in columns] == ["<f4"] * 6 + ["<f8", "<u4"]
    assert abs(named["last_at"][10 % rollup.size] - 9.5) <= 10 / 65535 / 2
    again = Rollup.restore(10.0, 3600.0, newest, oldest, columns)
    assert rollup_stats(again) == rollup_stats(rollup)
    for key in ("first_ts", "last_ts"):
        assert again.buckets(0, 200)[key].tolist() == rollup.buckets(0, 200)[key].tolist()
    assert again._buckets.tobytes() == rollup._buckets.tobytes()


def test_rollup_mean_is_the_exact_mean_rounded_once_however_the_points_came() -> None:
    """Float32 means without float32 sums: a bucket filled in many runs (a series
    flushing at 10 Hz) has its exact mean rounded to float32 once; the newest
    bucket, still filling, its exact mean; a restart changes neither."""
    rng = np.random.default_rng(7)
    ts = 36_000.0 + np.arange(72_000) / 10  # two 1 h buckets at 10 Hz
    values = 1e5 + rng.normal(0, 1, len(ts))  # large, with small changes: rounding shows
    rollup = Rollup(3600.0, 86400.0)
    for at in range(0, len(ts), 512):
        rollup.extend(ts[at : at + 512], values[at : at + 512])
    whole = values[:36_000], values[36_000:]
    means = rollup.buckets(-math.inf, math.inf)["mean"]
    assert means[0] == float(np.float32(np.mean(whole[0])))
    assert means[1] == pytest.approx(np.mean(whole[1]), rel=1e-13, abs=0)
    again = Rollup.restore(3600.0, 86400.0, *rollup.snapshot())
    assert again.buckets(-math.inf, math.inf)["mean"].tolist() == means.tolist()
    # A late point into the filled bucket rounds its mean once more, no worse.
    assert rollup.add(37_000.05, 1e5)
    late = rollup.buckets(-math.inf, math.inf)["mean"][0]
    exact = (whole[0].sum() + 1e5) / (len(whole[0]) + 1)
    assert abs(late - exact) <= 2 * np.spacing(np.float32(exact))


def add_by_fold(rollup: Rollup, ts: float, value: float) -> bool:
    """`Rollup.add` as it was: every point through `_fold`'s arrays (the model)."""
    bucket = math.floor(ts / rollup.width)
    if bucket <= rollup._top - rollup.capacity:
        return False
    rollup._top = max(rollup._top, bucket)
    rollup._fold(np.array([ts]), np.array([value]), ordered=True)
    return True


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(-40, 12),
            # 1e39 is beyond float32 (infinity in the buckets); no -1e40 beside it:
            # infinity minus infinity in a sum is NaN, with numpy's warning.
            st.sampled_from([0.0, -0.0, 1.5, -2.25, 1e-30, 3e38, 1e39, 7.1]),
            st.booleans(),
        ),
        min_size=1,
        max_size=120,
    ),
    st.sampled_from([(1.0, 12.0), (7.0, 40.0), (60.0, 3600.0)]),
)
def test_rollup_add_of_one_point_is_the_fold_of_it_bit_for_bit(
    steps: list[tuple[int, float, bool]], tier: tuple[float, float]
) -> None:
    """A late point into a bucket the buffer holds takes `add`'s scalar path; it must
    leave every bucket as `_fold` would, bit for bit (the sums behind the means, -0.0,
    values beyond float32), with runs (`extend`) between, as a series flushes."""
    width, keep = tier
    fast, model = Rollup(width, keep), Rollup(width, keep)
    ts = 1000.0
    for step, value, run in steps:
        if run:  # a run of newer points, as a series' flush
            ts = max(ts, fast.newest * width) + abs(step) / 4 + 0.5
            times = np.array([ts, ts + 0.25])
            values = np.array([value, value / 2])
            fast.extend(times, values)
            model.extend(times, values)
            ts += 0.25
        else:  # a point anywhere around the newest: late ones mostly
            at = ts + step / 4
            assert fast.add(at, value) == add_by_fold(model, at, value)
    assert rollup_bits(fast) == rollup_bits(model)
    assert (fast.newest, fast.oldest, fast._open_sum) == (
        model.newest,
        model.oldest,
        model._open_sum,
    )
