"""The credentials file, password and token hashes, and signed session cookies."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from tests.harness.credentials import PASSWORD, TOKEN, credentials_file
from web.credentials import Credentials, CredentialsError, hash_password, verify_password


def test_passwords_are_stored_as_scrypt_hashes_and_verified() -> None:
    stored = hash_password(PASSWORD)
    assert stored.startswith("scrypt$16384$8$1$") and PASSWORD not in stored
    assert verify_password(PASSWORD, stored)
    assert not verify_password(PASSWORD + "!", stored)
    assert not verify_password(PASSWORD, "scrypt$garbage")
    assert hash_password(PASSWORD) != stored  # salted


def test_credentials_file_round_trips_with_owner_only_permissions(tmp_path: Path) -> None:
    path = credentials_file(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    loaded = Credentials.load(path)
    assert set(loaded.users) == {"alice"} and set(loaded.tokens) == {"grafana"}
    assert TOKEN not in path.read_text() and PASSWORD not in path.read_text()
    assert loaded.token_user(TOKEN) == "grafana"
    assert loaded.token_user(TOKEN + "x") is None


def test_a_bad_credentials_line_is_an_error_naming_the_line(tmp_path: Path) -> None:
    path = credentials_file(tmp_path)
    path.write_text(path.read_text() + "user bob\n")
    with pytest.raises(CredentialsError, match=r":5: not a secret, user or token line"):
        Credentials.load(path)


def test_session_cookies_are_signed_expire_and_end_with_a_password_change(
    tmp_path: Path,
) -> None:
    found = Credentials.load(credentials_file(tmp_path))
    cookie = found.cookie("alice", 3600, now=1000.0)
    assert found.cookie_user(cookie, now=1001.0) == "alice"
    assert found.cookie_user(cookie, now=1000.0 + 3601) is None  # expired
    user, expires, sig = cookie.split(":")
    assert found.cookie_user(f"{user}:{int(expires) + 99999}:{sig}", now=1001.0) is None
    assert found.cookie_user(f"bob:{expires}:{sig}", now=1001.0) is None
    found.users["alice"] = hash_password("a new password")
    assert found.cookie_user(cookie, now=1001.0) is None
