"""Optional authentication that works with EventSource (which cannot send headers).

Off unless `[auth] file` names a credentials file.  Then every request but the
login page and the static files (no sensor data in them) needs either

- the session cookie a login sets: `HttpOnly`, `SameSite=Strict`, `Secure`
  when the request came over TLS (uvicorn reads nginx's `X-Forwarded-Proto`),
  signed with HMAC-SHA256 and expiring; a browser's EventSource sends it; or
- `Authorization: Bearer <token>`, for scripts and monitoring.

Without either, the page redirects to `/login` and everything else (`/events`,
`/api/*`, `/metrics`, `/healthz`) answers 401: never a 200 stream.  Whatever a
client sends in those headers, a credential that does not check out is no
user, never an exception, and says nothing about which users exist.

The credentials file, its hashes and the cookies' signatures are
`web.credentials`.  A session is bound to the user's password hash: changing
the password ends its sessions.  Failed logins are limited per client
address.  Passwords, tokens and cookies never reach a log line.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from web.credentials import NAME, Credentials, Session, verify_password

__all__ = ["COOKIE", "Auth", "Credentials"]

logger = logging.getLogger(__name__)

COOKIE = "telemetry_session"
MAX_PASSWORD = 1024
MAX_FORM = 4096
FAILURES_ALLOWED = 5  # per client address within FAILURE_WINDOW, then 429
FAILURE_WINDOW = 60.0
FAILURE_HOSTS = 1024  # addresses remembered, oldest forgotten first
MAX_SESSION_COOKIES = 8  # looked at per request; a browser sends one
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = ("/login", "/logout", "/favicon.ico")


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
    <button type="submit">Sign in</button>
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
        self.failures: OrderedDict[str, list[float]] = OrderedDict()
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
            return session.user
        return None

    def guard(self, app: ASGIApp) -> ASGIApp:
        """`app` behind the gate."""

        async def gated(scope: Scope, receive: Receive, send: Send) -> None:
            if scope["type"] != "http" or self._public(scope["path"]) or self.user(scope):
                await app(scope, receive, send)
                return
            self.refused += 1
            response: Response
            if scope["method"] in ("GET", "HEAD") and scope["path"] == "/":
                response = RedirectResponse("/login", status_code=303)
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
        text = LOGIN_PAGE.replace("{problem}", PROBLEMS.get(problem, ""))
        return HTMLResponse(text, headers={"Cache-Control": "no-store"})

    def _limited(self, host: str, now: float) -> bool:
        recent = [t for t in self.failures.get(host, []) if now - t < FAILURE_WINDOW]
        if recent:
            self.failures[host] = recent
        else:
            self.failures.pop(host, None)
        return len(recent) >= FAILURES_ALLOWED

    def _failed(self, host: str, now: float) -> None:
        self.failures.setdefault(host, []).append(now)
        self.failures.move_to_end(host)
        while len(self.failures) > FAILURE_HOSTS:
            self.failures.popitem(last=False)

    async def login(self, request: Request) -> Response:
        # A browser says where a form came from in Sec-Fetch-Site; with the page's
        # `Referrer-Policy: no-referrer` its Origin is "null", so that is the fallback.
        site = request.headers.get("sec-fetch-site")
        origin = request.headers.get("origin")
        if (site is not None and site not in ("same-origin", "none")) or (
            origin not in (None, "null")
            and origin.split("://", 1)[-1] != request.headers.get("host")
        ):
            return JSONResponse({"error": "cross-site login refused"}, status_code=403)
        host = request.client.host if request.client else "?"
        now = time.monotonic()
        if self._limited(host, now):
            return RedirectResponse("/login?problem=busy", status_code=303)
        body = b""
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_FORM:
                return JSONResponse({"error": "form too large"}, status_code=413)
        form = parse_qs(body.decode("utf-8", "replace"), max_num_fields=4)
        user = (form.get("user") or [""])[0]
        password = (form.get("password") or [""])[0]
        stored = self.credentials.users.get(user) if NAME.fullmatch(user) else None
        if stored is None or len(password) > MAX_PASSWORD or not verify_password(password, stored):
            self._failed(host, now)
            # The name only when it is a plain one: nothing a visitor types reaches a log raw.
            shown = user if NAME.fullmatch(user) else "(not a user name)"
            logger.warning("failed login for %s from %s", shown, host)
            return RedirectResponse("/login?problem=failed", status_code=303)
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(
            COOKIE,
            self.credentials.cookie(user, self.lifetime),
            max_age=int(self.lifetime),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
        )
        logger.info("%s signed in from %s", user, host)
        return response

    async def logout(self, request: Request) -> Response:
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE, httponly=True, samesite="strict")
        return response
