"""The outermost layer of the app: what every answer passes through, whoever makes it.

- The security headers go on every response: the page's, the stream's, a
  refusal of the Host check, an error's.  (uvicorn's own answers to malformed
  HTTP get them in `web.protocol`.)
- With `[server] allowed_hosts`, a request for another Host gets 400 here,
  before any route, the stream included (DNS rebinding).
- An exception that escapes a handler becomes a 400 with those headers, is
  counted (`errors`) and logged once per minute, without a traceback (that
  goes to DEBUG): a request a visitor can shape must not write a traceback
  to the log each time, nor answer 500.

A pure ASGI layer (not `BaseHTTPMiddleware`, which would hold streams): it
edits only the `http.response.start` message.
"""

from __future__ import annotations

import contextlib
import logging

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from telemetry.logs import RateLimitedLog, escape
from web.headers import SECURITY_HEADERS

logger = logging.getLogger(__name__)


def bad_request() -> Response:
    """The answer to a request the server could not make sense of."""
    return JSONResponse({"error": "bad request: the server could not read it"}, status_code=400)


async def bad_request_handler(request: Request, exc: Exception) -> Response:
    """Starlette's handler for an escaped exception (`Edge` logs and counts it)."""
    return bad_request()


class Edge:
    def __init__(self, app: ASGIApp, allowed_hosts: tuple[str, ...] = ()) -> None:
        self.app = (
            TrustedHostMiddleware(app, allowed_hosts=list(allowed_hosts)) if allowed_hosts else app
        )
        self.errors = 0
        self._log = RateLimitedLog(logger, interval=60.0)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = finished = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started, finished
            if message["type"] == "http.response.start":
                started = True
                message["headers"] = [*message.get("headers", []), *SECURITY_HEADERS]
            elif message["type"] == "http.response.body" and not message.get("more_body"):
                finished = True
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception as exc:
            self.errors += 1
            self._log.warning(
                "error",
                "answered 400 to %s %s: %s: %s",
                scope.get("method", "?"),
                escape(str(scope.get("path", "?"))[:200]),
                type(exc).__name__,
                escape(str(exc)[:200]),
            )
            logger.debug("the request's error", exc_info=True)
            with contextlib.suppress(Exception):  # the client may be gone
                if not started:
                    await bad_request()(scope, receive, send_with_headers)
                elif not finished:
                    await send_with_headers({"type": "http.response.body", "body": b""})
