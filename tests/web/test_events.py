"""`GET /events` against a real uvicorn: framing, aggregation, filters, caps, release."""

from __future__ import annotations

import http.client
import json
import socket
import time
import urllib.request
from urllib.parse import urlsplit

from simulators import signals
from simulators.inprocess import SimSensor, SimulatedSource
from telemetry.config import Config, LimitsConfig, ServerConfig
from telemetry.model import RawMessage, Route
from tests.harness.server import StartServer
from tests.harness.sse_client import SSEClient


def _wait_for(predicate: object, timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False


def _fast_and_slow() -> SimulatedSource:
    return SimulatedSource(
        "sim",
        [
            SimSensor("pump", "vibration", "m/s", 0.01, signals.sawtooth(0.0, 1.0, 0.5), 3),
            SimSensor("room", "temperature", "°C", 0.05, signals.sine(21.0, 1.0, 10.0)),
        ],
    )


def test_events_stream_starts_with_hello_and_catalog_then_readings(
    start_server: StartServer,
) -> None:
    config = Config(server=ServerConfig(tick=0.2))
    server = start_server(config, [_fast_and_slow()])
    with SSEClient(server.url + "events") as client:
        assert client.status == 200
        hello = client.next_event()
        assert hello is not None and hello.name == "hello"
        assert hello.json()["tick"] == 200
        assert client.retry is not None and client.retry >= 3000
        catalog = client.until("catalog")
        assert catalog.json()["full"] is True
        ids: list[str] = []
        aggregated = False
        seen: set[str] = set()
        for _ in range(8):
            frame = client.until("readings")
            assert frame.id is not None
            ids.append(frame.id)
            series = frame.json()["series"]
            seen.update(series)
            # Twenty readings of the fast sensor per 200 ms tick become one point
            # carrying last value, min and max.
            if len(series.get("pump/vibration", [])) == 4:
                _ts, value, low, high = series["pump/vibration"]
                assert low <= value <= high
                aggregated = True
        assert seen == {"pump/vibration", "room/temperature"}
        assert aggregated
        seqs = [int(i.rsplit("-", 1)[1]) for i in ids]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_events_headers_keep_proxies_from_buffering(start_server: StartServer) -> None:
    server = start_server(Config(), [_fast_and_slow()])
    with SSEClient(server.url + "events", headers={"Accept-Encoding": "gzip, br"}) as client:
        assert client.headers["content-type"].startswith("text/event-stream")
        assert client.headers["cache-control"] == "no-store"
        assert client.headers["x-accel-buffering"] == "no"
        assert "content-encoding" not in client.headers
        assert client.until("readings").json()["series"]


def test_events_series_patterns_select_what_the_client_gets(start_server: StartServer) -> None:
    server = start_server(Config(), [_fast_and_slow()])
    with SSEClient(server.url + "events?series=room/*") as client:
        catalog = client.until("catalog")
        # The catalog may be empty if no reading has arrived yet; never foreign series.
        assert all(s["id"].startswith("room/") for s in catalog.json()["series"])
        for _ in range(5):
            assert set(client.until("readings").json()["series"]) == {"room/temperature"}


def test_events_refuses_past_the_per_address_cap_without_disturbing_streams(
    start_server: StartServer,
) -> None:
    config = Config(limits=LimitsConfig(max_clients_per_host=1))
    server = start_server(config, [_fast_and_slow()])
    with SSEClient(server.url + "events") as first:
        first.until("readings")
        with SSEClient(server.url + "events") as second:
            assert second.status == 503
            assert second.headers["content-type"].startswith("application/json")
        first.until("readings")
    assert _wait_for(lambda: not server.runtime.hub.clients)
    with SSEClient(server.url + "events") as again:
        assert again.status == 200


def test_events_bad_series_parameter_is_a_400(start_server: StartServer) -> None:
    server = start_server()
    query = "&".join(["series=a"] * 65)
    with SSEClient(server.url + "events?" + query) as client:
        assert client.status == 400


def test_events_client_that_vanishes_is_released_while_idle(start_server: StartServer) -> None:
    server = start_server()  # no sources: nothing flows, no write would reveal the close
    parts = urlsplit(server.url)
    sock = socket.create_connection((parts.hostname, parts.port))
    sock.sendall(b"GET /events HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n")
    sock.settimeout(5)
    received = b""
    while b"event: hello" not in received:
        chunk = sock.recv(65536)
        assert chunk, "the stream ended before hello"
        received += chunk
    assert len(server.runtime.hub.clients) == 1
    sock.close()
    assert _wait_for(lambda: not server.runtime.hub.clients, timeout=2.0)
    assert not server.runtime.hub.per_host


def test_events_device_strings_cannot_forge_events(start_server: StartServer) -> None:
    server = start_server()
    route = Route("evil", "mqtt", "number", template="{device}/{sensor...}")
    topic = "dev\r\nevent: forged\n\ndata: {}/temp\n\nid: 9"
    with SSEClient(server.url + "events") as client:
        client.until("catalog")
        server.runtime.inbox.put(RawMessage(route, topic, b"1.5", time.time()))
        catalog = client.until("catalog")
        (entry,) = catalog.json()["series"]
        assert entry["device"] == "dev\r\nevent: forged\n\ndata: {}"
        frame = client.until("readings")
        assert list(frame.json()["series"]) == [entry["id"]]
        assert frame.id is not None and "\n" not in frame.id


def test_events_resume_gives_exactly_the_missed_frames(start_server: StartServer) -> None:
    """A witness stays connected throughout; a client is cut after some frames and
    comes back with its last id: it gets the witness's frames from the next one on,
    no gap and no duplicate."""
    server = start_server(Config(server=ServerConfig(tick=0.05)), [_fast_and_slow()])
    with SSEClient(server.url + "events") as witness:
        with SSEClient(server.url + "events") as first:
            last = [first.until("readings") for _ in range(3)][-1]
        assert last.id is not None
        time.sleep(0.5)  # about ten frames go by while it is away
        with SSEClient(server.url + "events", headers={"Last-Event-ID": last.id}) as again:
            assert again.until("catalog").json()["full"] is True
            resumed = [again.until("readings") for _ in range(15)]
        seen: dict[str | None, str] = {}
        while len(seen) < 40 and resumed[-1].id not in seen:
            frame = witness.until("readings")
            seen[frame.id] = frame.data
    boot, _, n = last.id.partition("-")
    assert [f.id for f in resumed] == [f"{boot}-{int(n) + k}" for k in range(1, 16)]
    assert [seen.get(f.id) for f in resumed] == [f.data for f in resumed]
    with urllib.request.urlopen(server.url + "api/series", timeout=5) as response:
        streams = json.load(response)["streams"]
    assert streams["resumed"] == 1 and streams["resets"] == {}


def test_events_unknown_cursor_gets_a_reset_not_an_error(start_server: StartServer) -> None:
    server = start_server()
    for cursor in ("garbage", "0-0", "x" * 500, "\u00e9\u00e9", "0-\u00b2"):
        with SSEClient(server.url + "events", headers={"Last-Event-ID": cursor}) as client:
            assert client.status == 200
            assert client.until("reset").json()["reason"]


def test_page_and_api_carry_security_headers(start_server: StartServer) -> None:
    server = start_server(Config(), [_fast_and_slow()])
    parts = urlsplit(server.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        for path in ("/", "/api/series", "/healthz", "/static/main.js"):
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            assert response.status == 200, path
            csp = response.getheader("content-security-policy") or ""
            assert "script-src 'self'" in csp and "unsafe-inline" not in csp
            assert response.getheader("x-content-type-options") == "nosniff"
        for path in ("/static/../telemetry/config.py", "/static/", "/static/%2e%2e/app.py"):
            conn.request("GET", path)
            response = conn.getresponse()
            response.read()
            assert response.status == 404, path
    finally:
        conn.close()


def test_events_keeps_the_security_headers_host_check_and_methods(
    start_server: StartServer,
) -> None:
    open_server = start_server()
    with SSEClient(open_server.url + "events") as client:
        assert client.status == 200
        assert "script-src 'self'" in client.headers["content-security-policy"]
        assert client.headers["x-content-type-options"] == "nosniff"
    parts = urlsplit(open_server.url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        conn.request("POST", "/events")
        response = conn.getresponse()
        response.read()
        assert response.status == 405
    finally:
        conn.close()
    guarded = start_server(Config(server=ServerConfig(allowed_hosts=("pi.local",))))
    with SSEClient(guarded.url + "events", headers={"Host": "evil.example"}) as client:
        assert client.status == 400
    with SSEClient(guarded.url + "events", headers={"Host": "pi.local"}) as client:
        assert client.status == 200


def test_events_values_are_the_shortest_decimal_of_what_was_stored(
    start_server: StartServer,
) -> None:
    server = start_server()
    route = Route("lab", "mqtt", "number", template="{device}/{sensor...}")
    with SSEClient(server.url + "events") as client:
        client.until("catalog")
        server.runtime.inbox.put(RawMessage(route, "bench/temp", b"23.2", time.time()))
        frame = client.until("readings")
        assert '"bench/temp":[' in frame.data and ",23.2]" in frame.data
        server.runtime.inbox.put(
            RawMessage(route, "bench/temp", b"0.30000000000000004", time.time())
        )
        frame = client.until("readings")
        assert ",0.30000000000000004]" in frame.data  # a float64 keeps every digit it has
