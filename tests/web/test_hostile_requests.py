"""Hostile requests to every endpoint: no handler fails, whatever the query, path or headers.

`web.edge` turns a handler's failure into a counted 400, so "no 500" alone would
hide a bug: these tests also hold the count of failed handlers at zero, and the
log free of tracebacks.  Hypothesis draws the requests; a real uvicorn answers.
"""

from __future__ import annotations

import http.client
import logging
import time
from collections.abc import Iterator
from urllib.parse import quote, urlsplit

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from simulators import signals
from simulators.inprocess import SimSensor, SimulatedSource
from telemetry.config import Config
from tests.harness.server import RunningServer, launch
from web.edge import Edge

PATHS = ["/", "/events", "/api/series", "/api/history", "/api/export", "/healthz", "/metrics"]
PARAMETERS = ["series", "start", "end", "points", "format", "last_id", "x"]
HOSTILE = [
    "", "0", "-1", "1e309", "nan", "-inf", "99999999999999999999", "²", "١٢", "0x10", " 5",
    "rig/load", "*", "[", "%", "%ff", "\x00", "\r\nX: y", "a" * 2000, "../../etc/passwd",
    "\ud800", "é", "🙂", "1.5e3", "csv", "json", "xml",
]  # fmt: skip


@pytest.fixture(scope="module")
def server() -> Iterator[RunningServer]:
    """The module's own server: hypothesis calls each test many times."""
    source = SimulatedSource(
        "rig", [SimSensor("rig", "load", "W", 0.05, signals.sine(5.0, 1.0, 10.0))]
    )
    running = launch(Config(), [source])
    time.sleep(0.3)  # a few readings, so history and export have points to give
    yield running
    running.stop()


def _edge(server: RunningServer) -> Edge:
    app = server.server.config.app
    assert isinstance(app, Starlette)
    edge = app.state.edge
    assert isinstance(edge, Edge)
    return edge


def _request(server: RunningServer, method: str, target: str, headers: dict[str, str]) -> int:
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers.items():
            conn.putheader(name, value.encode("utf-8", "surrogatepass"))
        conn.endheaders()
        response = conn.getresponse()
        if response.getheader("content-type", "").startswith("text/event-stream"):
            return response.status  # a stream: it will not end by itself
        response.read()
        return response.status
    finally:
        conn.close()


values = st.one_of(st.sampled_from(HOSTILE), st.text(max_size=40))
queries = st.lists(st.tuples(st.sampled_from(PARAMETERS), values), max_size=6)
header_values = st.one_of(
    st.sampled_from(HOSTILE),
    st.text(st.characters(min_codepoint=0x20, max_codepoint=0xFF), max_size=60),
)
headers = st.dictionaries(
    st.sampled_from(
        ["Cookie", "Authorization", "Last-Event-ID", "Range", "Origin", "Accept", "If-None-Match"]
    ),
    header_values.map(lambda v: v.replace("\r", "").replace("\n", "")),
    max_size=4,
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(PATHS),
    method=st.sampled_from(["GET", "HEAD", "POST", "DELETE", "OPTIONS"]),
    query=queries,
    extra=headers,
)
def test_no_hostile_request_makes_a_handler_fail(  # noqa: PLR0917 (hypothesis passes them)
    server: RunningServer,
    caplog: pytest.LogCaptureFixture,
    path: str,
    method: str,
    query: list[tuple[str, str]],
    extra: dict[str, str],
) -> None:
    caplog.set_level(logging.WARNING)
    text = "&".join(
        f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in query
    )
    target = path + ("?" + text if text else "")
    if path == "/events" and method == "GET":
        extra = {**extra, "Connection": "close"}
    status = _request(server, method, target, extra)
    assert status < 500, (method, target, extra)
    assert _edge(server).errors == 0, (method, target, extra)
    assert not [r for r in caplog.records if r.exc_info], (method, target, extra)
