"""The `influx` family: InfluxDB line protocol over MQTT and serial."""

from __future__ import annotations

import math
import re
import signal

from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.model import Outcome, RawMessage, Route
from telemetry.normalize import Normalizer
from telemetry.normalize.base import Context, ParseLimits, State
from telemetry.normalize.families.influx import FAMILY

NOW = 1_700_000_000.0
INFLUX = Route("lab", "mqtt", "influx")
AUTO = Route("lab", "mqtt", "auto")
SERIAL = Route("ttyUSB0", "serial", "influx", device="ttyUSB0")


def normalize(text: str | bytes, route: Route = INFLUX) -> Outcome:
    payload = text.encode() if isinstance(text, str) else text
    return Normalizer().normalize(RawMessage(route, "lab/x", payload, NOW))


def series(outcome: Outcome) -> list[tuple[str, str, float, float]]:
    return [(r.device, r.sensor, r.value, r.ts) for r in outcome.readings]


def reasons(outcome: Outcome) -> list[str]:
    return sorted(e.reason for e in outcome.errors)


def test_influx_device_tag_names_the_device_and_other_tags_the_sensor() -> None:
    out = normalize("cpu,cpu=cpu0,host=pi,zone=a usage=1.5,n=3i,u=4u")
    assert series(out) == [
        ("pi", "cpu.cpu0.a.usage", 1.5, NOW),
        ("pi", "cpu.cpu0.a.n", 3.0, NOW),
        ("pi", "cpu.cpu0.a.u", 4.0, NOW),
    ]
    assert [r.unit for r in out.readings] == [None, None, None]


def test_influx_device_tag_wins_over_host() -> None:
    assert series(normalize("m,host=gw,device=esp1 t=1"))[0][:2] == (
        "esp1",
        "gw.t",
    )  # the other tags stay in the sensor; a device tag's measurement does not


def test_influx_the_device_is_never_repeated_in_the_sensor() -> None:
    route = Route("lab", "mqtt", "influx", template="influx/{device}")
    out = Normalizer().normalize(
        RawMessage(route, "influx/esp0", b"environment,device=esp0 temperature=21.5", NOW)
    )
    assert [(r.device, r.sensor) for r in out.readings] == [("esp0", "temperature")]
    out = Normalizer().normalize(
        RawMessage(route, "influx/pi", b"cpu,cpu=cpu0,host=pi idle=9", NOW)
    )
    assert [(r.device, r.sensor) for r in out.readings] == [("pi", "cpu.cpu0.idle")]


def test_influx_without_device_tags_the_measurement_is_the_device() -> None:
    assert series(normalize("weather,location=us-midwest temperature=82")) == [
        ("weather", "us-midwest.temperature", 82.0, NOW)
    ]


def test_influx_escapes_are_undone() -> None:
    out = normalize('wea\\ ther,loc\\=x=us\\,mid\\ west temp\\=rature=82,s="a \\" b, c=d" ')
    assert series(out) == [("wea ther", "us,mid west.temp=rature", 82.0, NOW)]


def test_influx_booleans_are_states_and_strings_are_skipped_silently() -> None:
    out = normalize('m a=t,b=FALSE,c="21.5",d=True')
    assert [(r.sensor, r.value, r.kind) for r in out.readings] == [
        ("a", 1.0, "state"),
        ("b", 0.0, "state"),
        ("d", 1.0, "state"),
    ]
    assert out.errors == []


def test_influx_precision_comes_from_the_route() -> None:
    for precision, stamp in (
        ("s", "1699999900"),
        ("ms", "1699999900123"),
        (None, "1699999900123000000"),
    ):
        route = Route("lab", "mqtt", "influx", precision=precision)
        ts = normalize(f"m v=1 {stamp}", route).readings[0].ts
        assert math.isclose(ts, 1_699_999_900.123 if precision != "s" else 1_699_999_900.0)


def test_influx_malformed_lines_are_counted_and_the_rest_read() -> None:
    out = normalize('# comment\n\nm v=1\nm v=NaN\nm\nm,t v=1\nm v=1 12:00\nm v="open\nm v=2\r\n')
    assert [r.value for r in out.readings] == [1.0, 2.0]
    assert reasons(out) == ["bad_line"] * 5
    assert all(str(e).startswith("bad_line: line ") for e in out.errors)


def test_influx_numbers_out_of_range_are_bad_lines() -> None:
    huge = "9" * 5000  # past int()'s 4300 digits
    out = normalize(
        f"m v={huge}i\nm v=1e309\nm v=-9223372036854775809i\nm v=18446744073709551615u\n"
        "m w=0000000000000000000000042i"
    )
    assert [r.value for r in out.readings] == [float(2**64 - 1), 42.0]
    assert reasons(out) == ["bad_line"] * 3


def test_influx_serial_lines_belong_to_the_port() -> None:
    assert series(normalize("home,room=Kitchen temp=21 1699999900000000000", SERIAL)) == [
        ("ttyUSB0", "home.Kitchen.temp", 21.0, 1_699_999_900.0)
    ]


def test_influx_sniff_wants_the_line_grammar() -> None:
    def sniff(payload: bytes) -> bool:
        msg = RawMessage(AUTO, "t/x", payload, NOW)
        return FAMILY.sniff(Context(msg, None, None, State(), ParseLimits()))

    assert sniff(b"cpu,host=a usage=1.5 1600000000000000000")
    assert sniff(b"# header\nweather temperature=82i")
    for other in (b"21.5", b"temp=21.5 hum=40", b'{"a": 1}', b"hello world", b"T:21.5 H:40",
                  b"$GPGGA,123519,4807.038,N", b"a b=", b"time,temp\n1,2"):  # fmt: skip
        assert not sniff(other), other


def escape(text: str, specials: str) -> str:
    return re.sub(f"([{re.escape(specials)}])", r"\\\1", text)


WORD = st.text(
    st.characters(codec="utf-8", exclude_characters='\\\n\r\t"#'), min_size=1, max_size=8
)
WORD = WORD.filter(lambda w: w.strip() == w and w.isprintable())
NUMBER = st.one_of(
    st.integers(-(2**53), 2**53).map(lambda i: (float(i), f"{i}i")),
    st.integers(0, 2**53).map(lambda i: (float(i), f"{i}u")),
    st.floats(-1e15, 1e15, allow_nan=False).map(lambda f: (f, repr(f))),
)


@settings(max_examples=200, deadline=None)
@given(
    WORD.filter(lambda w: not w.startswith("#")),
    st.dictionaries(WORD.filter(lambda w: w not in ("device", "host", "id")), WORD, max_size=3),
    st.dictionaries(WORD, NUMBER, min_size=1, max_size=4),
    st.one_of(st.none(), st.integers(1_699_999_400, 1_700_000_600)),  # within the skew
)
def test_influx_generated_lines_parse_back(
    measurement: str,
    tags: dict[str, str],
    fields: dict[str, tuple[float, str]],
    stamp: int | None,
) -> None:
    line = escape(measurement, ", ")
    line += "".join(f",{escape(k, ',= ')}={escape(v, ',= ')}" for k, v in sorted(tags.items()))
    line += " " + ",".join(f"{escape(k, ',= ')}={text}" for k, (_, text) in fields.items())
    route = Route("lab", "mqtt", "influx", precision="s")
    out = normalize(line + ("" if stamp is None else f" {stamp}"), route)
    assert out.errors == [], line
    prefix = "".join(f"{tags[k]}." for k in sorted(tags))
    want = [
        (measurement.replace("/", "_"), prefix + k, v, NOW if stamp is None else float(stamp))
        for k, (v, _) in fields.items()
    ]
    assert series(out) == want, line


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_influx_arbitrary_bytes_never_raise(payload: bytes) -> None:
    for route in (INFLUX, AUTO, SERIAL):
        out = normalize(payload, route)
        assert not any(e.reason == "parser_error" for e in out.errors)
        for reading in out.readings:
            assert math.isfinite(reading.value) and len(reading.series) <= 201


@settings(max_examples=300, deadline=None)
@given(st.text(st.sampled_from('ab,= \\"\n#0123.-eiutf'), max_size=60))
def test_influx_grammar_soup_never_raises(text: str) -> None:
    out = normalize(text)
    assert not any(e.reason == "parser_error" for e in out.errors)


def test_influx_sniff_of_a_long_line_that_fails_late_returns_at_once() -> None:
    # Many numeric fields, then junk: an ambiguous number pattern made the
    # grammar backtrack exponentially here (found by fuzzing).
    line = "m " + ",".join(f"f{i}=1234567890" for i in range(40)) + " x y"

    def too_slow(signum: int, frame: object) -> None:
        raise TimeoutError("the line-protocol grammar backtracked")

    previous = signal.signal(signal.SIGALRM, too_slow)
    signal.alarm(5)
    try:
        outcome = Normalizer().normalize(
            RawMessage(Route("b", "mqtt", "auto"), "x/y", line.encode(), 1.7e9)
        )
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
    # The alarm's TimeoutError would surface as a parser_error rejection.
    assert [e.reason for e in outcome.errors if e.reason == "parser_error"] == []
    assert outcome.readings == []
