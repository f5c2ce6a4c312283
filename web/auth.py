"""Optional authentication that works with EventSource (which cannot send headers).

Off unless `[auth] file` names a credentials file.  Then every request but the
login page and the static files (no sensor data in them) needs either

- the session cookie a login sets: `HttpOnly`, `SameSite=Strict`, `Secure`
  when the request came over TLS (as uvicorn sees it: behind nginx, only when
  `[server] trusted_proxies` names it, since only then is its
  `X-Forwarded-Proto` read), signed and expiring; a browser's EventSource
  sends it; or
- `Authorization: Bearer <token>`, for scripts and monitoring.

Without either, the page redirects to `/login` and everything else (`/events`,
`/api/*`, `/metrics`, `/healthz`) answers 401: never a 200 stream.  Whatever a
client sends in those headers, a credential that does not check out is no
user, never an exception, and says nothing about which users exist.

The credentials file, its hashes and the cookies' signatures are
`web.credentials`.  A session is bound to the user's password hash: changing
the password ends its sessions.

A login is accepted only from the site itself (`Origin` or `Sec-Fetch-Site`,
see `same_site`), only as a form of exactly `user` and `password` that
arrives within FORM_TIMEOUT.  Login attempts are limited per client address
(`web.limiter`): the peer's, or the one a proxy named in
`[server] trusted_proxies` forwarded.  Every login costs one scrypt check,
whether the user exists or not (unknown users are checked against a dummy
hash), so neither the answer nor its time tells which users exist.  The
checks run in worker threads, at most SCRYPT_SLOTS at once (16 MiB each).  A
failed login is logged with the address and the count of recent attempts,
never with anything the client typed.

`POST /logout` ends its session on the server too (`web.revocations`), but
only until a restart: logouts are kept in memory, so after a restart a copied
cookie works again until it expires.  Changing the password ends every
session of that user for good.  Passwords, tokens and cookies never reach a
log line.
"""

from __future__ import annotations

import asyncio
import html
import logging
import re
import secrets
import time
from collections.abc import Iterable, Iterator
from typing import NamedTuple
from urllib.parse import unquote_to_bytes, urlencode

from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from telemetry.logs import escape
from web.credentials import NAME, Credentials, Session, hash_password, verify_password
from web.limiter import LoginLimiter
from web.revocations import Revocations

__all__ = [
    "COOKIE",
    "Auth",
    "Credentials",
    "LoginForm",
    "cross_site",
    "login_form",
    "safe_next",
    "same_site",
]

logger = logging.getLogger(__name__)

COOKIE = "telemetry_session"
MAX_PASSWORD = 1024
MAX_FORM = 4096
FORM_TIMEOUT = 10.0  # seconds for a login form's body to arrive, then 408
SCRYPT_SLOTS = 2  # password checks at once (16 MiB of memory each)
MAX_PENDING = 32  # logins checking or waiting to check; more get "busy"
MAX_SESSION_COOKIES = 8  # looked at per request; a browser sends one
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = ("/login", "/logout", "/favicon.ico")
# Printable ASCII, with '%' only as %XX: a browser escapes everything else,
# and so should a script (curl's plain spaces are let through).
_FORM_PART = re.compile(rb"(?:[\x20-\x24\x27-\x7e]|%[0-9A-Fa-f]{2})*")
_FORM_FIELDS = frozenset({"user", "password"})
_FORM_OPTIONAL = frozenset({"next"})
MAX_NEXT = 2048  # characters of the page address a login returns to
_DEFAULT_PORTS = {"http": "80", "https": "443"}


class LoginForm(NamedTuple):
    user: str
    password: str
    next: str = "/"  # the page to return to (`safe_next`: the page itself, with its query)


def login_form(body: bytes) -> LoginForm | None:
    """The user and password of a form of exactly those two fields, each once, in
    UTF-8, and the optional `next` (the page address the login returns to).

    Anything else (another field, a repeated one, control characters or
    other bytes outside printable ASCII, a bad %-escape, text that is not
    UTF-8) is None: not a login.  A `next` that is not the page's own address
    is "/" (`safe_next`), not a refusal.
    """
    fields: dict[str, str] = {}
    for pair in body.split(b"&"):
        raw_name, eq, raw_value = pair.partition(b"=")
        if not eq or not _FORM_PART.fullmatch(raw_name) or not _FORM_PART.fullmatch(raw_value):
            return None
        try:
            name, value = _unquote(raw_name), _unquote(raw_value)
        except UnicodeDecodeError:
            return None
        if name not in _FORM_FIELDS | _FORM_OPTIONAL or name in fields:
            return None
        fields[name] = value
    if not fields.keys() >= _FORM_FIELDS:
        return None
    return LoginForm(fields["user"], fields["password"], safe_next(fields.get("next", "/")))


def safe_next(value: str) -> str:
    """`value` if it is the page's own address (`/`, or `/?` and a query of
    printable ASCII), else `/`: a login never sends a browser anywhere else (no
    other site, no `//host`, no other path)."""
    if (
        len(value) <= MAX_NEXT
        and (value == "/" or value.startswith("/?"))
        and value.isascii()
        and value.isprintable()
        and " " not in value
    ):
        return value
    return "/"


def _login_address(problem: str, next_page: str) -> str:
    """`/login` with its problem and the page to return to, when there are any."""
    query = {k: v for k, v in (("problem", problem), ("next", next_page)) if v and v != "/"}
    return "/login?" + urlencode(query) if query else "/login"


def _unquote(part: bytes) -> str:
    return unquote_to_bytes(part.replace(b"+", b" ")).decode("utf-8")


def _origin(scheme: str, host: str) -> str:
    """`scheme://host[:port]` as a browser writes an Origin: lower case, no default port."""
    host = host.lower()
    default = _DEFAULT_PORTS.get(scheme)
    if default is not None and host.endswith(":" + default):
        host = host[: -len(default) - 1]
    return f"{scheme}://{host}"


def _fetch_site(scope: Scope) -> tuple[str | None, str | None, bool] | None:
    """`Sec-Fetch-Site`, `Origin`, and whether that origin is this server's own (the
    request's scheme, the Host header); None when one of them is repeated."""
    found: dict[bytes, list[str]] = {b"sec-fetch-site": [], b"origin": [], b"host": []}
    for key, value in scope["headers"]:
        if key in found:
            found[key].append(value.decode("latin-1"))
    if any(len(values) > 1 for values in found.values()):
        return None
    site = found[b"sec-fetch-site"][0] if found[b"sec-fetch-site"] else None
    origin = found[b"origin"][0] if found[b"origin"] else None
    host = found[b"host"][0] if found[b"host"] else None
    own = (
        origin is not None
        and host is not None
        and origin.lower() == _origin(scope.get("scheme", "http"), host)
    )
    return site, origin, own


def same_site(scope: Scope) -> bool:
    """Whether a browser says the request came from this site itself.

    Either `Origin` is this server's own (the request's scheme, the Host
    header), or `Sec-Fetch-Site: same-origin`; neither may say otherwise, and
    neither may be repeated.  A Referer alone, `Origin: null` alone or no
    header at all is not enough.
    """
    found = _fetch_site(scope)
    if found is None:
        return False
    site, origin, own = found
    if site not in (None, "same-origin"):
        return False
    if origin not in (None, "null") and not own:
        return False
    return own or site == "same-origin"


def cross_site(scope: Scope) -> bool:
    """Whether a browser says the request came from another site (or an opaque
    origin, or repeats the headers that would say).  A script that sends neither
    header (curl) is not cross-site: what changes data refuses only what a
    browser says came from elsewhere."""
    found = _fetch_site(scope)
    if found is None:
        return True
    site, origin, own = found
    return site not in (None, "same-origin", "none") or (origin is not None and not own)


LOGIN_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Telemetry: sign in</title>
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <link rel="stylesheet" href="/static/style.css">
</head>
<body class="login">
  <form method="post" action="/login" class="login-form">
    <h1>Telemetry</h1>
    <p class="login-problem">{problem}</p>
    <label>User <input name="user" autocomplete="username" required maxlength="64"></label>
    <label>Password <input name="password" type="password" autocomplete="current-password"
      required maxlength="1024"></label>
    {next}<button type="submit">Sign in</button>
  </form>
</body>
</html>
"""
PROBLEMS = {
    "": "",
    "failed": "Wrong user or password.",
    "busy": "Too many attempts: wait a minute.",
}


class Auth:
    """The gate (pure ASGI, so streams pass through unbuffered) and the login endpoints."""

    def __init__(self, credentials: Credentials, lifetime: float) -> None:
        self.credentials = credentials
        self.lifetime = lifetime
        self.limiter = LoginLimiter()
        self.revocations = Revocations()
        # What an unknown user's password is checked against, so that it costs
        # what a known user's does; its password is thrown away.
        self.dummy = hash_password(secrets.token_urlsafe(32))
        self._slots = asyncio.Semaphore(SCRYPT_SLOTS)
        self.pending = 0  # logins checking a password or waiting for a slot to
        self.checks = 0  # password checks run
        self.refused = 0  # requests answered 401 or redirected to the login

    def _sessions(self, headers: Iterable[tuple[bytes, bytes]], now: float) -> Iterator[Session]:
        """The signed, unexpired sessions among the request's cookies."""
        looked = 0
        for key, value in headers:
            if key != b"cookie":
                continue
            for part in value.decode("latin-1").split(";"):
                name, _, cookie = part.strip().partition("=")
                if name != COOKIE:
                    continue
                looked += 1
                if looked > MAX_SESSION_COOKIES:
                    return
                session = self.credentials.session(cookie, now)
                if session is not None:
                    yield session

    def user(self, scope: Scope) -> str | None:
        headers = scope.get("headers", ())
        for key, value in headers:
            if key == b"authorization":
                scheme, _, token = value.decode("latin-1").strip().partition(" ")
                if scheme.lower() == "bearer":
                    found = self.credentials.token_user(token.strip())
                    if found is not None:
                        return found
        for session in self._sessions(headers, time.time()):
            if not self.revocations.ended(session):
                return session.user
        return None

    def guard(self, app: ASGIApp, own: frozenset[str] = frozenset()) -> ASGIApp:
        """`app` behind the gate; the paths in `own` check credentials themselves."""

        async def gated(scope: Scope, receive: Receive, send: Send) -> None:
            path = scope.get("path", "")
            if scope["type"] != "http" or self._public(path) or path in own or self.user(scope):
                await app(scope, receive, send)
                return
            self.refused += 1
            response: Response
            if scope["method"] in ("GET", "HEAD") and scope["path"] == "/":
                # The page's address goes along, so a deep link survives the login.
                query = scope.get("query_string", b"").decode("latin-1")
                response = RedirectResponse(
                    _login_address("", safe_next("/?" + query if query else "/")),
                    status_code=303,
                )
            else:
                response = JSONResponse(
                    {"error": "authentication required: sign in at /login or send a bearer token"},
                    status_code=401,
                    headers={"WWW-Authenticate": 'Bearer realm="telemetry"'},
                )
            await response(scope, receive, send)

        return gated

    @staticmethod
    def _public(path: str) -> bool:
        return path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES)

    # -- endpoints ---------------------------------------------------------------

    async def login_page(self, request: Request) -> Response:
        problem = request.query_params.get("problem", "")
        next_page = safe_next(request.query_params.get("next", "/"))
        hidden = (
            f'<input type="hidden" name="next" value="{html.escape(next_page)}">'
            if next_page != "/"
            else ""
        )
        text = LOGIN_PAGE.replace("{problem}", PROBLEMS.get(problem, "")).replace("{next}", hidden)
        return HTMLResponse(text, headers={"Cache-Control": "no-store"})

    async def _read_form(self, request: Request) -> bytes | Response:
        """The body, or the answer when it is too large, too slow or cut off."""
        length = request.headers.get("content-length", "")
        if re.fullmatch(r"[0-9]{1,12}", length) and int(length) > MAX_FORM:
            return JSONResponse({"error": "form too large"}, status_code=413)
        body = b""
        try:
            async with asyncio.timeout(FORM_TIMEOUT):
                async for chunk in request.stream():
                    body += chunk
                    if len(body) > MAX_FORM:
                        return JSONResponse({"error": "form too large"}, status_code=413)
        except TimeoutError:
            return JSONResponse(
                {"error": "the form took too long to arrive"},
                status_code=408,
                headers={"Connection": "close"},
            )
        except ClientDisconnect:
            return Response(status_code=400)  # nobody is left to read it
        return body

    async def _check(self, password: str, stored: str) -> bool:
        """The scrypt check, off the event loop, at most SCRYPT_SLOTS at once."""
        self.checks += 1
        self.pending += 1
        try:
            async with self._slots:
                return await asyncio.to_thread(verify_password, password, stored)
        finally:
            self.pending -= 1

    async def _signed_in(self, form: LoginForm | None) -> str | None:
        """The user a login form names, if the password is theirs."""
        if form is None:
            return None  # not a login form: no user named, nothing to hide
        user, password = form.user, form.password
        stored = self.credentials.users.get(user) if NAME.fullmatch(user) else None
        if len(password) > MAX_PASSWORD:
            stored, password = None, password[:MAX_PASSWORD]
        # No such user: the dummy hash, so the answer costs the same work and time.
        ok = await self._check(password, self.dummy if stored is None else stored)
        return user if ok and stored is not None else None

    async def login(self, request: Request) -> Response:
        if not same_site(request.scope):
            return JSONResponse({"error": "cross-site login refused"}, status_code=403)
        host = request.client.host if request.client else "?"
        began = time.monotonic()
        if not self.limiter.begin(host, began):
            return RedirectResponse("/login?problem=busy", status_code=303)
        body = await self._read_form(request)
        if isinstance(body, Response):
            return body
        if self.pending >= MAX_PENDING:  # the server's limit, not this client's fault
            self.limiter.take_back(host, began)
            return RedirectResponse("/login?problem=busy", status_code=303)
        form = login_form(body)
        next_page = form.next if form is not None else "/"
        user = await self._signed_in(form)
        if user is None:
            # Never the user box: people type their password into it.
            logger.warning(
                "failed login from %s (%d in the last minute)",
                escape(host),
                self.limiter.recent(host, time.monotonic()),
            )
            return RedirectResponse(_login_address("failed", next_page), status_code=303)
        self.limiter.take_back(host, began)
        now = time.time()
        expires = self.revocations.expiry(now, self.lifetime)
        response = RedirectResponse(next_page, status_code=303)
        response.set_cookie(
            COOKIE,
            self.credentials.cookie_until(user, expires),
            max_age=expires - int(now),
            httponly=True,
            samesite="strict",
            secure=request.scope.get("scheme") == "https",
        )
        logger.info("%s signed in from %s", user, escape(host))
        return response

    async def logout(self, request: Request) -> Response:
        now = time.time()
        for session in self._sessions(request.scope["headers"], now):
            self.revocations.end(session, now)
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, httponly=True, samesite="strict")
        return response
