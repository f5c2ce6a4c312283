"""Hostile paths and headers on the static files: refused fast, never a file outside."""

from __future__ import annotations

import socket
import time

from tests.harness.server import RunningServer, StartServer


def raw(server: RunningServer, request: bytes) -> tuple[int, bytes]:
    """Send `request` as is (no client library normalising the path); status and body."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request)
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def get(server: RunningServer, path: bytes, *headers: bytes) -> tuple[int, bytes]:
    lines = [b"GET " + path + b" HTTP/1.1", b"Host: 127.0.0.1", b"Connection: close", *headers]
    return raw(server, b"\r\n".join(lines) + b"\r\n\r\n")


def test_traversal_encoded_traversal_and_nul_bytes_never_leave_the_static_folder(
    start_server: StartServer,
) -> None:
    server = start_server()
    for path in (
        b"/static/../app.py",
        b"/static/%2e%2e/app.py",
        b"/static/%2e%2e%2fapp.py",
        b"/static/..%2fapp.py",
        b"/static/%252e%252e/app.py",
        b"/static/vendor/../../app.py",
        b"/static/style.css%00.txt",
        b"/static/%00",
        b"/static//etc/passwd",
        b"/static/..\\app.py",
    ):
        started = time.monotonic()
        status, body = get(server, path)
        assert status in (400, 404), (path, status)
        assert b"create_app" not in body and b"root:" not in body
        assert time.monotonic() - started < 1.0
    assert get(server, b"/static/style.css")[0] == 200


def test_thousands_of_byte_ranges_get_416_at_once(start_server: StartServer) -> None:
    server = start_server()
    many = b"Range: bytes=" + b",".join(b"%d-%d" % (i, i) for i in range(5000))
    started = time.monotonic()
    status, body = get(server, b"/static/vendor/uplot/uPlot.iife.min.js", many)
    assert status == 416 and body == b""
    assert time.monotonic() - started < 1.0
    status, body = get(server, b"/static/style.css", b"Range: bytes=0-9")
    assert status == 206 and len(body) == 10
    status, _ = get(server, b"/static/style.css", b"Range: bytes=999999-")
    assert status == 416
