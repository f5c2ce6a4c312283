"""HTTP ingest: `POST /api/write` (and `/write`, `/api/v2/write`) and `POST /api/ingest`.

Off unless `[ingest] http = true`.  The write paths take InfluxDB line
protocol as Telegraf's `outputs.influxdb` (v1: `/write?db=&precision=&u=&p=`)
and `outputs.influxdb_v2` (`/api/v2/write?org=&bucket=&precision=` with
`Authorization: Token ...`) and the ESP8266/ESP32 InfluxDB libraries send
it; `/api/ingest` takes the JSON lines `telemetry parse` reads.  `GET /ping`
answers 204, as InfluxDB does, for clients that check the server first.

Each request, in this order:
1. at most `[ingest] rate` requests a minute per client address (a token
   bucket: a burst of that many, then the rate), else 429 with `Retry-After`
   (counted before the token check, so guessing costs requests too);
2. refused (403) when a browser says it came from another site (`Origin`,
   `Sec-Fetch-Site`; InfluxDB clients send neither): a page elsewhere could
   otherwise write to an open ingest on loopback through a visitor's browser
   (a `no-cors` POST of text/plain needs no preflight);
3. with `[auth] file`, a token from that file, sent as `Authorization: Token`
   or `Bearer`, as Basic auth's password, or as v1's `p` parameter (`u` is
   not looked at), else 401.  A session cookie is not enough: a page on
   another site could make a browser send it.  `make_server` refuses to
   start ingest without a credentials file when the server is reachable
   beyond loopback (a non-loopback address, or behind a trusted proxy);
4. the body, at most `max_body` bytes as sent (a `Content-Length` over it is
   refused before reading) and `max_inflated` once gzip is undone (stopping
   there: a zip bomb is never inflated whole), else 413; at most `max_lines`
   lines, else 413 and nothing written;
5. parsed in a worker thread, at most `PARSING` requests at once and
   `MAX_WAITING` waiting (then 503): the loop never parses a big body, and
   at most that many bodies are held in memory;
6. the good lines go to the inbox as any reader's messages, under the
   ingest's source name, all of them or none: 503 when the inbox has no room
   for them (it would drop its oldest, any reader's); 204 when every line
   was taken, else 400 with InfluxDB's `{"code": "invalid", "message":
   "partial write: ..."}` naming each refused line by number with its reason
   (InfluxDB 3's partial write: the good lines are written).  v1 clients
   read `error`, which says the same.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import math
import time
from collections.abc import Callable

from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from telemetry.config import Config
from telemetry.ingest import (
    MAX_REFUSALS_SHOWN,
    PRECISIONS,
    HttpSource,
    IngestError,
    Parsed,
    inflate,
    invalid,
    json_lines,
    line_protocol,
    refusal_message,
    too_large,
)
from telemetry.model import Route as MessageRoute
from telemetry.parsetool import MessageReader
from web.auth import cross_site
from web.credentials import Credentials
from web.limiter import RateLimiter

WRITE_PATHS = ("/api/write", "/write", "/api/v2/write")
PARSING = 2  # bodies parsed at once, each in a worker thread
MAX_WAITING = 16  # requests reading or waiting to be parsed; more get 503
BODY_TIMEOUT = 30.0  # seconds for a body to arrive, then 408


def answer(
    status: int, code: str, message: str, retry: int | None = None, **extra: object
) -> Response:
    """Every refusal: InfluxDB's error shape (`code`, `message`), and v1's `error`."""
    headers = {"WWW-Authenticate": 'Token realm="telemetry"'} if status == 401 else {}
    if retry is not None:
        headers["Retry-After"] = str(retry)
    body = {"code": code, "message": message, "error": message, **extra}
    return JSONResponse(body, status_code=status, headers=headers)


def token(request: Request) -> str | None:
    """The token a request sends: `Authorization: Token|Bearer <t>`, Basic auth's
    password, or the `p` parameter (InfluxDB v1)."""
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    scheme, value = scheme.lower(), value.strip()
    if scheme in ("token", "bearer") and value:
        return value
    if scheme == "basic":
        try:
            text = base64.b64decode(value, validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            return None
        return text.partition(":")[2] or None
    return request.query_params.get("p") or None


class Ingest:
    def __init__(self, config: Config, source: HttpSource, credentials: Credentials | None) -> None:
        self.settings = config.ingest
        self.max_line = config.limits.max_payload
        self.source = source
        self.credentials = credentials
        self.reader = MessageReader(config, source.name)
        self.limiter = RateLimiter(self.settings.rate)
        self._parsing = asyncio.Semaphore(PARSING)
        self.waiting = 0
        self._routes: dict[str, MessageRoute] = {}

    def routes(self) -> list[Route]:
        return [
            *(Route(path, self.write, methods=["POST"]) for path in WRITE_PATHS),
            Route("/api/ingest", self.ingest, methods=["POST"]),
            Route("/ping", self.ping, methods=["GET", "HEAD"]),
        ]

    async def ping(self, request: Request) -> Response:
        return Response(status_code=204, headers={"X-Influxdb-Version": "telemetry"})

    def _route(self, precision: str) -> MessageRoute:
        route = self._routes.get(precision)
        if route is None:
            route = self._routes[precision] = MessageRoute(
                self.source.name, "http", "influx", precision=precision
            )
        return route

    async def write(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        given = request.query_params.get("precision") or "ns"
        precision = PRECISIONS.get(given)
        if precision is None:
            return self._refuse(
                invalid(f"precision {given[:10]!r} is not one of ns, us, ms, s (or n, u)")
            )
        route = self._route(precision)
        params = request.query_params
        topic = (params.get("bucket") or params.get("db") or request.url.path)[:100]
        settings = self.settings

        def parse(body: bytes, now: float) -> Parsed:
            return line_protocol(
                body, route, topic, now, max_lines=settings.max_lines, max_line=self.max_line
            )

        return await self._handle(request, parse)

    async def ingest(self, request: Request) -> Response:
        refused = self._gate(request)
        if refused is not None:
            return refused
        reader, max_lines = self.reader, self.settings.max_lines
        return await self._handle(
            request, lambda body, now: json_lines(body, reader, now, max_lines=max_lines)
        )

    def _refuse(self, error: IngestError) -> Response:
        self.source.refuse(error.code.replace(" ", "_"))
        return answer(error.status, error.code, error.message)

    def _gate(self, request: Request) -> Response | None:
        """The rate and the token: the answer when the request is refused."""
        host = request.client.host if request.client else "?"
        if not self.limiter.allow(host, time.monotonic()):
            self.source.refuse("rate_limited")
            retry = math.ceil(60 / self.settings.rate)  # seconds until the next request is let in
            return answer(429, "too many requests", f"at most {self.settings.rate} a minute", retry)
        if cross_site(request.scope):  # a page elsewhere, through a visitor's browser
            self.source.refuse("cross_site")
            return answer(403, "forbidden", "a browser says this came from another site")
        if self.credentials is not None:
            sent = token(request)
            if sent is None or self.credentials.token_user(sent) is None:
                self.source.refuse("unauthorized")
                return answer(401, "unauthorized", "a valid token is required")
        return None

    async def _body(self, request: Request) -> bytes:
        limit = self.settings.max_body
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > limit:
            raise too_large(f"the body is {length} bytes; at most {limit}")
        chunks: list[bytes] = []
        size = 0
        async with asyncio.timeout(BODY_TIMEOUT):
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise too_large(f"the body is over {limit} bytes")
                chunks.append(chunk)
        return b"".join(chunks)

    async def _handle(self, request: Request, parse: Callable[[bytes, float], Parsed]) -> Response:
        """Read, inflate and parse the body of a request `_gate` let through; answer."""
        encoding = request.headers.get("content-encoding", "identity").strip().lower()
        if encoding not in ("identity", "gzip"):
            self.source.refuse("unsupported_encoding")
            return answer(415, "unsupported", f"Content-Encoding {encoding[:20]!r}: gzip or none")
        if self.waiting >= MAX_WAITING:
            self.source.refuse("busy")
            return answer(503, "busy", "too many writes at once; retry in a second", 1)
        self.waiting += 1
        try:
            body = await self._body(request)
            now = time.time()
            limit = self.settings.max_inflated
            gzipped = encoding == "gzip"
            async with self._parsing:
                parsed = await asyncio.to_thread(
                    lambda: parse(inflate(body, limit) if gzipped else body, now)
                )
        except IngestError as error:
            return self._refuse(error)
        except TimeoutError:
            self.source.refuse("timeout")
            return answer(408, "timeout", "the body took too long to arrive")
        except ClientDisconnect:
            return Response(status_code=400)
        finally:
            self.waiting -= 1
        if not self.source.room(len(parsed.messages)):  # a 204 must not be dropped later
            self.source.refuse("busy")
            return answer(503, "busy", "the server is behind; retry in a second", 1)
        if not self.source.put(parsed.messages):
            return answer(503, "unavailable", "the server is stopping")
        if not parsed.refused:
            return Response(status_code=204)
        self.source.refuse("bad_line", len(parsed.refused))
        return answer(
            400,
            "invalid",
            refusal_message(parsed),
            refused=[
                {"line": r.line, "reason": r.reason} for r in parsed.refused[:MAX_REFUSALS_SHOWN]
            ],
            written=parsed.written,
        )
