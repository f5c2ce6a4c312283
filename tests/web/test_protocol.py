"""`web.protocol`: a bounded, timed request head, and what it relies on in uvicorn.

Each test talks raw HTTP over a socket to a real uvicorn, as an attacker would.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import logging
import socket
import time
from urllib.parse import urlsplit

import pytest
import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol, RequestResponseCycle
from uvicorn.server import ServerState

from telemetry.config import Config, IngestConfig
from tests.harness.server import RunningServer, StartServer
from tests.harness.waiting import wait_until
from web import protocol
from web.protocol import MAX_HEAD, GuardedHttpTools


def _connect(server: RunningServer) -> socket.socket:
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return socket.create_connection((parts.hostname, parts.port), timeout=5)


def _answer(sock: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection."""
    received = b""
    while chunk := sock.recv(65536):
        received += chunk
    return received


def _head(answer: bytes) -> tuple[int, dict[str, str]]:
    lines = answer.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = dict(line.split(": ", 1) for line in lines[1:])
    return status, {k.lower(): v for k, v in headers.items()}


def _still_serves(server: RunningServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
        assert _answer(sock).startswith(b"HTTP/1.1 200")


def test_uvicorn_still_offers_what_the_guard_relies_on() -> None:
    """Fails loudly when a uvicorn release changes the internals `web.protocol` uses."""
    version = tuple(int(p) for p in uvicorn.__version__.split(".")[:2])
    assert (0, 55) <= version < (0, 56), f"uvicorn {uvicorn.__version__}: check web.protocol"
    for name in (
        "connection_made",
        "connection_lost",
        "data_received",
        "on_message_begin",
        "on_headers_complete",
        "send_400_response",
        "on_response_complete",
    ):
        assert callable(getattr(HttpToolsProtocol, name, None)), name
    init = inspect.getsource(HttpToolsProtocol.__init__)
    for attribute in ("self.loop", "self.transport", "self.cycle", "self.flow"):
        assert attribute in init, attribute
    assert "self.url" in inspect.getsource(HttpToolsProtocol.on_message_begin)
    assert "self.headers" in inspect.getsource(HttpToolsProtocol.on_message_begin)
    cycle = inspect.getsource(RequestResponseCycle.__init__)
    for attribute in (
        "self.disconnected",
        "self.response_complete",
        "self.message_event",
        "self.more_body",
    ):
        assert attribute in cycle, attribute
    assert isinstance(ServerState().connections, set)


def test_the_server_speaks_through_the_guarded_protocol(start_server: StartServer) -> None:
    server = start_server(Config())
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
        assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        connections = server.server.server_state.connections
        assert connections and all(isinstance(c, GuardedHttpTools) for c in connections)


@pytest.mark.parametrize("pieces", [1, 64])
def test_a_head_over_the_limit_gets_431_with_the_security_headers(
    start_server: StartServer, pieces: int
) -> None:
    server = start_server(Config())
    header = b"X-Big: " + b"a" * (2 * MAX_HEAD) + b"\r\n"
    request = b"GET /healthz HTTP/1.1\r\nHost: t\r\n" + header + b"\r\n"
    with _connect(server) as sock:
        step = len(request) // pieces + 1
        try:
            for i in range(0, len(request), step):
                sock.sendall(request[i : i + step])
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the rest arrived
        answer = _answer(sock)
    status, headers = _head(answer)
    assert status == 431
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff"
    _still_serves(server)


def test_a_32_mib_header_is_refused_without_being_read(start_server: StartServer) -> None:
    server = start_server(Config())
    sent = 0
    with _connect(server) as sock, pytest.raises((BrokenPipeError, ConnectionResetError)):
        sock.sendall(b"GET / HTTP/1.1\r\nHost: t\r\nCookie: ")
        chunk = b"b" * 65536
        while sent < 32 * 2**20:
            sock.sendall(chunk)
            sent += len(chunk)
    # The server stopped reading past MAX_HEAD; what was sent beyond sat in socket buffers.
    assert sent < 16 * 2**20
    _still_serves(server)


def test_a_head_of_a_legal_size_is_served(start_server: StartServer) -> None:
    server = start_server(Config())
    cookies = b"; ".join(b"c%d=%s" % (i, b"v" * 200) for i in range(40))  # 8 KB of cookies
    with _connect(server) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: t\r\nConnection: close\r\nCookie: "
            + cookies
            + b"\r\n\r\n"
        )
        assert _answer(sock).startswith(b"HTTP/1.1 200")


def test_malformed_http_gets_400_with_the_security_headers(start_server: StartServer) -> None:
    server = start_server(Config())
    with _connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost t\x00\r\n\r\n")
        status, headers = _head(_answer(sock))
    assert status == 400
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    _still_serves(server)


def test_a_malformed_request_behind_a_good_one_is_refused_without_an_error(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    """Pipelined garbage (what a body longer than its Content-Length leaves) is
    refused while the request before it runs; that request's answer is dropped,
    as for a client that hung up, not raised in the app."""
    server = start_server(Config())
    state = server.server.server_state
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\nm,device=x v=1\r\n\r\n")
        status, _ = _head(_answer(sock))  # the refusal, then the end of what is sent
        assert status == 400
        wait_until(lambda: not state.connections, what="the server closed after lingering")
    assert server.edge.errors == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    _still_serves(server)


@pytest.mark.parametrize(("path", "status"), [("/api/write", 413), ("/healthz", 405)])
def test_a_body_answered_before_it_arrived_is_read_no_further(
    start_server: StartServer, path: str, status: int
) -> None:
    """A refusal before the body (ingest's 413 by Content-Length, a 405) closes the
    connection soon after; a client trickling the rest must not hold it for good."""
    server = start_server(dataclasses.replace(Config(), ingest=IngestConfig(http=True)))
    state = server.server.server_state
    with _connect(server) as sock:
        sock.sendall(
            f"POST {path} HTTP/1.1\r\nHost: t\r\nContent-Length: 100000000\r\n\r\n".encode()
        )
        assert sock.recv(4096).startswith(f"HTTP/1.1 {status} ".encode())

        def closed() -> bool:
            with contextlib.suppress(OSError):
                sock.sendall(b"x" * 100)  # more of the body, a little at a time
            return not state.connections

        wait_until(closed, timeout=5, what="the server closed the connection")
    _still_serves(server)


def test_half_sent_requests_are_answered_408_and_closed(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(protocol, "HEAD_TIMEOUT", 0.5)
    server = start_server(Config())
    state = server.server.server_state
    baseline = len(state.connections)
    socks = [_connect(server) for _ in range(150)]
    try:
        for sock in socks[:100]:
            sock.sendall(b"GET /events HTTP/1.1\r\nHost: t\r\nX-Slow: ")  # and never the rest
        # The other 50 say nothing at all.
        started = time.monotonic()
        answers = [_answer(sock) for sock in socks]
        waited = time.monotonic() - started
    finally:
        for sock in socks:
            sock.close()
    assert all(_head(a)[0] == 408 for a in answers[:100])
    assert all(a == b"" for a in answers[100:])  # closed without a word
    assert waited < 5
    wait_until(lambda: len(state.connections) <= baseline, 5, what="connections released")
    _still_serves(server)


def test_a_complete_request_is_not_timed_out_while_it_runs(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The head's clock stops at the end of the head: a stream outlives it."""
    monkeypatch.setattr(protocol, "HEAD_TIMEOUT", 0.3)
    server = start_server(Config())
    with _connect(server) as sock:
        sock.sendall(b"GET /events HTTP/1.1\r\nHost: t\r\n\r\n")
        received = b""
        deadline = time.monotonic() + 1.0
        sock.settimeout(0.2)
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(4096)
            except TimeoutError:
                continue
            assert chunk, "the stream was closed"
            received += chunk
    assert received.startswith(b"HTTP/1.1 200") and b"event: hello" in received


def test_the_server_loop_wakes_every_two_seconds_and_stops_at_once(
    start_server: StartServer,
) -> None:
    """uvicorn's own main loop polls ten times a second; ours waits for `should_exit`."""
    server = start_server(Config())
    ticks = 0
    on_tick = server.server.on_tick

    async def counted(counter: int) -> bool:
        nonlocal ticks
        ticks += 1
        return await on_tick(counter)

    server.server.on_tick = counted  # type: ignore[method-assign]
    time.sleep(2.5)
    assert 1 <= ticks <= 3  # 2.5 s: one or two, not twenty-five
    started = time.monotonic()
    server.stop()
    assert time.monotonic() - started < 1.0
