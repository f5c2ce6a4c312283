"""Optional authentication that works with EventSource (which cannot send headers).

Off unless `[auth] file` names a credentials file.  Then every request but the
login page and the static files (no sensor data in them) needs either

- the session cookie a login sets: `HttpOnly`, `SameSite=Strict`, `Secure`
  when the request came over TLS (uvicorn reads nginx's `X-Forwarded-Proto`),
  signed with HMAC-SHA256 and expiring; a browser's EventSource sends it; or
- `Authorization: Bearer <token>`, for scripts and monitoring.

Without either, the page redirects to `/login` and everything else (`/events`,
`/api/*`, `/metrics`, `/healthz`) answers 401: never a 200 stream.

The credentials file is text, written by `telemetry passwd` and `telemetry
token` (mode 0600):

    secret <64 hex digits: the key cookies are signed with>
    user <name> scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>
    token <name> sha256$<hex digest of the token>

Passwords are hashed with `hashlib.scrypt`; tokens are 32 random bytes, so a
SHA-256 of them is enough.  A session is bound to the user's password hash:
changing the password ends its sessions.  Failed logins are limited per client
address.  Passwords, tokens and cookies never reach a log line.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import os
import re
import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from telemetry.errors import TelemetryError

logger = logging.getLogger(__name__)

COOKIE = "telemetry_session"
NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MiB, ~50 ms on a Pi 4
MAX_PASSWORD = 1024
MAX_FORM = 4096
FAILURES_ALLOWED = 5  # per client address within FAILURE_WINDOW, then 429
FAILURE_WINDOW = 60.0
FAILURE_HOSTS = 1024  # addresses remembered, oldest forgotten first
PUBLIC_PREFIXES = ("/static/",)
PUBLIC_PATHS = ("/login", "/logout", "/favicon.ico")


class CredentialsError(TelemetryError):
    """The credentials file cannot be read or has a bad line."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=64 * 2**20
    )
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${_b64(salt)}${_b64(digest)}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        expected = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode(),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=64 * 2**20,
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expected)


def hash_token(token: str) -> str:
    return "sha256$" + hashlib.sha256(token.encode()).hexdigest()


@dataclass
class Credentials:
    secret: bytes = b""
    users: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | Path) -> Credentials:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise CredentialsError(f"{path}: cannot be read: {exc}") from exc
        found = cls()
        for number, line in enumerate(text.splitlines(), 1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            if words[0] == "secret" and len(words) == 2 and re.fullmatch(r"[0-9a-f]{64}", words[1]):
                found.secret = bytes.fromhex(words[1])
            elif words[0] == "user" and len(words) == 3 and NAME.fullmatch(words[1]):
                found.users[words[1]] = words[2]
            elif words[0] == "token" and len(words) == 3 and NAME.fullmatch(words[1]):
                found.tokens[words[1]] = words[2]
            else:
                raise CredentialsError(f"{path}:{number}: not a secret, user or token line")
        if not found.secret:
            raise CredentialsError(f"{path}: no secret line (run `telemetry passwd` to write one)")
        return found

    def save(self, path: str | Path) -> None:
        """Write the file whole, readable by its owner only, then move it into place."""
        lines = ["# pi-telemetry credentials: `telemetry passwd` and `telemetry token` write this"]
        lines.append(f"secret {self.secret.hex()}")
        lines += [f"user {name} {stored}" for name, stored in sorted(self.users.items())]
        lines += [f"token {name} {stored}" for name, stored in sorted(self.tokens.items())]
        path = Path(path)
        temp = path.with_name(path.name + ".new")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write("\n".join(lines) + "\n")
        os.replace(temp, path)

    @classmethod
    def load_or_new(cls, path: str | Path) -> Credentials:
        if Path(path).exists():
            return cls.load(path)
        return cls(secret=secrets.token_bytes(32))

    # -- checks ----------------------------------------------------------------

    def token_user(self, token: str) -> str | None:
        digest = hash_token(token)
        found = None
        for name, stored in self.tokens.items():
            if hmac.compare_digest(digest, stored):
                found = name
        return found

    def _sign(self, user: str, expires: int) -> str:
        stored = self.users.get(user, "")
        message = f"{user}:{expires}:{stored}".encode()
        mac = hmac.new(self.secret, message, hashlib.sha256).digest()
        return base64.urlsafe_b64encode(mac).decode("ascii").rstrip("=")

    def cookie(self, user: str, lifetime: float, now: float | None = None) -> str:
        expires = int((time.time() if now is None else now) + lifetime)
        return f"{user}:{expires}:{self._sign(user, expires)}"

    def cookie_user(self, value: str, now: float | None = None) -> str | None:
        parts = value.split(":")
        if len(parts) != 3 or parts[0] not in self.users or not parts[1].isdigit():
            return None
        user, expires = parts[0], int(parts[1])
        if expires < (time.time() if now is None else now):
            return None
        return user if hmac.compare_digest(parts[2], self._sign(user, expires)) else None


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

    def user(self, scope: Scope) -> str | None:
        for key, value in scope.get("headers", []):
            if key == b"authorization":
                scheme, _, token = value.decode("latin-1").partition(" ")
                if scheme.lower() == "bearer" and token.strip():
                    return self.credentials.token_user(token.strip())
            elif key == b"cookie":
                for part in value.decode("latin-1").split(";"):
                    name, _, cookie = part.strip().partition("=")
                    if name == COOKIE:
                        user = self.credentials.cookie_user(cookie)
                        if user is not None:
                            return user
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
