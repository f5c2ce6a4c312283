"""Authentication: the gate and the login on a real uvicorn, the commands, CORS."""

from __future__ import annotations

import functools
import http.client
import io
import logging
import socket
import stat
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from urllib.parse import quote_plus, urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

import web.auth
from telemetry.cli import main as cli
from telemetry.config import AuthConfig, Config, ServerConfig
from tests.harness.browser import WatchedPage
from tests.harness.credentials import PASSWORD, TOKEN, credentials_file
from tests.harness.server import RunningServer, StartServer
from tests.harness.waiting import wait_until
from web.auth import Auth, same_site
from web.credentials import Credentials, hash_password, hash_token, verify_password


def request(
    server: RunningServer,
    method: str,
    path: str,
    headers: dict[str, str] | None = None,
    body: str | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One request, redirects not followed; a stream's body is not read to its end."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        head = {k.lower(): v for k, v in response.getheaders()}
        if head.get("content-type", "").startswith("text/event-stream"):
            data = response.read1(4096)
        else:
            data = response.read()
        return response.status, head, data
    finally:
        conn.close()


def post_login(
    server: RunningServer, body: str | bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str]]:
    """A login form as given, from the server's own origin unless `headers` say otherwise."""
    sent = {
        "Content-Type": "application/x-www-form-urlencoded",
        "Origin": f"http://127.0.0.1:{server.port}",
        **(headers or {}),
    }
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("POST", "/login", body=body, headers=sent)
        response = conn.getresponse()
        response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}
    finally:
        conn.close()


def login(
    server: RunningServer, user: str, password: str, **headers: str
) -> tuple[int, dict[str, str]]:
    return post_login(server, urlencode({"user": user, "password": password}), headers)


@pytest.fixture
def guarded(start_server: StartServer, tmp_path: Path) -> RunningServer:
    return start_server(Config(auth=AuthConfig(file=str(credentials_file(tmp_path)))))


# -- the gate, on a real server ---------------------------------------------------


def test_without_credentials_data_is_401_and_the_page_redirects_to_the_login(
    guarded: RunningServer,
) -> None:
    for path in ("/events", "/api/series", "/api/history?series=a/b", "/metrics", "/healthz"):
        status, head, body = request(guarded, "GET", path)
        assert status == 401, path
        assert head["content-type"] == "application/json", path  # never a stream
        assert head["www-authenticate"].startswith("Bearer")
        assert b"login" in body
    status, head, _ = request(guarded, "GET", "/")
    assert (status, head["location"]) == (303, "/login")
    status, head, body = request(guarded, "GET", "/login")
    assert status == 200 and b'<form method="post" action="/login"' in body
    assert "script-src 'self'" in head["content-security-policy"]
    assert request(guarded, "GET", "/static/style.css")[0] == 200
    app = guarded.server.config.app
    assert isinstance(app, Starlette)
    assert app.state.auth.refused >= 6


def test_a_bearer_token_opens_everything(guarded: RunningServer) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    for path in ("/", "/api/series", "/api/history?series=a/b"):
        assert request(guarded, "GET", path, auth)[0] == 200, path
    status, head, body = request(guarded, "GET", "/events", auth)
    assert status == 200 and head["content-type"].startswith("text/event-stream")
    assert b"event: hello" in body
    assert request(guarded, "GET", "/api/series", {"Authorization": "Bearer nope"})[0] == 401


def test_a_login_sets_a_strict_httponly_cookie_that_opens_the_stream(
    guarded: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    status, head = login(guarded, "alice", PASSWORD)
    assert (status, head["location"]) == (303, "/")
    cookie = head["set-cookie"]
    assert cookie.startswith("telemetry_session=")
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert "Secure" not in cookie  # plain HTTP here; behind TLS it is set
    value = cookie.split(";", 1)[0]
    status, head, body = request(guarded, "GET", "/events", {"Cookie": value})
    assert status == 200 and b"event: hello" in body
    assert request(guarded, "GET", "/api/series", {"Cookie": value + "x"})[0] == 401
    status, head, _ = request(guarded, "POST", "/logout", {"Cookie": value})
    assert status == 303 and 'telemetry_session=""' in head["set-cookie"]
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert PASSWORD not in logged and value.split("=", 1)[1] not in logged


def test_wrong_passwords_are_refused_then_limited_and_never_logged(
    guarded: RunningServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    for _ in range(5):
        status, head = login(guarded, "alice", "wrong password 1")
        assert (status, head["location"]) == (303, "/login?problem=failed")
        assert "set-cookie" not in head
    status, head = login(guarded, "alice", PASSWORD)  # even the right one, for a minute
    assert (status, head["location"]) == (303, "/login?problem=busy")
    status, head = login(guarded, "<script>", "x")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "wrong password 1" not in logged and "<script>" not in logged
    assert "failed login from 127.0.0.1 (5 in the last minute)" in logged


def test_the_page_sends_a_browser_to_the_login_and_back_live(
    guarded: RunningServer, web_page: WatchedPage
) -> None:
    page = web_page.page
    page.goto(guarded.url)
    assert urlsplit(page.url).path == "/login"
    page.get_by_label("User").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#status.live").wait_for(timeout=5000)
    assert urlsplit(page.url).path == "/"
    assert web_page.errors == []


# -- what a client sends: no exception, no hint about which users exist -----------


def test_a_malformed_session_cookie_is_no_user_not_500(guarded: RunningServer) -> None:
    junk = [
        "{user}:\xb2:x",  # '²'.isdigit() is true, int('²') raises
        "{user}:1:" + "\xe9" * 43,  # hmac.compare_digest raises on non-ASCII text
        "{user}:" + "9" * 5000 + ":x",  # more digits than int() converts
        "{user}::",
        ":",
        "{user}:1:x; telemetry_session=; telemetry_session={user}:\xb3:y",
    ]
    for cookie in junk:
        answers = set()
        for user in ("alice", "nobody"):
            value = "telemetry_session=" + cookie.format(user=user)
            status, head, _ = request(guarded, "GET", "/api/series", {"Cookie": value})
            page = request(guarded, "GET", "/", {"Cookie": value})
            answers.add((status, head["content-type"], page[0], page[1].get("location")))
        # The same answer whether the user exists or not.
        assert answers == {(401, "application/json", 303, "/login")}, cookie


def test_a_malformed_authorization_header_is_no_user_not_500(guarded: RunningServer) -> None:
    for value in ("Bearer", "Bearer \xb2\xff", "Basic \xe9", "bearer " + "x" * 8000, "\xff"):
        assert request(guarded, "GET", "/api/series", {"Authorization": value})[0] == 401, value


@functools.cache
def gate() -> Auth:
    """An Auth with user alice and token grafana (made once: it hashes a dummy password)."""
    credentials = Credentials(
        secret=bytes(range(32)),
        users={"alice": hash_password(PASSWORD)},
        tokens={"grafana": hash_token(TOKEN)},
    )
    return Auth(credentials, 3600.0)


_NAMES = st.sampled_from([b"cookie", b"authorization", b"host", b"origin"])
# Digits as str.isdigit() sees them in latin-1 ('²' among them), and int() does not.
_DIGITS = st.text("0123456789²³¹", max_size=14).map(lambda t: t.encode("latin-1"))
_MACS = st.binary(max_size=50) | st.text("AZaz09_-é", min_size=43, max_size=43).map(
    lambda t: t.encode("latin-1")
)
_COOKIES = st.builds(
    lambda user, expires, mac, tail: b"telemetry_session=%s:%s:%s%s" % (user, expires, mac, tail),
    st.sampled_from([b"alice", b"nobody"]) | st.binary(max_size=8),
    _DIGITS | st.binary(max_size=16),
    _MACS,
    st.sampled_from([b"", b";", b":x", b"; telemetry_session=", b"; other=1"]),
)
_VALUES = st.binary(max_size=300) | _COOKIES | st.builds(lambda v: b"Bearer " + v, _MACS)


@settings(deadline=None)  # the first example builds the Auth: one scrypt hash
@given(cookie=_COOKIES, headers=st.lists(st.tuples(_NAMES, _VALUES), max_size=5))
def test_no_header_bytes_make_a_user_or_an_exception(
    cookie: bytes, headers: list[tuple[bytes, bytes]]
) -> None:
    assert gate().user({"type": "http", "headers": [*headers, (b"cookie", cookie)]}) is None


# -- the login form -----------------------------------------------------------------


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


def test_no_cors_headers_unless_configured(start_server: StartServer) -> None:
    server = start_server()
    _, head, _ = request(server, "GET", "/api/series", {"Origin": "http://evil.example"})
    assert not any(k.startswith("access-control-") for k in head)


def test_configured_origins_only_and_never_a_wildcard_with_credentials(
    start_server: StartServer, tmp_path: Path
) -> None:
    config = Config(
        server=ServerConfig(cors_origins=("http://grafana.lan:3000",)),
        auth=AuthConfig(file=str(credentials_file(tmp_path))),
    )
    server = start_server(config)
    auth = {"Authorization": f"Bearer {TOKEN}"}
    _, head, _ = request(
        server, "GET", "/api/series", {"Origin": "http://grafana.lan:3000", **auth}
    )
    assert head["access-control-allow-origin"] == "http://grafana.lan:3000"
    assert head["access-control-allow-credentials"] == "true"
    _, head, _ = request(server, "GET", "/api/series", {"Origin": "http://evil.example", **auth})
    assert "access-control-allow-origin" not in head


# -- the commands -------------------------------------------------------------------


def run_cli(monkeypatch: pytest.MonkeyPatch, *argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    with redirect_stdout(out), redirect_stderr(err):
        code = cli(list(argv))
    return code, out.getvalue(), err.getvalue()


def test_passwd_and_token_commands_write_the_file_and_print_the_token_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "creds"
    code, _, _ = run_cli(
        monkeypatch, "passwd", "bob", "--file", str(path), "--password-stdin", stdin=PASSWORD
    )
    assert code == 0
    assert verify_password(PASSWORD, Credentials.load(path).users["bob"])
    code, out, _ = run_cli(monkeypatch, "token", "script", "--file", str(path))
    token = out.strip()
    assert code == 0 and len(token) >= 40
    assert Credentials.load(path).token_user(token) == "script"
    assert token not in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    code, _, err = run_cli(
        monkeypatch, "passwd", "bob", "--file", str(path), "--password-stdin", stdin="short"
    )
    assert code == 1 and "8 characters" in err
    code, _, _ = run_cli(monkeypatch, "passwd", "bob", "--file", str(path), "--delete")
    assert code == 0 and "bob" not in Credentials.load(path).users


def test_the_session_lifetime_is_the_configured_one(
    start_server: StartServer, tmp_path: Path
) -> None:
    config = Config(auth=AuthConfig(file=str(credentials_file(tmp_path)), session=120.0))
    server = start_server(config)
    _, head = login(server, "alice", PASSWORD)
    assert "Max-Age=120" in head["set-cookie"]
    expires = int(head["set-cookie"].split("=", 1)[1].split(";")[0].split(":")[1])
    assert abs(expires - (time.time() + 120)) < 5


def test_the_cookie_is_secure_when_a_trusted_proxy_says_the_request_came_over_tls(
    start_server: StartServer, tmp_path: Path
) -> None:
    # nginx in deploy/ runs on the same machine, so trusted_proxies names 127.0.0.1.
    auth = AuthConfig(file=str(credentials_file(tmp_path)))
    server = start_server(Config(server=ServerConfig(trusted_proxies=("127.0.0.1",)), auth=auth))
    tls = {"X-Forwarded-Proto": "https", "Origin": f"https://127.0.0.1:{server.port}"}
    _, head = login(server, "alice", PASSWORD, **tls)
    assert "Secure" in head["set-cookie"]


def test_x_forwarded_proto_from_an_untrusted_peer_is_ignored(guarded: RunningServer) -> None:
    # Its Origin says https, the connection is plain HTTP: not the server's own origin.
    tls = {"X-Forwarded-Proto": "https", "Origin": f"https://127.0.0.1:{guarded.port}"}
    assert login(guarded, "alice", PASSWORD, **tls)[0] == 403
    _, head = login(guarded, "alice", PASSWORD, **{"X-Forwarded-Proto": "https"})
    assert "Secure" not in head["set-cookie"]
