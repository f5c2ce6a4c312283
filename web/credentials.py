"""The credentials file, password and token hashes, and signed session cookies.

The file is text, written by `telemetry passwd` and `telemetry token` (mode 0600):

    secret <64 hex digits: the key cookies are signed with>
    user <name> scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>
    token <name> sha256$<hex digest of the token>

Passwords are hashed with `hashlib.scrypt`; tokens are 32 random bytes, so a
SHA-256 of them is enough.  A session cookie is `<user>:<expiry>:<signature>`,
signed with HMAC-SHA256 over the user, the expiry and the user's password hash:
changing the password ends the user's sessions.  Nothing here keeps state
between requests; which sessions a logout ended is `web.revocations`' business.

Everything that reads what a client sent (`token_user`, `session`) answers
None for anything it does not recognise and never raises.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path

from telemetry.errors import TelemetryError

NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MiB of memory per check
SCRYPT_MAXMEM = 64 * 2**20
_B64 = r"[A-Za-z0-9+/]+={0,2}"
_SCRYPT = re.compile(rf"scrypt\$[0-9]{{1,10}}\$[0-9]{{1,3}}\$[0-9]{{1,3}}\${_B64}\${_B64}")
_SHA256 = re.compile(r"sha256\$[0-9a-f]{64}")
# user, expiry (Unix seconds), then 32 bytes of HMAC in unpadded URL-safe base64:
# ASCII only, so neither `int` nor `hmac.compare_digest` can be handed anything
# they raise on, whatever the header held.
_COOKIE = re.compile(r"([A-Za-z0-9._-]{1,64}):([0-9]{1,12}):([A-Za-z0-9_-]{43})")


class CredentialsError(TelemetryError):
    """The credentials file cannot be read or has a bad line."""


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=SCRYPT_MAXMEM
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
            maxmem=SCRYPT_MAXMEM,
            dklen=len(expected),
        )
    except (ValueError, TypeError, OverflowError):
        return False
    return hmac.compare_digest(got, expected)


def hash_token(token: str) -> str:
    return "sha256$" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    """A session cookie whose signature held: whose, until when, and its signature."""

    user: str
    expires: int  # Unix seconds
    mac: str  # the signature: tells one session of a user from another


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
            kind, named = words[0], len(words) == 3 and NAME.fullmatch(words[1])
            if kind == "secret" and len(words) == 2 and re.fullmatch(r"[0-9a-f]{64}", words[1]):
                found.secret = bytes.fromhex(words[1])
            elif kind == "user" and named and _SCRYPT.fullmatch(words[2]):
                found.users[words[1]] = words[2]
            elif kind == "token" and named and _SHA256.fullmatch(words[2]):
                found.tokens[words[1]] = words[2]
            elif kind in ("user", "token") and named:
                raise CredentialsError(
                    f"{path}:{number}: {kind} {words[1]} has no {kind} hash of the form "
                    f"`telemetry {'passwd' if kind == 'user' else 'token'}` writes"
                )
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
        return self.cookie_until(user, int((time.time() if now is None else now) + lifetime))

    def cookie_until(self, user: str, expires: int) -> str:
        """A session cookie for `user` that expires at `expires` (Unix seconds)."""
        return f"{user}:{expires}:{self._sign(user, expires)}"

    def session(self, value: str, now: float | None = None) -> Session | None:
        """The session a cookie value stands for; None unless it is signed and unexpired."""
        found = _COOKIE.fullmatch(value)
        if found is None:
            return None
        user, expires, mac = found[1], int(found[2]), found[3]
        # Signed whether the user exists or not: the answer and the work are the same.
        signed = hmac.compare_digest(mac, self._sign(user, expires))
        if not signed or user not in self.users:
            return None
        if expires < (time.time() if now is None else now):
            return None
        return Session(user, expires, mac)

    def cookie_user(self, value: str, now: float | None = None) -> str | None:
        found = self.session(value, now)
        return None if found is None else found.user
