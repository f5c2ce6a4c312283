"""Server-Sent Events encoding: values in, wire bytes out."""

from __future__ import annotations

import json
import math
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from telemetry import sse

_SSE_LINE_BREAK = re.compile(rb"\r\n|\r|\n")


def fields(chunk: bytes) -> list[bytes]:
    """The lines of one event as an SSE parser splits them (CR, LF and CRLF all end a line)."""
    assert chunk.endswith(b"\n\n")
    return _SSE_LINE_BREAK.split(chunk[:-2])


def test_event_is_id_event_data_and_a_blank_line() -> None:
    assert sse.event("readings", {"t": 1.5, "series": {}}, "abc-7") == (
        b'id: abc-7\nevent: readings\ndata: {"t":1.5,"series":{}}\n\n'
    )


def test_event_without_id_has_no_id_field() -> None:
    assert sse.event("hello", [1, 2]) == b"event: hello\ndata: [1,2]\n\n"


def test_event_data_keeps_non_ascii_text_as_utf8() -> None:
    assert (
        sse.event("catalog", {"unit": "°C"}) == 'event: catalog\ndata: {"unit":"°C"}\n\n'.encode()
    )


@pytest.mark.parametrize(
    "text", ["a\nb", "a\rb", "a\r\nb", "a\u2028b", "a\u2029b", "\n\n\r", "x\x00y"]
)
def test_event_data_is_one_line_whatever_the_strings_hold(text: str) -> None:
    chunk = sse.event("catalog", {"device": text, "list": [text]}, "c-1")
    lines = fields(chunk)
    assert [line.split(b":", 1)[0] for line in lines] == [b"id", b"event", b"data"]
    assert json.loads(lines[2].removeprefix(b"data: ")) == {"device": text, "list": [text]}


@given(st.text(st.characters(codec="utf-8")))
def test_event_data_round_trips_any_string_on_one_line(text: str) -> None:
    lines = fields(sse.event("readings", {"s": text}))
    assert len(lines) == 2
    assert json.loads(lines[1].removeprefix(b"data: ")) == {"s": text}


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_event_refuses_non_finite_numbers(value: float) -> None:
    with pytest.raises(ValueError, match="JSON compliant"):
        sse.event("readings", {"series": {"a/b": [[1.0, value]]}})


@pytest.mark.parametrize("name", ["", "read ings", "readings\n", "a\rb", "évent", "a;b"])
def test_event_refuses_a_name_that_is_not_a_plain_token(name: str) -> None:
    with pytest.raises(ValueError, match="is not a plain token"):
        sse.event(name, {})


@pytest.mark.parametrize("event_id", ["", "1 2", "1\n", "id\r\ndata: x", "ü"])
def test_event_refuses_an_id_that_is_not_a_plain_token(event_id: str) -> None:
    with pytest.raises(ValueError, match="is not a plain token"):
        sse.event("readings", {}, event_id)


def test_event_accepts_cursor_shaped_ids() -> None:
    assert sse.event("readings", 1, "65f1a2b3c4d5e6-12:3.4_x").startswith(
        b"id: 65f1a2b3c4d5e6-12:3.4_x\n"
    )


def test_comment_is_a_colon_line_and_a_blank_line() -> None:
    assert sse.comment() == b": ping\n\n"
    assert sse.comment("keepalive") == b": keepalive\n\n"


def test_retry_is_whole_milliseconds() -> None:
    assert sse.retry(3000) == b"retry: 3000\n\n"
    assert sse.retry(int(1500.9)) == b"retry: 1500\n\n"


def test_event_data_with_nulls_is_encoded_as_the_standard_library_would() -> None:
    data = {"unit": None, "device": "null/nullable", "values": [1e-05, -0.0, None]}
    (line,) = [f for f in fields(sse.event("catalog", data)) if f.startswith(b"data: ")]
    assert line.removeprefix(b"data: ") == sse.encode_json(data).encode()


_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**62), 2**62)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(st.characters(codec="utf-8")),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.text(st.characters(codec="utf-8"), max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@given(_JSON)
def test_event_data_reads_back_as_what_was_encoded(data: object) -> None:
    (line,) = [f for f in fields(sse.event("readings", data)) if f.startswith(b"data: ")]
    assert json.loads(line.removeprefix(b"data: ")) == data
