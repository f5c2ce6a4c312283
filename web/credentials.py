"""The credentials file, password and token hashes, and signed session cookies.

The file is text, written by `telemetry passwd` and `telemetry token` (mode 0600):

    secret <64 hex digits: the key cookies are signed with>
    user <name> scrypt$<n>$<r>$<p>$<salt, base64>$<hash, base64>
    token <name> sha256$<hex digest of the token>

Passwords are hashed with `hashlib.scrypt`; tokens are 32 random bytes, so a
SHA-256 of them is enough.  A session cookie is `<user>:<expiry>:<signature>`,
signed with HMAC-SHA256 over the user, the expiry and the user's password hash:
changing the password ends the user's sessions.
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
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1  # 16 MiB, ~50 ms on a Pi 4


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
