"""A webhook receiver on a free loopback port: records what it was sent, and can
answer 500, hang (a dead webhook) or trickle its answer to inject those faults."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass(frozen=True, slots=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


class Hook:
    def __init__(self, answer: str = "ok", tls: ssl.SSLContext | None = None) -> None:
        # "ok" (200), "fail" (500), "hang" (no answer until closed), "trickle" (headers
        # that go on for 6 s, a byte every 0.2 s, then 200), "trickle-body" (a 200
        # whose body comes a byte every 0.2 s for 6 s), or a URL: a 302 redirect there.
        self.answer = answer
        self.received: list[Received] = []
        self.attempts = 0
        self.release = threading.Event()
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                hook.attempts += 1
                if hook.answer == "hang":
                    hook.release.wait(30)
                    return
                if hook.answer.startswith("trickle"):
                    hook.trickle(self)
                    return
                if hook.answer == "fail":
                    self.send_response(500)
                    self.end_headers()
                    return
                if hook.answer.startswith("http"):
                    self.send_response(302)
                    self.send_header("Location", hook.answer)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                hook.received.append(Received(self.path, dict(self.headers), body))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # a redirected POST, followed as a GET
                hook.attempts += 1
                hook.received.append(Received(self.path, dict(self.headers), b""))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, name="hook", daemon=True)
        self.thread.start()
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self.server.server_address[1]}/hook"

    def trickle(self, handler: BaseHTTPRequestHandler) -> None:
        """Each byte well inside a client's socket timeout, the whole answer far past it."""
        if self.answer == "trickle":  # headers that do not end for 6 s
            quick, slow, rest = (
                b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nX-Slow: ",
                b"." * 30,
                b"\r\n\r\n",
            )
        else:  # a body that comes a byte at a time
            quick, slow, rest = b"HTTP/1.1 200 OK\r\nContent-Length: 30\r\n\r\n", b"." * 30, b""
        try:
            handler.wfile.write(quick)
            for byte in slow:
                if self.release.wait(0.2):
                    return
                handler.wfile.write(bytes([byte]))
            handler.wfile.write(rest)
        except OSError:  # the client gave up
            pass

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def hooks() -> Iterator[Callable[[str], Hook]]:
    """Make webhook receivers with `hooks("ok" | "fail" | "hang")`; all closed after."""
    made: list[Hook] = []

    def make(answer: str = "ok") -> Hook:
        hook = Hook(answer)
        made.append(hook)
        return hook

    try:
        yield make
    finally:
        for hook in made:
            hook.close()
