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

from simulators import signals
from simulators.inprocess import SimSensor, SimulatedSource
from telemetry.config import AuthConfig, Config
from tests.harness.credentials import credentials_file
from tests.harness.server import RunningServer, launch

PATHS = [
    "/", "/events", "/api/series", "/api/history", "/api/export", "/healthz", "/metrics",
    "/login", "/logout", "/static/app.js",
]  # fmt: skip
PARAMETERS = ["series", "start", "end", "points", "format", "last_id", "x"]
HOSTILE = [
    "", "0", "-1", "1e309", "nan", "-inf", "99999999999999999999", "²", "١٢", "0x10", " 5",
    "rig/load", "*", "[", "%", "%ff", "\x00", "\r\nX: y", "a" * 2000, "../../etc/passwd",
    "\ud800", "é", "🙂", "1.5e3", "csv", "json", "xml",
    "telemetry_session=alice:\xb2:x", "telemetry_session=alice:99999999999:" + "A" * 43,
    "telemetry_session=:::", "Bearer \xff", "Bearer ", "Basic YWxpY2U6eA==",
    "bytes=0-1,2-3,4-5,6-7,8-9,10-11,12-13,14-15,16-17,18-19,20-21,22-23,24-25,26-27,28-29",
]  # fmt: skip


@pytest.fixture(scope="module", params=["open", "guarded"])
def server(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    """The module's own servers, without and with authentication: hypothesis calls
    each test many times."""
    source = SimulatedSource(
        "rig", [SimSensor("rig", "load", "W", 0.05, signals.sine(5.0, 1.0, 10.0))]
    )
    config = Config()
    if request.param == "guarded":
        config = Config(auth=AuthConfig(file=str(credentials_file(tmp_path_factory.mktemp("a")))))
    running = launch(config, [source])
    time.sleep(0.3)  # a few readings, so history and export have points to give
    yield running
    running.stop()


def _request(
    server: RunningServer, method: str, target: str, headers: dict[str, str], body: bytes
) -> int:
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        conn.putrequest(method, target, skip_accept_encoding=True)
        for name, value in headers.items():
            try:  # as bytes 0-255 where it can: how a crafted client sends "\xb2"
                raw = value.encode("latin-1")
            except UnicodeEncodeError:
                raw = value.encode("utf-8", "surrogatepass")
            conn.putheader(name, raw)
        if method == "POST":
            conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body if method == "POST" else None)
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
        [
            *["Cookie", "Authorization", "Last-Event-ID", "Range", "Origin", "Accept"],
            *["If-None-Match", "Sec-Fetch-Site", "Content-Type", "X-Forwarded-For", "Host"],
        ]
    ),
    header_values.map(lambda v: v.replace("\r", "").replace("\n", "")),
    max_size=4,
)


digits = st.sampled_from(["²", "١٢", "99999999999", "0", "-1", "", "1e3", "٣"])
cookies = st.builds(
    "telemetry_session={}:{}:{}".format,
    st.sampled_from(["alice", "bob", "", "ALICE", "alice\x00"]),
    st.one_of(digits, st.text(max_size=6)),
    st.one_of(st.just("A" * 43), st.text(max_size=50)),
)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    path=st.sampled_from(PATHS),
    method=st.sampled_from(["GET", "HEAD", "POST", "DELETE", "OPTIONS"]),
    query=queries,
    extra=headers,
    cookie=st.one_of(st.none(), cookies),
    body=st.one_of(
        st.binary(max_size=200),
        queries.map(lambda q: "&".join(f"{k}={v}" for k, v in q).encode("utf-8", "surrogatepass")),
        st.just(b"user=alice&password=x&user=bob&a=1&b=2&c=3"),
    ),
)
def test_no_hostile_request_makes_a_handler_fail(  # noqa: PLR0917 (hypothesis passes them)
    server: RunningServer,
    caplog: pytest.LogCaptureFixture,
    path: str,
    method: str,
    query: list[tuple[str, str]],
    extra: dict[str, str],
    cookie: str | None,
    body: bytes,
) -> None:
    caplog.set_level(logging.WARNING)
    text = "&".join(
        f"{quote(k)}={quote(v.encode('utf-8', 'surrogatepass'), safe='')}" for k, v in query
    )
    target = path + ("?" + text if text else "")
    if path == "/events" and method == "GET":
        extra = {**extra, "Connection": "close"}
    if cookie is not None:
        extra = {**extra, "Cookie": cookie.replace("\r", "").replace("\n", "")}
    failed = server.edge.errors
    status = _request(server, method, target, extra, body)
    assert status < 500, (method, target, extra)
    assert server.edge.errors == failed, (method, target, extra)
    assert not [r for r in caplog.records if r.exc_info], (method, target, extra)
