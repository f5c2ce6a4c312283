"""`bench.system`'s per-poll figure runs, on the tree of 20 sensors it measures."""

from __future__ import annotations

import pytest

from bench.system import per_poll, tree


def test_system_bench_polls_twenty_sensors_of_every_kind() -> None:
    with tree() as root:
        figures = per_poll(root, polls=20)
    assert figures["sensors"] == 20
    assert figures["poll_us"] > 0
    assert figures["percent_at_5s"] == pytest.approx(figures["poll_us"] / 1e6 / 5.0 * 100)
