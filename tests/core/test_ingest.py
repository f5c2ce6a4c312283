"""HTTP ingest's pure part: gzip with a cap, and which lines a body's answer refuses."""

from __future__ import annotations

import gzip
import json
import tracemalloc

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from telemetry.config import Config
from telemetry.ingest import (
    HttpSource,
    IngestError,
    inflate,
    json_lines,
    line_protocol,
    refusal_message,
)
from telemetry.model import RawMessage, Route
from telemetry.normalize import Normalizer
from telemetry.parsetool import MessageReader

ROUTE = Route("http", "http", "influx", precision="s")


def _lines(body: bytes, max_lines: int = 100, max_line: int = 1000) -> tuple[list[int], list[str]]:
    parsed = line_protocol(body, ROUTE, "db", 1.0, max_lines=max_lines, max_line=max_line)
    return [r.line for r in parsed.refused], [m.payload.decode() for m in parsed.messages]


def test_ingest_inflate_reads_gzip() -> None:
    assert inflate(gzip.compress(b"m v=1\n"), 100) == b"m v=1\n"


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        (gzip.compress(b"x" * 10_000), 413, "inflates to over 1000 bytes"),
        (b"plain text", 400, "not gzip"),
        (gzip.compress(b"m v=1\n")[:-6], 400, "cut short"),
        (gzip.compress(b"m v=1\n") + b"junk", 400, "after the end"),
    ],
)
def test_ingest_inflate_refuses(body: bytes, status: int, says: str) -> None:
    with pytest.raises(IngestError) as caught:
        inflate(body, 1000)
    assert caught.value.status == status and says in caught.value.message


def test_ingest_line_protocol_names_each_refused_line() -> None:
    body = b'# comment\r\nroom,device=a t=1\r\n\r\nroom,device=a t=inf\nroom t="only a string"\n'
    refused, taken = _lines(body)
    assert refused == [4]
    assert taken == ["room,device=a t=1", 'room t="only a string"']  # strings: InfluxDB takes them


def test_ingest_line_protocol_caps_lines_and_line_length() -> None:
    with pytest.raises(IngestError, match="3 lines; at most 2") as caught:
        _lines(b"m v=1\nm v=2\nm v=3\n", max_lines=2)
    assert caught.value.status == 413
    refused, taken = _lines(b"m v=1\nm v=" + b"1" * 100 + b"\n", max_line=50)
    assert refused == [2] and taken == ["m v=1"]


@pytest.mark.parametrize("line", [b"a", b" ", b"#"])
def test_ingest_a_body_of_many_lines_is_counted_without_holding_them(line: bytes) -> None:
    """4 MiB (a gzip body of a few KiB inflates to it) of short lines: the cap is
    found without a list of millions of lines (8 MiB of them took 430 MB)."""
    body = (line + b"\n") * (2 * 1024 * 1024)
    size = len(body)
    reader = MessageReader(Config(), "http")

    def as_line_protocol() -> object:
        return line_protocol(body, ROUTE, "db", 1.0, max_lines=5000, max_line=1000)

    def as_json_lines() -> object:
        return json_lines(body, reader, 1.0, max_lines=5000)

    for parse in (as_line_protocol, as_json_lines):
        tracemalloc.start()
        try:
            parse()
        except IngestError as exc:
            assert exc.status == 413
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
        assert peak < 3 * size, f"{parse.__name__}: {peak / 1e6:.0f} MB for {size / 1e6:.0f} MB"


def test_ingest_line_protocol_refuses_a_body_that_is_not_utf8() -> None:
    with pytest.raises(IngestError, match="not UTF-8") as caught:
        _lines(b"m v=1\n\xff\n")
    assert caught.value.status == 400


@settings(max_examples=300)
@given(st.lists(st.text(alphabet='m,=v "t1.\\ -ix', max_size=12), min_size=1, max_size=5))
def test_ingest_refuses_exactly_the_lines_the_influx_family_refuses(lines: list[str]) -> None:
    """What the answer refuses is what the normalizer would count as a bad line."""
    body = "\n".join(lines).encode()
    refused, _ = _lines(body)
    outcome = Normalizer().normalize(RawMessage(ROUTE, "db", body, 1.0))
    bad = [e.detail for e in outcome.errors if e.reason == "bad_line"]
    assert [int(detail.split(":")[0].removeprefix("line ")) for detail in bad] == refused


def test_ingest_json_lines_are_routed_under_the_ingest_source() -> None:
    reader = MessageReader(Config(), "http")
    body = "\n".join(
        [
            json.dumps({"transport": "mqtt", "topic": "a/b", "payload": "1", "received": 5}),
            "[1]",
            json.dumps({"transport": "serial", "port": "p", "payload": "1\n2"}),
        ]
    ).encode()
    parsed = json_lines(body, reader, 42.0, max_lines=10)
    assert [(r.line, r.reason) for r in parsed.refused] == [(2, "expected a JSON object")]
    assert [(m.route.source, m.topic, m.payload, m.recv_ts) for m in parsed.messages] == [
        ("http", "a/b", b"1", 42.0),
        ("http", "p", b"1", 42.0),
        ("http", "p", b"2", 42.0),
    ]
    assert refusal_message(parsed) == (
        "partial write: 1 of 3 lines refused, 2 written: line 2: expected a JSON object"
    )


def test_ingest_source_counts_and_reports() -> None:
    source = HttpSource("http")
    assert source.status().state == "stopped"
    assert not source.put([])
    source.refuse("bad_line", 3)
    source.refuse("unauthorized")
    status = source.status()
    assert status.kind == "http"
    assert dict(status.rejected) == {"bad_line": 3, "unauthorized": 1}
