"""The `system` family: the `[[system]]` reader's own lines, read back."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.config import SystemConfig
from telemetry.model import RawMessage
from telemetry.normalize import Normalizer, registry
from telemetry.normalize.families.system import line

ROUTE = SystemConfig(name="pi").route


def normalize(payload: bytes) -> tuple[dict[str, tuple[float, str | None, str]], list[str]]:
    outcome = Normalizer().normalize(RawMessage(ROUTE, "/", payload, 1000.0))
    readings = {r.series: (r.value, r.unit, r.kind) for r in outcome.readings}
    return readings, [e.reason for e in outcome.errors]


def test_system_family_reads_numbers_units_and_states() -> None:
    text = "\n".join(
        [
            line("cpu-thermal", 48.686, "°C"),
            line("fan", 1241.0, None),
            line("throttled/x", 1.0, "state"),
        ]
    )
    assert normalize(text.encode()) == (
        {
            "pi/cpu-thermal": (48.686, "°C", "number"),
            "pi/fan": (1241.0, None, "number"),
            "pi/throttled/x": (1.0, None, "state"),
        },
        [],
    )


def test_system_family_counts_what_is_no_number() -> None:
    assert normalize(b"a\tx\t\nb\tnan\tV\nc\t2\tV") == (
        {"pi/c": (2.0, "V", "number")},
        ["not_a_number", "not_finite"],
    )


def test_system_family_is_never_chosen_by_auto() -> None:
    for transport in ("mqtt", "serial", "sim"):
        assert "system" not in {f.name for f in registry.auto(transport)}
    assert ROUTE.format == "system"  # the reader names it: `auto` is never asked


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_system_family_never_raises_and_gives_only_finite_values(payload: bytes) -> None:
    readings, _ = normalize(payload)
    assert all(math.isfinite(v) for v, _, _ in readings.values())


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=1, max_size=30
    ).filter(lambda s: s.strip() == s and "\t" not in s),
    st.floats(allow_nan=False, allow_infinity=False, width=64),
)
def test_system_family_reads_back_what_the_reader_wrote(sensor: str, value: float) -> None:
    readings, errors = normalize(line(sensor, value, "°C").encode())
    if errors:  # a name no series can have (a lone '/'...): counted, never a wrong value
        assert readings == {}
    else:
        assert list(readings.values()) == [(value, "°C", "number")]
