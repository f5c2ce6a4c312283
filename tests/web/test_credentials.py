"""The credentials file, password and token hashes, and signed session cookies."""

from __future__ import annotations

import functools
import stat
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

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


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ("user bob hunter2", ":5: user bob has no user hash of the form `telemetry passwd`"),
        ("user bob scrypt$1$2$3$é$x", ":5: user bob has no user hash"),
        ("token ci sha256$NOTHEX", ":5: token ci has no token hash of the form `telemetry token`"),
        ("token ci sha256$" + "é" * 64, ":5: token ci has no token hash"),
    ],
)
def test_a_hash_not_of_the_form_the_commands_write_is_an_error_naming_the_line(
    tmp_path: Path, line: str, problem: str
) -> None:
    # Read as given, such a hash would fail (or raise) at every request instead.
    path = credentials_file(tmp_path)
    path.write_text(path.read_text() + line + "\n", encoding="utf-8")
    with pytest.raises(CredentialsError) as info:
        Credentials.load(path)
    assert str(info.value).startswith(f"{path}{problem}")


@functools.cache
def signer() -> Credentials:
    return Credentials(secret=bytes(range(32)), users={"alice": hash_password(PASSWORD)})


def test_cookies_python_cannot_read_as_numbers_or_compare_are_no_session() -> None:
    found = signer()
    good = found.cookie("alice", 3600, now=1000.0)
    user, expires, mac = good.split(":")
    arabic = expires.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩"))
    for value in (
        "alice:\xb2:x",  # '²'.isdigit(), but int('²') raises
        f"alice:{arabic}:{mac}",  # int() reads these digits; a cookie never has them
        f"alice:{'9' * 5000}:{mac}",  # more digits than int() converts
        f"alice:{expires}:{'é' * 43}",  # compare_digest raises on non-ASCII text
        f"alice:{expires}:{mac}:",
        f"{user}::{mac}",
        "::",
        "",
    ):
        assert found.session(value, now=1001.0) is None, value
    assert found.cookie_user(good, now=1001.0) == "alice"


# What a Cookie header can carry once read as latin-1, with the digits that
# str.isdigit() takes and int() does not.
_PARTS = st.text(alphabet=st.characters(max_codepoint=255), max_size=60) | st.text(
    alphabet="0123456789²³¹", max_size=14
)


@settings(deadline=None)  # the first example hashes a password
@given(user=st.sampled_from(["alice", "bob", ""]) | _PARTS, expires=_PARTS, mac=_PARTS)
def test_no_unsigned_cookie_value_raises_or_is_a_session(user: str, expires: str, mac: str) -> None:
    found = signer()
    for value in (f"{user}:{expires}:{mac}", f"{user}:{expires}", f"{user}:{mac}:{expires}:"):
        assert found.session(value, now=1000.0) is None
