"""`web.edge`: every answer carries the security headers, and no error is a 500.

Faults are injected by making a part the handler calls raise (the only mocks
here); everything else is a real uvicorn spoken to over HTTP.
"""

from __future__ import annotations

import http.client
import logging
from urllib.parse import urlsplit

import pytest

from telemetry.config import Config, ServerConfig
from telemetry.sources import SourceStatus
from tests.harness.server import RunningServer, StartServer
from tests.harness.sse_client import SSEClient


def _get(
    server: RunningServer, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read()
    finally:
        conn.close()


def _assert_security_headers(headers: dict[str, str]) -> None:
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert "referrer-policy" in headers


def test_an_error_in_a_handler_is_a_400_with_headers_logged_once_without_traceback(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = start_server(Config())
    working = server.runtime.statuses

    def broken() -> list[SourceStatus]:
        raise ValueError("a value no one expected")

    server.runtime.statuses = broken  # type: ignore[method-assign]
    caplog.set_level(logging.INFO)
    for _ in range(3):
        status, headers, body = _get(server, "/api/series")
        assert status == 400, body
        assert b"bad request" in body
        _assert_security_headers(headers)
    assert server.edge.errors == 3
    lines = [r for r in caplog.records if r.name == "web.edge" and r.levelno >= logging.WARNING]
    assert len(lines) == 1, [r.getMessage() for r in lines]  # once a minute, not per request
    assert "ValueError" in lines[0].getMessage() and "/api/series" in lines[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records if r.levelno >= logging.WARNING)
    assert not any("Traceback" in r.getMessage() for r in caplog.records)
    server.runtime.statuses = working  # type: ignore[method-assign]
    assert _get(server, "/api/series")[0] == 200  # nothing else broke
    status, _, metrics = _get(server, "/metrics")
    assert status == 200 and b"telemetry_http_errors_total 3.0" in metrics


def test_an_error_in_the_stream_before_it_starts_is_a_400_with_headers(
    start_server: StartServer,
) -> None:
    server = start_server(Config())

    def broken(host: str, patterns: tuple[str, ...] | None) -> object:
        raise RuntimeError("no stream today")

    server.runtime.hub.connect = broken  # type: ignore[assignment, method-assign]
    with SSEClient(server.url + "events") as client:
        assert client.status == 400
        assert client.headers["content-type"] == "application/json"  # never a stream
        _assert_security_headers(client.headers)
    assert server.edge.errors == 1


def test_the_host_check_answers_every_route_with_the_security_headers(
    start_server: StartServer,
) -> None:
    server = start_server(Config(server=ServerConfig(allowed_hosts=("pi.local",))))
    for path in ("/events", "/", "/api/series", "/static/main.js", "/nope"):
        status, headers, _ = _get(server, path, {"Host": "evil.example"})
        assert status == 400, path
        _assert_security_headers(headers)
    status, headers, _ = _get(server, "/api/series", {"Host": "pi.local"})
    assert status == 200
    _assert_security_headers(headers)


def test_not_found_and_wrong_methods_carry_the_security_headers(
    start_server: StartServer,
) -> None:
    server = start_server(Config())
    status, headers, _ = _get(server, "/no/such/page")
    assert status == 404
    _assert_security_headers(headers)
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        conn.request("DELETE", "/events")
        response = conn.getresponse()
        response.read()
        assert response.status == 405
        _assert_security_headers({k.lower(): v for k, v in response.getheaders()})
    finally:
        conn.close()
