"""A credentials file with one user and one token, for servers under test."""

from __future__ import annotations

from pathlib import Path

from web.credentials import Credentials, hash_password, hash_token

PASSWORD = "correct horse battery"
TOKEN = "t0k3n-for-scripts-xxxxxxxxxxxxxxxxxxxxxxxxxx"


def credentials_file(tmp_path: Path) -> Path:
    """`tmp_path/users`: user alice with PASSWORD, token grafana with TOKEN."""
    path = tmp_path / "users"
    found = Credentials.load_or_new(path)
    found.users["alice"] = hash_password(PASSWORD)
    found.tokens["grafana"] = hash_token(TOKEN)
    found.save(path)
    return path
