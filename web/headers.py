"""The security headers every response carries (`web.edge` adds them), and `LimitRanges`."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
]


MAX_RANGES = 16  # byte ranges in one request; a page never asks for more than one


class LimitRanges:
    """A `Range` header of more than MAX_RANGES ranges gets 416 at once.

    Starlette serves such a request the whole file (over 100) or as a multipart
    answer of every range: work and bytes for whoever asks, for nothing.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for key, value in scope["headers"]:
                if key == b"range" and value.count(b",") >= MAX_RANGES:
                    await send(
                        {
                            "type": "http.response.start",
                            "status": 416,
                            "headers": [(b"content-length", b"0")],
                        }
                    )
                    await send({"type": "http.response.body", "body": b""})
                    return
        await self.app(scope, receive, send)
