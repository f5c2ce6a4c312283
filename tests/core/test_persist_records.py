"""A commit's changes as a log record and back: every bit of every point, compactly."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.history import FLUSHED, HELD, KINDS, LATE, FloatArray, Run
from telemetry.persist.records import BadRecord, Declared, Points, Record, decode, encode
from tests.core.persist_helpers import START, new_store, series_for

FLOATS = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [0.0, -0.0, 5e-324, -2.5, 21.53, 1e16, 0.1 + 0.2, 123456.789, 9007199254740993.0]
)


def bits(a: FloatArray) -> list[int]:
    out: list[int] = np.asarray(a, dtype=np.float64).view(np.uint64).tolist()
    return out


def same_runs(a: tuple[tuple[int, tuple[Run, ...]], ...], b: object) -> bool:
    assert isinstance(b, tuple)
    for (key, runs), (key2, runs2) in zip(a, b, strict=True):
        assert key == key2
        for (ts, values, kind), (ts2, values2, kind2) in zip(runs, runs2, strict=True):
            assert (bits(ts), bits(values), kind) == (bits(ts2), bits(values2), kind2)
    return True


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.lists(
            st.tuples(
                st.lists(st.tuples(st.floats(-1e6, 1e6), FLOATS), max_size=30),
                st.sampled_from(KINDS),
            ),
            min_size=1,
            max_size=4,
        ),
        max_size=5,
    )
)
def test_runs_come_back_bit_for_bit(
    series: list[list[tuple[list[tuple[float, float]], int]]],
) -> None:
    """Any finite values (negative zero, subnormals, decimals, integers past 2**53);
    times rising within a run, in any order from one run to the next (a late point
    goes back in time)."""

    def run(points: list[tuple[float, float]], kind: int) -> Run:
        if kind == LATE:
            points = points[:1]
        ts = np.array([START + t for t, _ in points])
        values = np.array([v for _, v in points])
        ts, first = np.unique(ts, return_index=True)  # rising
        return ts, values[first], kind

    runs = tuple((key, tuple(run(*r) for r in each)) for key, each in enumerate(series))
    record = Record(3, points=Points.of(runs))
    back = decode(encode(record))
    assert back.seq == 3
    assert same_runs(tuple(record.points.by_key()), tuple(back.points.by_key()))


def test_declarations_and_whole_series_come_back() -> None:
    store = new_store()
    s = series_for(store, "a", START, unit=None)
    for i in range(700):  # flushed, then held
        s.append(START + i * 1.5, float(i % 17) - 3.5)
    whole = s.snapshot()
    declared = (
        Declared(0, "dev/x", "dev", "x", "°C", "home", 1.5, 0, 2.5, -0.0),
        Declared(7, "dev/y", "dev", "y", None, "home", 1.5, 12, 9.0, 1e300),
    )
    back = decode(encode(Record(9, declared=declared, whole=((4, whole),))))
    assert back.declared == declared
    ((key, again),) = back.whole
    assert key == 4
    for field in ("id", "device", "sensor", "unit", "source", "first_seen", "count", "last_ts"):
        assert getattr(again, field) == getattr(whole, field)
    assert [bits(a) for a in (*again.raw, *again.held)] == [
        bits(a) for a in (*whole.raw, *whole.held)
    ]
    for (w, n, o, cols), (w2, n2, o2, cols2) in zip(whole.rollups, again.rollups, strict=True):
        assert (w, n, o) == (w2, n2, o2)
        for c, c2 in zip(cols, cols2, strict=True):
            assert c.dtype == c2.dtype and c.tobytes() == c2.tobytes()


def test_sensor_values_and_jittered_times_take_a_few_bytes_a_point() -> None:
    """Two decimals at one point a second with receive-time jitter: the integers and
    the times' steps are what is stored, not 16 bytes a point."""
    rng = np.random.default_rng(5)
    n = 3000
    ts = START + np.arange(n) + rng.uniform(0, 0.01, n)
    decimals = np.round(20 + np.cumsum(rng.normal(0, 0.05, n)), 2)
    noisy = 20 + rng.normal(0, 0.1, n)
    small = len(encode(Record(1, points=Points.of([(0, [(ts, decimals, FLUSHED)])]))))
    large = len(encode(Record(1, points=Points.of([(0, [(ts, noisy, FLUSHED)])]))))
    assert small < 4 * n  # about three
    assert small < large < 10 * n  # full-precision noise: about six more


@pytest.mark.parametrize("cut", [0, 1, 10, 50, -1])
def test_a_record_cut_short_does_not_decode(cut: int) -> None:
    rng = np.random.default_rng(1)
    runs = ((0, ((START + np.arange(50.0), rng.normal(size=50), FLUSHED),)),)
    data = encode(Record(2, points=Points.of(runs)))
    with pytest.raises(BadRecord):
        decode(data[:cut])


def test_a_record_whose_arrays_do_not_fit_does_not_decode() -> None:
    import json  # noqa: PLC0415
    import zlib  # noqa: PLC0415

    head = json.dumps({"seq": 1, "declared": [], "whole": [], "arrays": [["keys", "<u4", 5]]})
    body = struct.pack("<I", len(head)) + head.encode() + b"\x00" * 8
    with pytest.raises(BadRecord, match="does not fit"):
        decode(zlib.compress(body))
    runs = ((0, ((np.array([START]), np.array([1.0]), FLUSHED),)),)
    good = zlib.decompress(encode(Record(1, points=Points.of(runs))))
    with pytest.raises(BadRecord):
        decode(zlib.compress(good + b"\x00"))


def test_a_run_whose_times_fall_does_not_decode() -> None:
    runs = ((0, ((np.array([START, START + 2.0, START + 1.0]), np.zeros(3), HELD),)),)
    with pytest.raises(BadRecord, match="rise"):
        decode(encode(Record(1, points=Points.of(runs))))
    late = (
        (0, ((np.array([START + 5.0]), np.zeros(1), FLUSHED),)),
        (1, ((np.array([START]), np.zeros(1), LATE),)),
    )
    back = decode(encode(Record(1, points=Points.of(late))))
    assert back.points.keys.tolist() == [0, 1]  # across runs: any order
