"""uvicorn's HTTP protocol with the limits it lacks, and the one place that reaches into it.

uvicorn's httptools protocol reads a request head of any size for as long as
the client likes: a 32 MiB header was answered 200, and half-sent requests
held their sockets for good.  `GuardedHttpTools` adds what nginx has by
default:

- a request head (request line and headers) over `MAX_HEAD` bytes is answered
  431 and the connection closed;
- a head not complete `HEAD_TIMEOUT` seconds after its first byte (or after the
  connection opened) is answered 408 (closed silently when nothing was sent);
- uvicorn's own 400 for malformed HTTP carries the security headers, like
  every other answer;
- a request answered before its body has arrived whole (a refusal: 413,
  401, 405...) ends its connection: what the client still sends is dropped
  for `LINGER_TIME`, then the connection is closed, where uvicorn would read
  the rest for as long as it kept coming;
- a refusal while a request is still running (malformed bytes pipelined
  behind it, as a body longer than its Content-Length leaves) hangs that
  request up as a lost connection would: its answer is dropped, where a
  write after the refusal's end would raise in the app.

A request's scope carries `ABORT`: a call that drops its connection at once.
A stream that gives up on a client that stopped reading uses it: a plain
close would wait for the unsent bytes to drain, which for that client is
never, and hold the socket and its buffer meanwhile.  `abort_stuck` is what
shutdown uses on connections that will not finish by themselves (a stream
whose client stopped reading blocks its write until the socket buffer
drains, which may be never).

This module leans on uvicorn's internals (`HttpToolsProtocol`'s callbacks and
attributes, `ServerState.connections`); `tests/web/test_protocol.py` fails
loudly when a uvicorn release changes them, and pyproject pins uvicorn to the
releases that test covers.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
from uvicorn.server import ServerState

from web.headers import SECURITY_HEADERS

logger = logging.getLogger(__name__)

ABORT = "telemetry.abort"  # the scope key of the request's `abort()`
MAX_HEAD = 64 * 1024  # bytes of request line and headers: 64 series ids of 200 characters, encoded
HEAD_TIMEOUT = 10.0  # seconds for a whole request head; nginx allows 60
# After a refusal, what the client still sends is read and dropped for a while
# before the close: closing with unread bytes makes the kernel send a reset,
# which can destroy the answer before the client reads it (nginx's lingering close).
LINGER_TIME = 1.0
LINGER_BYTES = 256 * 1024

_REASONS = {400: b"Bad Request", 408: b"Request Timeout", 431: b"Request Header Fields Too Large"}
_SECURITY = b"".join(name + b": " + value + b"\r\n" for name, value in SECURITY_HEADERS)


class _HeadTooLarge(Exception):
    """Raised from a parser callback to stop parsing a head already answered 431."""


def refusal(status: int, text: str) -> bytes:
    """A whole HTTP/1.1 answer that closes the connection, with the security headers."""
    body = text.encode("ascii", "replace")
    return b"".join(
        [
            b"HTTP/1.1 %d %s\r\n" % (status, _REASONS[status]),
            _SECURITY,
            b"content-type: text/plain; charset=utf-8\r\n",
            b"content-length: %d\r\n" % len(body),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


class GuardedHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bounded, timed request head."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_bytes = 0
        self._head_timer: asyncio.TimerHandle | None = None
        self._lingering: int | None = None  # bytes dropped since a refusal

    # -- the head's clock -------------------------------------------------------

    def _start_head(self) -> None:
        self._head_bytes = 0
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(HEAD_TIMEOUT, self._head_too_slow)

    def _end_head(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self._head_bytes:  # a head began and never ended: say so, then close
            self._refuse(408, "the request head took too long")
        elif not self.transport.is_closing():  # a connection that never said a word
            self.transport.close()

    def _refuse(self, status: int, text: str) -> None:
        self._end_head()
        if self.transport.is_closing() or self._lingering is not None:
            return
        self.transport.write(refusal(status, text))
        self._hang_up()
        self._linger()

    def _linger(self) -> None:
        """Send nothing more, drop what the client still sends, and close soon."""
        if not self.transport.can_write_eof():
            self.transport.close()
            return
        self.transport.write_eof()
        self._lingering = 0
        self.loop.call_later(LINGER_TIME, self._close)

    def _hang_up(self) -> None:
        """Tell a request still running that its client is gone, as `connection_lost`
        does: after the refusal (a malformed request pipelined behind it) its answer
        is dropped, where a write after `write_eof` would raise in the app."""
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()

    def _close(self) -> None:
        if not self.transport.is_closing():
            self.transport.close()

    # -- uvicorn's hooks ------------------------------------------------------------

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._start_head()

    def connection_lost(self, exc: Exception | None) -> None:
        self._end_head()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._lingering is not None:  # refused: drop the rest, up to a point
            self._lingering += len(data)
            if self._lingering > LINGER_BYTES:
                self._close()
            return
        if self.transport.is_closing():
            return
        super().data_received(data)
        if self._head_timer is not None and self._lingering is None:
            # Still inside a head after this chunk: the parser holds it all so far.
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD:
                self._refuse(431, f"the request head is over {MAX_HEAD} bytes")

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._start_head()

    def on_headers_complete(self) -> None:
        self._end_head()
        # A head that arrived whole in one read is measured here, before it runs.
        size = len(self.url) + sum(len(k) + len(v) + 4 for k, v in self.headers)
        if size > MAX_HEAD:
            self._refuse(431, f"the request head is over {MAX_HEAD} bytes")
            raise _HeadTooLarge
        self.scope[ABORT] = self.transport.abort  # type: ignore[literal-required]
        super().on_headers_complete()

    def on_response_complete(self) -> None:
        unread = self.cycle is not None and self.cycle.more_body
        super().on_response_complete()
        if unread and not self.transport.is_closing() and self._lingering is None:
            self._linger()  # answered before its body arrived (a refusal): read no more

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, msg)


def abort_stuck(state: ServerState) -> int:
    """Abort every connection still open; their blocked writes return at once.

    uvicorn's graceful shutdown waits for every connection to close, and a
    response whose client stopped reading never finishes writing.  Aborting
    drops what is unsent (there is no one to read it) and raises no error in
    the app: its writes see a disconnected client.
    """
    aborted = 0
    for connection in list(state.connections):
        transport = getattr(connection, "transport", None)
        if transport is not None:
            transport.abort()
            aborted += 1
    return aborted


def blocked_writers(state: ServerState) -> int:
    """How many connections have a write waiting on a full socket buffer."""
    return sum(
        1
        for connection in list(state.connections)
        if getattr(getattr(connection, "flow", None), "write_paused", False)
    )
