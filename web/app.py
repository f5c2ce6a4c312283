"""The Starlette app: the page, the SSE stream and the JSON API, built by a factory.

`create_app(runtime)` builds everything from the runtime it is given; nothing
happens at import time.  The app's lifespan starts and stops the runtime.
"""

from __future__ import annotations

import asyncio
import contextlib
import html
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from telemetry import frames
from telemetry.runtime import Runtime
from web.auth import Auth, Credentials, cross_site
from web.edge import Edge, bad_request_handler
from web.events import EventStream
from web.headers import LimitRanges
from web.health import health_endpoint
from web.history import History

STATIC = Path(__file__).parent / "static"
SIGNOUT = '<form id="signout" method="post" action="/logout" hidden>'  # in index.html


class App(Starlette):
    """Starlette, behind one stack of layers that every request passes through.

    `front` is that stack (see `create_app`); at its core, `GET /events` goes
    straight to the stream and everything else to Starlette's routing.  An open
    stream would otherwise hold a coroutine frame and a closure per layer of
    Starlette's own stack (error middleware, exception middleware, router,
    route) for as long as it is open, for nothing a stream uses (what a stream
    costs: bench/README.md, idle connections).
    """

    def __init__(self, *args: Any, events: ASGIApp, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.events = events
        self.front: ASGIApp = self.dispatch

    async def dispatch(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == "/events" and scope["method"] == "GET":
            await self.events(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self
        await self.front(scope, receive, send)


def lazy_metrics(
    runtime: Runtime, http_errors: Callable[[], int]
) -> Callable[[Request], Awaitable[Response]]:
    """`GET /metrics`, whose module, and prometheus_client with it, is imported at the
    first scrape (in a worker thread, not on the loop): a server nobody scrapes never
    holds that library's memory (bench/README.md, memory)."""
    handler: Callable[[Request], Awaitable[Response]] | None = None

    def load() -> Callable[[Request], Awaitable[Response]]:
        from web.metrics import metrics_endpoint  # noqa: PLC0415 (see above)

        return metrics_endpoint(runtime, http_errors)

    async def metrics(request: Request) -> Response:
        nonlocal handler
        if handler is None:
            handler = await asyncio.to_thread(load)
        return await handler(request)

    return metrics


def create_app(runtime: Runtime) -> Starlette:
    config = runtime.config
    stream = EventStream(runtime.hub, config.server.ping, config.limits.send_timeout)
    history = History(runtime.pipeline.store)

    auth = None
    if config.auth.file is not None:
        auth = Auth(Credentials.load(config.auth.file), config.auth.session)

    ingest: list[Route] = []
    if runtime.http is not None:
        from web.ingest import Ingest  # noqa: PLC0415 (only with `[ingest] http`)

        credentials = auth.credentials if auth is not None else None
        ingest = Ingest(config, runtime.http, credentials).routes()

    page = (STATIC / "index.html").read_text(encoding="utf-8") if auth is not None else ""

    async def index(request: Request) -> Response:
        user = auth.user(request.scope) if auth is not None else None
        if user is None:
            return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})
        # Signed in: the page shows who, and a way out.
        shown = f'{SIGNOUT[: -len(" hidden>")]} title="Signed in as {html.escape(user)}">'
        return HTMLResponse(page.replace(SIGNOUT, shown), headers={"Cache-Control": "no-store"})

    async def series(request: Request) -> Response:
        c = runtime.counters()
        streams = c.streams
        return JSONResponse(
            {
                "series": [frames.series(entry) for entry in runtime.pipeline.store.entries()],
                "sources": [frames.source(s) for s in c.sources],
                "devices": [frames.device(a) for a in runtime.pipeline.devices.values()],
                "refused_series": c.refused_series,
                "rejected": c.rejected,
                "rejected_by_source": c.rejected_by_source,
                "inbox": {"dropped": c.inbox_dropped, "received": c.received},
                "sinks": [frames.sink(s) for s in c.sinks],
                "outputs": [frames.output(o) for o in c.outputs],
                "streams": {
                    "clients": streams.clients,
                    "frames": streams.frames,
                    "resumed": streams.resumed,
                    "resets": streams.resets,
                    "coalesced": streams.coalesced,
                    "cut": streams.cut,
                    "refused": streams.refused,
                },
            }
        )

    async def delete_series(request: Request) -> Response:
        """`DELETE /api/series/{id}`: the series, its catalog entry and its history."""
        if cross_site(request.scope):
            return JSONResponse(
                {"error": "refused: the request came from another site"}, status_code=403
            )
        sid = request.path_params["sid"]
        if not runtime.delete_series(sid):
            return JSONResponse({"error": "no such series"}, status_code=404)
        return Response(status_code=204)

    async def alerts(request: Request) -> Response:
        return JSONResponse(frames.alerts_answer(runtime.pipeline.alerts, runtime.sink_statuses()))

    async def page_defaults(request: Request) -> Response:
        return JSONResponse(frames.page(config.page), headers={"Cache-Control": "no-cache"})

    healthz = health_endpoint(runtime)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    login: list[Route] = []
    if auth is not None:
        login = [
            Route("/login", auth.login_page, methods=["GET", "HEAD"]),
            Route("/login", auth.login, methods=["POST"]),
            Route("/logout", auth.logout, methods=["POST"]),
        ]
    app = App(
        events=stream,
        routes=[
            Route("/", index, methods=["GET", "HEAD"]),
            Route("/events", stream, methods=["GET"]),
            Route("/api/series", series, methods=["GET"]),
            Route("/api/series/{sid:path}", delete_series, methods=["DELETE"]),
            Route("/api/page", page_defaults, methods=["GET"]),
            Route("/api/alerts", alerts, methods=["GET"]),
            Route("/api/history", history.history, methods=["GET"]),
            Route("/api/export", history.export, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET", "HEAD"]),
            Route("/metrics", lazy_metrics(runtime, lambda: edge.errors), methods=["GET"]),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
            *login,
            *ingest,
        ],
        lifespan=lifespan,
        exception_handlers={Exception: bad_request_handler},
    )
    # One stack for every route, the stream's included, built from the inside out
    # (`edge`, the outermost, is what /metrics reads the error count from).
    front: ASGIApp = app.dispatch
    if auth is not None:
        # HTTP ingest checks its own tokens (devices send them as InfluxDB clients do).
        front = auth.guard(front, own=frozenset(r.path for r in ingest))
    origins = list(config.server.cors_origins)
    if origins:
        front = CORSMiddleware(
            front,
            allow_origins=origins,
            allow_methods=["GET"],
            allow_credentials="*" not in origins,  # never a wildcard with credentials
        )
    edge = Edge(LimitRanges(front), config.server.allowed_hosts)
    app.front = edge
    app.state.edge = edge
    app.state.runtime = runtime
    app.state.events = stream
    app.state.auth = auth
    return app
