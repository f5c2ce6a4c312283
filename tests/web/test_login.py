"""The login form: its parsing, its cost, its rate limit, its origin check, and logout."""

from __future__ import annotations

import logging
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote_plus, urlencode

import pytest
from starlette.applications import Starlette

import web.auth
from telemetry.config import AuthConfig, Config, ServerConfig
from tests.harness.credentials import PASSWORD, credentials_file
from tests.harness.server import RunningServer, StartServer
from tests.harness.waiting import wait_until
from tests.web.test_auth import gate, guarded, login, post_login, request
from web.auth import Auth, same_site
from web.credentials import Credentials, verify_password

__all__ = ["guarded"]  # the fixture, shared with test_auth


def test_login_with_extra_form_fields_is_refused_not_500(guarded: RunningServer) -> None:
    form = urlencode({"user": "alice", "password": PASSWORD, "a": 1, "b": 2, "c": 3})
    assert post_login(guarded, form)[1]["location"] == "/login?problem=failed"


PLUS = quote_plus(PASSWORD)


@pytest.mark.parametrize(
    "body",
    [
        f"user=alice&password={PLUS}&password=x".encode(),  # which one counts?
        f"user=nobody&user=alice&password={PLUS}".encode(),
        f"user=alice&password={PLUS}&".encode(),
        f"user=alice&password={PLUS}&remember".encode(),
        b"user=alice\r\n&password=x",  # control characters are always escaped
        b"user=alice&password=%zz",  # a bad %-escape
        b"user=alice&password=%ff%fe",  # not UTF-8
        b"user=alice&password=\xe9t\xe9",  # bytes a browser escapes
        b"user=alice",
        b"",
        b"&&&&&",
        b"=" * 4000,
    ],
)
def test_a_form_a_browser_would_not_send_is_a_failed_login(
    guarded: RunningServer, body: bytes
) -> None:
    status, head = post_login(guarded, body)
    assert (status, head["location"]) == (303, "/login?problem=failed")
    assert "set-cookie" not in head


def test_a_form_as_curl_writes_it_with_plain_spaces_signs_in(guarded: RunningServer) -> None:
    status, head = post_login(guarded, f"user=alice&password={PASSWORD}")
    assert (status, head["location"]) == (303, "/")


def test_a_login_form_over_the_size_limit_is_413(guarded: RunningServer) -> None:
    body = urlencode({"user": "alice", "password": "x" * 5000})
    assert post_login(guarded, body)[0] == 413


def test_a_login_form_trickling_in_past_the_timeout_gets_408(
    guarded: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web.auth, "FORM_TIMEOUT", 0.5)
    head = (
        f"POST /login HTTP/1.1\r\nHost: 127.0.0.1:{guarded.port}\r\n"
        f"Origin: http://127.0.0.1:{guarded.port}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 40\r\n\r\n"
    )
    with socket.create_connection(("127.0.0.1", guarded.port), timeout=5) as sock:
        sock.sendall(head.encode() + b"user=ali")  # and the rest never comes
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 408 ")


# -- logs -------------------------------------------------------------------------


def test_a_failed_login_logs_the_address_and_a_count_never_what_was_typed(
    guarded: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    login(guarded, "my secret password", "oops")  # typed into the user box
    login(guarded, "alice", "wrong password")
    logged = [r.getMessage() for r in caplog.records if r.name == "web.auth"]
    assert logged == [
        "failed login from 127.0.0.1 (1 in the last minute)",
        "failed login from 127.0.0.1 (2 in the last minute)",
    ]
    login(guarded, "alice", PASSWORD)
    logged = [r.getMessage() for r in caplog.records if r.name == "web.auth"]
    assert logged[-1] == "alice signed in from 127.0.0.1"


# -- password checks --------------------------------------------------------------


def test_the_dummy_hash_costs_what_a_users_hash_costs() -> None:
    auth = gate()
    dummy, real = auth.dummy.split("$"), auth.credentials.users["alice"].split("$")
    assert dummy[:4] == real[:4]  # scrypt, n, r, p
    assert [len(part) for part in dummy[4:]] == [len(part) for part in real[4:]]
    assert not verify_password("", auth.dummy)


def test_every_login_runs_one_password_check_whether_the_user_exists_or_not(
    guarded: RunningServer,
) -> None:
    app = guarded.server.config.app
    assert isinstance(app, Starlette)
    auth: Auth = app.state.auth
    for user, password in [
        ("alice", "wrong password"),
        ("nobody", "wrong password"),  # no such user
        ("<not a name>", "wrong password"),
        ("alice", "x" * 2000),  # longer than any password may be
    ]:
        before = auth.checks
        assert login(guarded, user, password)[1]["location"] == "/login?problem=failed"
        assert auth.checks == before + 1, user


def test_password_checks_run_off_the_event_loop_two_at_a_time(
    guarded: RunningServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    app = guarded.server.config.app
    assert isinstance(app, Starlette)
    auth: Auth = app.state.auth
    release, lock = threading.Event(), threading.Lock()
    running, most, threads = [0], [0], set()

    def held_check(password: str, stored: str) -> bool:  # a check that takes its time
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
            threads.add(threading.current_thread().name)
        release.wait(10)
        with lock:
            running[0] -= 1
        return False

    monkeypatch.setattr(web.auth, "verify_password", held_check)
    with ThreadPoolExecutor(4) as pool:
        try:
            answers = [pool.submit(login, guarded, "alice", "wrong") for _ in range(4)]
            wait_until(lambda: auth.pending == 4 and running[0] == 2, what="2 run, 2 wait")
            assert request(guarded, "GET", "/login")[0] == 200  # the loop is free meanwhile
        finally:
            release.set()
        assert [a.result()[0] for a in answers] == [303] * 4
    assert most[0] == 2
    assert guarded.thread.name not in threads


def test_logins_sent_at_once_from_one_address_are_limited_too(guarded: RunningServer) -> None:
    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(lambda _: login(guarded, "alice", "wrong"), range(10)))
    where = sorted(head["location"] for _, head in answers)
    assert where == ["/login?problem=busy"] * 5 + ["/login?problem=failed"] * 5


# -- proxies ----------------------------------------------------------------------


def test_x_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    guarded: RunningServer,
) -> None:
    for n in range(5):
        login(guarded, "alice", "wrong", **{"X-Forwarded-For": f"203.0.113.{n}"})
    _, head = login(guarded, "alice", "wrong", **{"X-Forwarded-For": "203.0.113.99"})
    assert head["location"] == "/login?problem=busy"


def test_a_trusted_proxy_names_the_client_the_login_limit_counts(
    start_server: StartServer, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    auth = AuthConfig(file=str(credentials_file(tmp_path)))
    server = start_server(Config(server=ServerConfig(trusted_proxies=("127.0.0.0/8",)), auth=auth))
    for _ in range(5):
        login(server, "alice", "wrong", **{"X-Forwarded-For": "203.0.113.7"})
    _, head = login(server, "alice", "wrong", **{"X-Forwarded-For": "203.0.113.7"})
    assert head["location"] == "/login?problem=busy"
    _, head = login(server, "alice", "wrong", **{"X-Forwarded-For": "203.0.113.8"})
    assert head["location"] == "/login?problem=failed"
    assert "failed login from 203.0.113.7 (5 in the last minute)" in caplog.text


# -- cross-site posts -------------------------------------------------------------


def own_origin(server: RunningServer) -> str:
    return f"http://127.0.0.1:{server.port}"


REFUSED = [
    {},
    {"Referer": "{own}/login"},
    {"Origin": "null"},
    {"Sec-Fetch-Site": "none"},
    {"Sec-Fetch-Site": "same-site"},
    {"Sec-Fetch-Site": "cross-site"},
    {"Origin": "null", "Sec-Fetch-Site": "cross-site"},
    {"Origin": "http://evil.example"},
    {"Origin": "http://evil.example", "Sec-Fetch-Site": "same-origin"},
    {"Origin": "{own}", "Sec-Fetch-Site": "cross-site"},
    {"Origin": "{own}.evil.example"},
    {"Origin": "https://127.0.0.1:{port}"},
    {"Origin": "http://127.0.0.1"},
    {"Origin": "{own}", "Host": "["},
]
ACCEPTED = [
    {"Origin": "{own}"},
    {"Origin": "HTTP://127.0.0.1:{port}"},
    {"Sec-Fetch-Site": "same-origin"},
    {"Origin": "null", "Sec-Fetch-Site": "same-origin"},
    {"Origin": "{own}", "Sec-Fetch-Site": "same-origin"},
]


def test_a_login_post_needs_its_own_origin_or_sec_fetch_site_same_origin(
    guarded: RunningServer,
) -> None:
    for case in REFUSED + ACCEPTED:
        headers = {
            "Content-Type": "application/x-www-form-urlencoded",
            **{k: v.format(own=own_origin(guarded), port=guarded.port) for k, v in case.items()},
        }
        form = urlencode({"user": "alice", "password": PASSWORD})
        status, _, _ = request(guarded, "POST", "/login", headers, form)
        assert status == (403 if case in REFUSED else 303), case


def test_a_repeated_origin_or_fetch_site_header_is_not_the_site_itself() -> None:
    own = [(b"host", b"pi.lan"), (b"origin", b"http://pi.lan")]
    assert same_site({"scheme": "http", "headers": own})
    tls = [(b"host", b"pi.lan:443"), (b"origin", b"https://pi.lan")]  # no default port
    assert same_site({"scheme": "https", "headers": tls})
    assert not same_site({"scheme": "http", "headers": tls})
    for repeated in (own[1], (b"sec-fetch-site", b"same-origin"), own[0]):
        assert not same_site({"scheme": "http", "headers": [*own, repeated, repeated]})


def test_pages_keep_referrers_on_the_site_so_forms_send_their_origin(
    guarded: RunningServer,
) -> None:
    # Under no-referrer a browser sends `Origin: null` even from the login page itself.
    assert request(guarded, "GET", "/login")[1]["referrer-policy"] == "same-origin"


# -- logout -----------------------------------------------------------------------


def test_after_logout_the_same_cookie_is_refused(guarded: RunningServer, tmp_path: Path) -> None:
    _, head = login(guarded, "alice", PASSWORD)
    cookie = {"Cookie": head["set-cookie"].split(";", 1)[0]}
    # Another of alice's sessions, signed with the server's key (it reads tmp_path/users).
    other = Credentials.load(tmp_path / "users").cookie("alice", 600)
    elsewhere = {"Cookie": f"telemetry_session={other}"}
    assert request(guarded, "GET", "/api/series", cookie)[0] == 200
    status, head, _ = request(guarded, "POST", "/logout", cookie)
    assert (status, head["location"]) == (303, "/login")
    assert 'telemetry_session=""' in head["set-cookie"]
    assert request(guarded, "GET", "/api/series", cookie)[0] == 401
    assert request(guarded, "GET", "/events", cookie)[0] == 401
    assert request(guarded, "GET", "/", cookie)[1]["location"] == "/login"
    assert request(guarded, "GET", "/api/series", elsewhere)[0] == 200  # not logged out


def test_logout_without_or_with_a_bad_cookie_just_redirects(guarded: RunningServer) -> None:
    for headers in ({}, {"Cookie": "telemetry_session=alice:\xb2:x"}, {"Cookie": "\xff"}):
        status, head, _ = request(guarded, "POST", "/logout", headers)
        assert (status, head["location"]) == (303, "/login")
    app = guarded.server.config.app
    assert isinstance(app, Starlette)
    assert len(app.state.auth.revocations) == 0


# -- CORS -------------------------------------------------------------------------
