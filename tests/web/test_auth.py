"""Authentication: the gate and the login on a real uvicorn, the commands, CORS."""

from __future__ import annotations

import functools
import http.client
import io
import logging
import stat
import sys
import time
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path
from urllib.parse import urlencode, urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette

from telemetry.cli import main as cli
from telemetry.config import AuthConfig, Config, ServerConfig
from tests.harness.browser import WatchedPage
from tests.harness.credentials import PASSWORD, TOKEN, credentials_file
from tests.harness.server import RunningServer, StartServer
from web.auth import Auth
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


def test_a_deep_link_survives_the_login_and_the_page_can_sign_out(
    guarded: RunningServer, web_page: WatchedPage
) -> None:
    page = web_page.page
    page.goto(guarded.url.rstrip("/") + "/?range=15m&series=kitchen%2F*")
    assert urlsplit(page.url).path == "/login"
    page.get_by_label("User").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.locator("#status.live").wait_for(timeout=5000)
    address = urlsplit(page.url)
    assert address.path == "/" and "range=15m" in address.query
    assert page.locator('button[data-range="15m"]').get_attribute("aria-pressed") == "true"
    signout = page.get_by_role("button", name="Sign out")
    assert signout.is_visible()
    assert signout.bounding_box()["height"] >= 44  # type: ignore[index]
    signout.click()
    page.wait_for_url("**/login")
    page.goto(guarded.url)  # the session is over
    assert urlsplit(page.url).path == "/login"
    assert web_page.errors == []


def test_the_login_keeps_the_page_address_and_only_that(guarded: RunningServer) -> None:
    status, head, _ = request(guarded, "GET", "/?range=15m&series=a%2F*")
    assert status == 303
    assert head["location"] == "/login?next=%2F%3Frange%3D15m%26series%3Da%252F%2A"
    _, _, body = request(guarded, "GET", head["location"])
    assert b'<input type="hidden" name="next" value="/?range=15m&amp;series=a%2F*">' in body
    form = {"user": "alice", "password": PASSWORD, "next": "/?range=15m&series=a%2F*"}
    status, head = post_login(guarded, urlencode(form))
    assert (status, head["location"]) == (303, "/?range=15m&series=a%2F*")
    status, head = post_login(guarded, urlencode({**form, "password": "wrong"}))
    assert head["location"] == "/login?problem=failed&next=%2F%3Frange%3D15m%26series%3Da%252F%2A"
    for elsewhere in ("//evil.example/", "https://evil.example/", "/\\evil.example", "/api/series"):
        status, head = post_login(guarded, urlencode({**form, "next": elsewhere}))
        assert (status, head["location"]) == (303, "/"), elsewhere
        _, _, body = request(guarded, "GET", "/login?" + urlencode({"next": elsewhere}))
        assert b'name="next"' not in body, elsewhere


def test_the_page_offers_sign_out_only_to_someone_signed_in(
    guarded: RunningServer, start_server: StartServer
) -> None:
    status, head = login(guarded, "alice", PASSWORD)
    cookie = head["set-cookie"].split(";", 1)[0]
    status, _, body = request(guarded, "GET", "/", {"Cookie": cookie})
    assert status == 200
    assert b'<form id="signout" method="post" action="/logout" title="Signed in as alice">' in body
    status, _, body = request(guarded, "GET", "/", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200 and b'action="/logout" title="Signed in as grafana">' in body
    status, _, body = request(start_server(Config()), "GET", "/")
    assert status == 200 and b'<form id="signout" method="post" action="/logout" hidden>' in body


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
