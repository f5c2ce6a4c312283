"""HTTP ingest on a real uvicorn: line protocol and JSON lines in, readings stored and streamed."""

from __future__ import annotations

import dataclasses
import gzip
import http.client
import json
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from telemetry.config import AuthConfig, Config, IngestConfig, RecordConfig, ServerConfig
from telemetry.errors import ConfigError
from telemetry.record import read_session
from telemetry.server import make_server
from telemetry.sessions import replay_print
from tests.harness.credentials import TOKEN, credentials_file
from tests.harness.server import RunningServer, StartServer
from tests.harness.sse_client import SSEClient
from tests.harness.waiting import wait_until
from web import ingest as web_ingest

ON = IngestConfig(http=True)
NOW = int(time.time()) - 60  # device times within the allowed clock skew, in the past
TELEGRAF = (
    f"cpu,cpu=cpu-total,host=pi usage_idle=97.5,usage_user=1.25 {NOW}000000000\n"
    f"mem,host=pi used_percent=41.5 {NOW}000000000\n"
)


def post(
    server: RunningServer,
    path: str,
    body: bytes,
    headers: dict[str, str] | None = None,
) -> tuple[int, dict[str, Any]]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("POST", path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
        is_json = response.getheader("content-type", "").startswith("application/json")
        return response.status, json.loads(data) if is_json else {}
    finally:
        conn.close()


def get_json(server: RunningServer, path: str, headers: dict[str, str] | None = None) -> Any:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        assert response.status == 200, response.read()
        return json.loads(response.read())
    finally:
        conn.close()


def exported(server: RunningServer, sid: str, headers: dict[str, str] | None = None) -> Any:
    """The stored points of `sid` ([[ts, value], ...]), once it has any."""

    def points() -> Any:
        catalog = get_json(server, "/api/series", headers)
        if sid not in {s["id"] for s in catalog["series"]}:
            return None
        return get_json(server, f"/api/export?series={quote(sid, safe='')}&format=json", headers)

    return wait_until(points, timeout=5)


def served(start_server: StartServer, ingest: IngestConfig = ON, **kw: Any) -> RunningServer:
    return start_server(dataclasses.replace(Config(), ingest=ingest, **kw))


def test_ingest_telegraf_gzip_is_stored_and_streamed(start_server: StartServer) -> None:
    server = served(start_server)
    with SSEClient(server.url + "events") as stream:
        stream.until("hello")
        status, _ = post(
            server,
            "/write?db=telegraf&precision=ns",
            gzip.compress(TELEGRAF.encode()),
            {"Content-Encoding": "gzip", "Content-Type": "text/plain"},
        )
        assert status == 204
        seen: dict[str, Any] = {}
        deadline = time.monotonic() + 5
        while "pi/mem.used_percent" not in seen and time.monotonic() < deadline:
            event = stream.until("readings")
            seen.update(event.json()["series"])
    assert seen["pi/cpu.cpu-total.usage_user"][1] == 1.25
    assert seen["pi/mem.used_percent"][:2] == [float(NOW), 41.5]
    data = exported(server, "pi/cpu.cpu-total.usage_idle")
    assert "97.5" in json.dumps(data)
    catalog = get_json(server, "/api/series")
    entry = next(s for s in catalog["series"] if s["id"] == "pi/mem.used_percent")
    assert entry["source"] == "http"
    http_source = next(s for s in catalog["sources"] if s["name"] == "http")
    assert http_source["kind"] == "http" and http_source["received"] == 2


def test_ingest_v2_path_reads_its_precision(start_server: StartServer) -> None:
    server = served(start_server)
    status, _ = post(
        server,
        "/api/v2/write?org=home&bucket=sensors&precision=ms",
        f"environment,device=esp0 temperature=21.5 {NOW}250\n".encode(),
        {"Authorization": "Token anything-when-auth-is-off"},
    )
    assert status == 204
    status, _ = post(
        server,
        "/write?db=x&precision=s",
        f"environment,device=esp1 temperature=19 {NOW + 1}\n".encode(),
    )
    assert status == 204
    status, _ = post(
        server,
        "/api/write?precision=u",
        f"environment,device=esp2 humidity=40i {NOW + 2}500000\n".encode(),
    )
    assert status == 204
    assert exported(server, "esp0/temperature")["esp0/temperature"][0] == [NOW + 0.25, 21.5]
    assert exported(server, "esp1/temperature")["esp1/temperature"][0] == [NOW + 1.0, 19.0]
    assert exported(server, "esp2/humidity")["esp2/humidity"][0] == [NOW + 2.5, 40.0]
    status, body = post(server, "/write?precision=h", b"m v=1 1\n")
    assert status == 400 and "precision" in body["message"]


def test_ingest_partial_write_names_the_refused_lines(start_server: StartServer) -> None:
    server = served(start_server)
    body = (
        b"# a comment\n"
        b"room,device=a temperature=20\n"
        b"room,device=a temperature=NaN\n"
        b"\n"
        b"room,device=b humidity=50\n"
        b"room device=c temperature\n"
    )
    status, answer = post(server, "/api/write", body)
    assert status == 400
    assert answer["code"] == "invalid"
    assert answer["message"].startswith("partial write: 2 of 4 lines refused, 2 written")
    assert [r["line"] for r in answer["refused"]] == [3, 6]
    assert "NaN" in answer["refused"][0]["reason"]
    assert answer["written"] == 2
    exported(server, "a/temperature")
    exported(server, "b/humidity")
    catalog = get_json(server, "/api/series")
    http_source = next(s for s in catalog["sources"] if s["name"] == "http")
    assert http_source["rejected"]["bad_line"] == 2


def test_ingest_names_numbers_out_of_range(start_server: StartServer) -> None:
    server = served(start_server)
    body = (
        b"room,device=a temperature=20\n"
        b"room,device=a count=" + b"9" * 5000 + b"i\n"  # past int()'s 4300 digits
        b"room,device=a temperature=1e309\n"
        b"room,device=a count=18446744073709551616u\n"
        b"room,device=a count=9223372036854775807i\n"
    )
    status, answer = post(server, "/api/write", body)
    assert status == 400
    assert [r["line"] for r in answer["refused"]] == [2, 3, 4]
    assert all("out of range" in r["reason"] for r in answer["refused"])
    assert answer["written"] == 2
    exported(server, "a/temperature")
    assert exported(server, "a/count")["a/count"][0][1] == 2.0**63
    assert server.edge.errors == 0


def test_ingest_caps_body_lines_and_inflated_size(start_server: StartServer) -> None:
    ingest = dataclasses.replace(ON, max_body=4096, max_inflated=64 * 1024, max_lines=10)
    server = served(start_server, ingest)
    status, answer = post(server, "/api/write", b"m v=1\n" * 1000)
    assert status == 413 and answer["code"] == "request too large"
    status, answer = post(server, "/api/write", b"m v=1\n" * 11)
    assert status == 413 and "11 lines; at most 10" in answer["message"]
    bomb = gzip.compress(b"m v=1" + b" " * 50_000_000)  # ~50 kB of gzip, 50 MB inflated
    assert len(bomb) > 4096
    status, answer = post(server, "/api/write", bomb[:4000], {"Content-Encoding": "gzip"})
    assert status in (400, 413)
    small_bomb = gzip.compress(b"\n" * 3_000_000)
    assert len(small_bomb) < 4096
    status, answer = post(server, "/api/write", small_bomb, {"Content-Encoding": "gzip"})
    assert status == 413 and "inflates" in answer["message"]
    status, answer = post(server, "/api/write", b"not gzip", {"Content-Encoding": "gzip"})
    assert status == 400
    status, answer = post(server, "/api/write", b"m v=1", {"Content-Encoding": "br"})
    assert status == 415
    assert list(server.runtime.pipeline.store.entries()) == []


def test_ingest_series_over_the_limit_are_counted_under_its_source(
    start_server: StartServer,
) -> None:
    limits = dataclasses.replace(Config().limits, max_series=5)
    server = served(start_server, limits=limits)
    body = "".join(f"m,device=d{i} v=1\n" for i in range(20)).encode()
    assert post(server, "/api/write", body)[0] == 204

    def refused() -> Any:
        catalog = get_json(server, "/api/series")
        return catalog if catalog["refused_series"] == 15 else None

    catalog = wait_until(refused)
    assert len(catalog["series"]) == 5
    assert catalog["rejected_by_source"] == {"http": {"series_limit": 15}}


def test_ingest_slow_bodies_get_408_and_a_write_beyond_16_at_once_503(
    start_server: StartServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(web_ingest, "BODY_TIMEOUT", 2.0)
    server = served(start_server)
    head = b"POST /api/write HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nm,device=s v="
    slow = [socket.create_connection(("127.0.0.1", server.port), timeout=5) for _ in range(16)]
    try:
        for sock in slow:
            sock.sendall(head)  # and never the rest of the body

        def busy() -> Any:
            status, answer = post(server, "/api/write", b"m,device=b v=1\n")
            return answer if status == 503 else None

        assert wait_until(busy, timeout=1.5)["code"] == "busy"
        for sock in slow:
            assert sock.recv(4096).startswith(b"HTTP/1.1 408 ")
    finally:
        for sock in slow:
            sock.close()
    assert post(server, "/api/write", b"m,device=b v=1\n")[0] == 204
    catalog = get_json(server, "/api/series")
    rejected = next(s for s in catalog["sources"] if s["name"] == "http")["rejected"]
    assert rejected["timeout"] == 16 and rejected["busy"] >= 1


def test_ingest_a_write_the_inbox_cannot_take_whole_gets_503_not_204(
    start_server: StartServer,
) -> None:
    """A 204 means every line was taken: none may then be dropped from a full inbox
    (which would drop the oldest messages, any reader's)."""
    limits = dataclasses.replace(Config().limits, inbox=100)
    server = served(start_server, dataclasses.replace(ON, max_lines=100), limits=limits)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    statuses = []
    for k in range(10):  # back to back: the inbox drains once a tick
        body = "".join(f"m,device=d{k} v{i}=1\n" for i in range(100)).encode()
        conn.request("POST", "/api/write", body=body)
        response = conn.getresponse()
        response.read()
        statuses.append(response.status)
        if response.status == 503:
            assert response.getheader("Retry-After") == "1"
    conn.close()
    assert set(statuses) <= {204, 503} and 204 in statuses
    catalog = get_json(server, "/api/series")
    assert catalog["inbox"]["dropped"] == 0
    http_source = next(s for s in catalog["sources"] if s["name"] == "http")
    assert http_source["received"] == 100 * statuses.count(204)


def test_ingest_rate_is_capped_per_client(start_server: StartServer) -> None:
    server = served(start_server, dataclasses.replace(ON, rate=3))
    statuses = [post(server, "/api/write", b"m,device=r v=1\n")[0] for _ in range(5)]
    assert statuses == [204, 204, 204, 429, 429]
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("POST", "/api/write", body=b"m,device=r v=1\n")
    response = conn.getresponse()
    assert response.status == 429 and response.getheader("Retry-After") == "20"
    assert json.loads(response.read())["code"] == "too many requests"
    conn.close()
    catalog = get_json(server, "/api/series")
    http_source = next(s for s in catalog["sources"] if s["name"] == "http")
    assert http_source["rejected"]["rate_limited"] == 3


def test_ingest_needs_a_token_when_auth_is_on(start_server: StartServer, tmp_path: Path) -> None:
    auth = AuthConfig(file=str(credentials_file(tmp_path)))
    server = served(start_server, auth=auth)
    line = b"m,device=t v=1\n"
    status, answer = post(server, "/api/v2/write?bucket=b", line)
    assert status == 401 and answer["code"] == "unauthorized"
    assert post(server, "/write?precision=h", line)[0] == 401  # the token before anything
    status, _ = post(server, "/api/v2/write?bucket=b", line, {"Authorization": "Token wrong"})
    assert status == 401
    cookie = {"Cookie": "telemetry_session=alice:9999999999:" + "A" * 43}
    assert post(server, "/api/ingest", b"{}", cookie)[0] == 401
    assert (
        post(server, "/api/v2/write?bucket=b", line, {"Authorization": f"Token {TOKEN}"})[0] == 204
    )
    assert post(server, f"/write?db=d&u=any&p={quote(TOKEN)}", line)[0] == 204
    assert post(server, "/api/write", line, {"Authorization": f"Bearer {TOKEN}"})[0] == 204
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    assert exported(server, "t/v", bearer)["t/v"]
    # The rest of the API is still behind the gate.
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
    conn.request("GET", "/api/series")
    assert conn.getresponse().status == 401
    conn.close()


def test_ingest_refuses_what_a_browser_sends_from_another_site(start_server: StartServer) -> None:
    """Open ingest on loopback: a page elsewhere must not write through a visitor's
    browser (a no-cors POST of text/plain needs no preflight)."""
    server = served(start_server)
    line = b"m,device=page v=1\n"
    for headers in (
        {"Origin": "https://elsewhere.example", "Sec-Fetch-Site": "cross-site"},
        {"Origin": "null"},
        {"Sec-Fetch-Site": "same-site"},
    ):
        status, answer = post(server, "/api/write", line, headers)
        assert status == 403 and answer["code"] == "forbidden", headers
        assert post(server, "/api/ingest", b"{}", headers)[0] == 403
    own = {"Origin": server.url.rstrip("/"), "Sec-Fetch-Site": "same-origin"}
    assert post(server, "/api/write", b"m,device=own v=1\n", own)[0] == 204
    catalog = get_json(server, "/api/series")
    assert "page/v" not in {s["id"] for s in catalog["series"]}
    http_source = next(s for s in catalog["sources"] if s["name"] == "http")
    assert http_source["rejected"]["cross_site"] == 6


def test_ingest_json_lines_routes_as_parse_does(start_server: StartServer) -> None:
    server = served(start_server)
    body = "\n".join(
        [
            json.dumps(
                {
                    "transport": "mqtt",
                    "topic": "tele/plug/SENSOR",
                    "payload": '{"ENERGY":{"Power":12.5}}',
                }
            ),
            "not json",
            json.dumps({"transport": "serial", "port": "bench", "payload": "t:21.5\nh:40"}),
            json.dumps({"transport": "mqtt", "payload": "1"}),
        ]
    ).encode()
    status, answer = post(server, "/api/ingest", body)
    assert status == 400
    assert [r["line"] for r in answer["refused"]] == [2, 4]
    assert "topic" in answer["refused"][1]["reason"]
    assert exported(server, "plug/ENERGY.Power")["plug/ENERGY.Power"][0][1] == 12.5
    catalog = get_json(server, "/api/series")
    assert {s["id"]: s["unit"] for s in catalog["series"]} == {"plug/ENERGY.Power": "W"}
    assert {s["source"] for s in catalog["series"]} == {"http"}


def test_ingest_is_off_by_default(start_server: StartServer) -> None:
    server = start_server(Config())
    assert post(server, "/api/write", b"m v=1\n")[0] in (404, 405)


def test_ingest_refuses_to_start_reachable_without_auth() -> None:
    config = dataclasses.replace(Config(), ingest=ON, server=ServerConfig(host="0.0.0.0"))
    with pytest.raises(ConfigError, match=r"ingest\.http"):
        make_server(config, [])
    behind = ServerConfig(host="127.0.0.1", trusted_proxies=("127.0.0.1",))
    with pytest.raises(ConfigError, match="behind a proxy"):
        make_server(dataclasses.replace(config, server=behind), [])


def test_ingest_is_recorded_and_replays_to_the_same_readings(
    start_server: StartServer, tmp_path: Path
) -> None:
    record = tmp_path / "s.jsonl.gz"
    server = served(start_server, record=RecordConfig(file=str(record)))
    body = f"env,device=porch temperature=8.5 {NOW}\nenv,device=porch temperature=9 {NOW + 1}\n"
    assert post(server, "/api/write?precision=s&db=home", body.encode())[0] == 204
    stored = exported(server, "porch/temperature")["porch/temperature"]
    assert stored == [[float(NOW), 8.5], [NOW + 1.0, 9.0]]
    server.stop()
    messages = list(read_session(record))
    assert [
        (m.route.source, m.route.transport, m.route.format, m.route.precision) for m in messages
    ] == [("http", "http", "influx", "s")] * 2
    assert {m.topic for m in messages} == {"home"}
    printed = [json.loads(line) for line in replay_print(Config(), record)]
    assert [[r["timestamp"], r["value"]] for p in printed for r in p["readings"]] == stored
