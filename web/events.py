"""`GET /events`: one Server-Sent-Events stream per browser tab.

A raw ASGI endpoint rather than a `StreamingResponse`, because it must notice
a vanished client while no data flows: a small task waits on `receive()` for
`http.disconnect` and closes the client at once, instead of finding out at the
next failed write.  Refusals are answered with a non-200 status (400, 503), so
an EventSource never mistakes them for a stream.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import Receive, Scope, Send

from telemetry import sse
from telemetry.hub import Client, Hub
from telemetry.logs import escape
from web.protocol import ABORT

logger = logging.getLogger(__name__)

MAX_PATTERNS = 64
MAX_PATTERN_LENGTH = 256
MAX_CURSOR_LENGTH = 128

STREAM_HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-store"),
    (b"x-accel-buffering", b"no"),
]


async def _watch_disconnect(receive: Receive, client: Client) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            client.close("disconnected")
            return


class EventStream:
    def __init__(self, hub: Hub, ping: float, send_timeout: float) -> None:
        self.hub = hub
        self.ping = ping
        self.send_timeout = send_timeout

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        patterns = request.query_params.getlist("series")
        if len(patterns) > MAX_PATTERNS or any(
            not p or len(p) > MAX_PATTERN_LENGTH for p in patterns
        ):
            problem = (
                f"series: at most {MAX_PATTERNS} patterns of 1 to {MAX_PATTERN_LENGTH} characters"
            )
            await JSONResponse({"error": problem}, status_code=400)(scope, receive, send)
            return
        cursor = request.headers.get("last-event-id") or request.query_params.get("last_id")
        if cursor is not None:
            cursor = cursor[:MAX_CURSOR_LENGTH]
        host = request.client.host if request.client else "unknown"
        client = self.hub.connect(host, tuple(patterns) or None)
        if isinstance(client, str):
            response = JSONResponse(
                {"error": client}, status_code=503, headers={"Retry-After": "5"}
            )
            await response(scope, receive, send)
            return
        watcher = asyncio.create_task(
            _watch_disconnect(receive, client), name=f"sse-disconnect-{client.id}"
        )
        try:
            await self._stream(client, cursor, send, scope)
        finally:
            watcher.cancel()
            await asyncio.gather(watcher, return_exceptions=True)
            self.hub.disconnect(client)

    async def _stream(self, client: Client, cursor: str | None, send: Send, scope: Scope) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": STREAM_HEADERS})
        chunk = self.hub.opening(client, cursor)
        while True:
            if chunk:
                try:
                    async with asyncio.timeout(self.send_timeout):
                        await send({"type": "http.response.body", "body": chunk, "more_body": True})
                except TimeoutError:
                    self.hub.cut_off(client, "cut")
                    # Drop the connection: closing it would wait for the unsent bytes
                    # to drain, which for a client that does not read is never.
                    abort = scope.get(ABORT)
                    if abort is not None:
                        abort()
                    logger.info(
                        "client %d from %s cut: nothing read for %.0fs",
                        client.id,
                        escape(client.host),
                        self.send_timeout,
                    )
                    return
                except OSError:  # the peer reset the connection mid-write
                    return
            if client.closed:
                break
            await client.wait(self.ping)
            chunk = client.take()
            if not chunk and not client.closed:
                chunk = sse.comment("ping")
        with contextlib.suppress(OSError):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
