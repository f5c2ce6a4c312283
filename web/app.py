"""The Starlette app: the page, the SSE stream and the JSON API, built by a factory.

`create_app(runtime)` builds everything from the runtime it is given; nothing
happens at import time.  The app's lifespan starts and stops the runtime.
"""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from telemetry.pipeline import availability_json
from telemetry.runtime import Runtime
from web.auth import Auth, Credentials
from web.events import EventStream
from web.headers import LimitRanges, SecurityHeaders
from web.health import health_endpoint
from web.history import History
from web.metrics import metrics_endpoint

STATIC = Path(__file__).parent / "static"


def _by_source(counts: Counter[tuple[str, str]]) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for (source, reason), count in counts.items():
        out.setdefault(source, {})[reason] = count
    return out


class App(Starlette):
    """Starlette, with `GET /events` taken straight to the stream.

    An open stream otherwise holds a coroutine frame and a closure per layer of
    Starlette's stack (error middleware, exception middleware, router, route)
    for as long as it is open: about 2 KB a connection, for nothing a stream
    uses.  The stream keeps what matters of the stack: the security headers
    and, when configured, the Host check.
    """

    def __init__(self, *args: Any, events: ASGIApp, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events = events

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/events" and scope["method"] == "GET":
            await self.events(scope, receive, send)
            return
        await super().__call__(scope, receive, send)


class Gate:
    """`Auth.guard` as a Starlette middleware class."""

    def __init__(self, app: ASGIApp, auth: Auth) -> None:
        self.app = auth.guard(app)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def create_app(runtime: Runtime) -> Starlette:
    config = runtime.config
    stream = EventStream(runtime.hub, config.server.ping, config.limits.send_timeout)
    history = History(runtime.pipeline.store)

    async def index(request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def series(request: Request) -> Response:
        store, hub = runtime.pipeline.store, runtime.hub
        return JSONResponse(
            {
                "series": [info.as_json() for info in store.series.values()],
                "sources": [s.as_json() for s in runtime.statuses()],
                "devices": [availability_json(a) for a in runtime.pipeline.devices.values()],
                "refused_series": store.refused_series,
                "rejected": dict(runtime.pipeline.rejected),
                "rejected_by_source": _by_source(runtime.pipeline.rejected_by_source),
                "inbox": {"dropped": runtime.inbox.dropped, "received": runtime.inbox.received},
                "streams": {
                    "clients": len(hub.clients),
                    "frames": hub.frames,
                    "resumed": hub.resumed,
                    "resets": dict(hub.resets),
                    "coalesced": hub.coalesced + sum(c.coalesced for c in hub.clients),
                    "cut": stream.cut,
                    "refused": dict(hub.refused),
                },
            }
        )

    healthz = health_endpoint(runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    auth = None
    if config.auth.file is not None:
        auth = Auth(Credentials.load(config.auth.file), config.auth.session)
    middleware = [Middleware(SecurityHeaders), Middleware(LimitRanges)]
    if config.server.allowed_hosts:
        middleware.append(
            Middleware(TrustedHostMiddleware, allowed_hosts=list(config.server.allowed_hosts))
        )
    origins = list(config.server.cors_origins)
    credentials = "*" not in origins  # never a wildcard with credentials
    if origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=origins,
                allow_methods=["GET"],
                allow_credentials=credentials,
            )
        )
    if auth is not None:
        middleware.append(Middleware(Gate, auth=auth))
    # The stream gets the same layers, without Starlette's stack (see `App`).
    events: ASGIApp = stream if auth is None else auth.guard(stream)
    if origins:
        events = CORSMiddleware(
            events, allow_origins=origins, allow_methods=["GET"], allow_credentials=credentials
        )
    events = SecurityHeaders(events)
    if config.server.allowed_hosts:
        events = TrustedHostMiddleware(events, allowed_hosts=list(config.server.allowed_hosts))
    login: list[Route] = []
    if auth is not None:
        login = [
            Route("/login", auth.login_page, methods=["GET", "HEAD"]),
            Route("/login", auth.login, methods=["POST"]),
            Route("/logout", auth.logout, methods=["POST"]),
        ]
    app = App(
        events=events,
        routes=[
            Route("/", index, methods=["GET", "HEAD"]),
            Route("/events", stream, methods=["GET"]),
            Route("/api/series", series, methods=["GET"]),
            Route("/api/history", history.history, methods=["GET"]),
            Route("/api/export", history.export, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/metrics", metrics_endpoint(runtime, stream), methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            *login,
        ],
        middleware=middleware,
        lifespan=lifespan,
    )
    app.state.runtime = runtime
    app.state.events = stream
    app.state.auth = auth
    return app
