"""`GET /events` under abuse: resets, clients that never read, churn, SIGTERM, hostile ids.

Each test runs a real uvicorn (in a thread, or as the `telemetry serve` process)
and checks what RELIABILITY.md "Streams" promises: what a vanished or stuck
client held is released, the other clients do not notice, and shutdown ends
every stream.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import signal
import socket
import struct
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from simulators import signals
from simulators.inprocess import SimSensor, SimulatedSource
from telemetry.config import Config, LimitsConfig, ServerConfig
from telemetry.model import RawMessage, Route
from tests.harness.server import RunningServer, StartServer
from tests.harness.sse_client import SSEClient
from tests.harness.waiting import wait_until
from web.protocol import blocked_writers

REQUEST = b"GET /events HTTP/1.1\r\nHost: test\r\nAccept: text/event-stream\r\n\r\n"
RESET = struct.pack("ii", 1, 0)  # SO_LINGER on, 0 s: close() sends an RST


def _address(server: RunningServer) -> tuple[str, int]:
    parts = urlsplit(server.url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


def _open_stream(address: tuple[str, int], rcvbuf: int | None = None) -> socket.socket:
    """A raw socket that has sent `GET /events` and received up to the `hello` event."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf is not None:
        # A tiny window and a small segment size: on loopback (64 KiB segments)
        # the kernel would otherwise let the server queue megabytes before a
        # write blocks, and the test would wait that long for the cut.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, 536)
    sock.settimeout(5)
    sock.connect(address)
    sock.sendall(REQUEST)
    received = b""
    while b"event: hello" not in received:
        chunk = sock.recv(4096)
        assert chunk, f"the stream ended before hello: {received[:200]!r}"
        received += chunk
    assert received.startswith(b"HTTP/1.1 200"), received[:200]
    return sock


def _reset(sock: socket.socket) -> None:
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, RESET)
    sock.close()


def _server_tasks(server: RunningServer) -> int:
    """How many asyncio tasks the server's loop has, counted on that loop."""

    async def count() -> int:
        return len(asyncio.all_tasks())

    loop = server.server.loop
    assert loop is not None
    return asyncio.run_coroutine_threadsafe(count(), loop).result(5)


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))  # the server runs in this process


def _rss_kib() -> int:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS in /proc/self/status")


def _settled(server: RunningServer) -> tuple[int, int]:
    """Tasks and fds once no client is connected (after one warm-up stream)."""
    with SSEClient(server.url + "events") as client:
        client.until("catalog")
    wait_until(lambda: not server.runtime.hub.clients, 5, what="warm-up client released")
    time.sleep(0.2)
    return _server_tasks(server), _open_fds()


def test_reset_client_is_released_while_idle(start_server: StartServer) -> None:
    # No source and a long ping: nothing is ever written, so only the
    # disconnect watcher can notice the reset.
    server = start_server(Config(server=ServerConfig(ping=300.0)))
    hub = server.runtime.hub
    tasks, fds = _settled(server)
    sock = _open_stream(_address(server))
    assert len(hub.clients) == 1
    assert _server_tasks(server) > tasks  # the stream's handler and its watcher
    _reset(sock)
    wait_until(lambda: not hub.clients, 3, what="the reset client left hub.clients")
    assert not hub.per_host
    wait_until(lambda: _server_tasks(server) <= tasks, 3, what="the stream's tasks ended")
    wait_until(lambda: _open_fds() <= fds, 3, what="the server closed the socket")


def _many_series(count: int) -> SimulatedSource:
    return SimulatedSource(
        "busy",
        [
            SimSensor(f"dev{i:03d}", "level", "m", 0.01, signals.sine(float(i), 1.0, 3.0), 4)
            for i in range(count)
        ],
    )


def test_client_that_never_reads_is_cut_and_others_do_not_notice(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    tick = 0.05
    config = Config(
        server=ServerConfig(tick=tick),
        limits=LimitsConfig(send_timeout=1.0, client_backlog=16),
    )
    server = start_server(config, [_many_series(150)])
    hub = server.runtime.hub
    with SSEClient(server.url + "events") as witness:
        witness.until("readings")
        stuck = _open_stream(_address(server), rcvbuf=1024)  # then never reads again
        stuck_since = time.monotonic()
        try:
            wait_until(lambda: len(hub.clients) == 2, 3, what="both clients connected")
            gaps: list[float] = []
            last = time.monotonic()
            deadline = last + 20
            while hub.cut == 0 or len(hub.clients) > 1:
                assert time.monotonic() < deadline, "the stuck client was never cut"
                witness.until("readings", timeout=2)
                now = time.monotonic()
                gaps.append(now - last)
                last = now
            cut_after = time.monotonic() - stuck_since
            # The witness keeps going after the cut as well.
            for _ in range(10):
                witness.until("readings", timeout=2)
                now = time.monotonic()
                gaps.append(now - last)
                last = now
            # The stuck client neither reads nor leaves: its connection (its socket, its
            # unsent bytes) is dropped at the cut all the same; only the witness's is left.
            state = server.server.server_state
            wait_until(lambda: len(state.connections) == 1, 3, what="the cut connection dropped")
        finally:
            stuck.close()
    assert hub.cut == 1
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors
    assert 1.0 <= cut_after < 10  # after the send timeout, not long after
    assert len(gaps) > 20
    assert max(gaps) < 5 * tick, f"the witness stalled for {max(gaps):.3f} s"


def _cycle(address: tuple[str, int], reset: bool) -> None:
    sock = socket.create_connection(address, timeout=5)
    try:
        sock.sendall(REQUEST)
        first = sock.recv(64)
        assert first.startswith(b"HTTP/1.1 200"), first
    finally:
        if reset:
            _reset(sock)
        else:
            sock.close()


def test_churn_leaves_clients_fds_tasks_and_memory_where_they_were(
    start_server: StartServer,
) -> None:
    config = Config(limits=LimitsConfig(max_clients=100, max_clients_per_host=100))
    server = start_server(config, [_many_series(5)])
    hub = server.runtime.hub
    address = _address(server)
    tasks, fds = _settled(server)
    # Warm up allocators and caches so RSS growth measures leaks, not first use.
    with ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda i: _cycle(address, i % 2 == 0), range(100)))
    wait_until(lambda: not hub.clients, 5, what="warm-up clients released")
    rss = _rss_kib()
    started = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda i: _cycle(address, i % 2 == 0), range(1000)))
    churn = time.monotonic() - started
    wait_until(lambda: not hub.clients, 5, what="every client left hub.clients")
    assert not hub.per_host
    assert not hub.refused
    wait_until(lambda: _server_tasks(server) <= tasks, 5, what=f"back to {tasks} tasks")
    wait_until(lambda: _open_fds() <= fds + 3, 5, what=f"back to about {fds} fds")
    growth = _rss_kib() - rss
    assert growth < 4096, f"RSS grew by {growth} KiB over 1000 streams"
    assert churn < 15


def test_sigterm_ends_fifty_open_streams_and_exits_zero(tmp_path: Path) -> None:
    config = tmp_path / "telemetry.toml"
    config.write_text(
        '[server]\nhost = "127.0.0.1"\nport = 0\n'
        "[limits]\nmax_clients = 100\nmax_clients_per_host = 100\n",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "telemetry", "serve", "--config", str(config)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    clients: list[SSEClient] = []
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        assert match is not None, f"no URL printed: {line!r}"
        url = match.group(1).replace("localhost", "127.0.0.1")
        for _ in range(50):
            client = SSEClient(url + "events", timeout=5)
            clients.append(client)
            assert client.status == 200
            client.until("catalog")
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        ended = [False] * len(clients)

        def drain(i: int) -> None:
            while clients[i].next_event() is not None:
                pass
            ended[i] = True

        readers = [threading.Thread(target=drain, args=(i,), daemon=True) for i in range(50)]
        for reader in readers:
            reader.start()
        code = proc.wait(timeout=5)
        elapsed = time.monotonic() - started
        for reader in readers:
            reader.join(max(0.1, started + 5 - time.monotonic()))
        assert code == 0
        assert elapsed < 5
        assert all(ended), f"{ended.count(False)} streams did not end"
    finally:
        for client in clients:
            client.close()
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _spec_events(raw: bytes) -> list[tuple[str, str]]:
    """(event name, data) as an EventSource dispatches them: CR, LF and CRLF all end lines."""
    dispatched: list[tuple[str, str]] = []
    name, data = "message", ""
    for line in re.split(r"\r\n|\r|\n", raw.decode("utf-8")):
        if line == "":
            if data:
                dispatched.append((name, data))
            name, data = "message", ""
        elif line.startswith(":"):
            continue
        else:
            field, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if field == "event":
                name = value
            elif field == "data":
                data = f"{data}\n{value}" if data else value
    return dispatched


def test_hostile_series_name_is_one_event_with_that_literal_id(
    start_server: StartServer,
) -> None:
    server = start_server()
    hostile = "x\revent: admin\rdata: pwn"
    route = Route("evil", "mqtt", "number", template="{device}/{sensor...}")
    raw = socket.create_connection(_address(server), timeout=5)
    try:
        raw.sendall(REQUEST)
        with SSEClient(server.url + "events") as client:
            client.until("catalog")
            server.runtime.inbox.put(RawMessage(route, f"{hostile}/temp", b"1.5", time.time()))
            seen: list[str] = []
            while True:
                event = client.next_event()
                assert event is not None
                seen.append(event.name)
                if event.name == "catalog":
                    (entry,) = event.json()["series"]
                    assert entry["id"] == f"{hostile}/temp"
                    assert entry["device"] == hostile
                if event.name == "readings":
                    assert list(event.json()["series"]) == [f"{hostile}/temp"]
                    break
            assert "admin" not in seen
        # The same bytes read as a browser would: a bare CR ends a line too.
        received = b""
        raw.settimeout(0.5)
        deadline = time.monotonic() + 5
        while b"event: readings" not in received and time.monotonic() < deadline:
            try:
                received += raw.recv(65536)
            except TimeoutError:
                continue
        body = received.partition(b"\r\n\r\n")[2]
        names = [name for name, _ in _spec_events(body)]
        assert "readings" in names
        assert "admin" not in names
        assert all(hostile not in data for _, data in _spec_events(body))
    finally:
        raw.close()


def test_sigterm_cuts_a_client_that_stopped_reading_at_once(
    start_server: StartServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A stream whose write is blocked on a full socket buffer does not hold shutdown."""
    config = Config(server=ServerConfig(tick=0.05), limits=LimitsConfig(send_timeout=60.0))
    server = start_server(config, [_many_series(150)])
    stuck = _open_stream(_address(server), rcvbuf=1024)  # then never reads again
    try:
        state = server.server.server_state
        wait_until(
            lambda: blocked_writers(state) > 0,
            30,
            what="the stuck stream's write blocked",
        )
        caplog.set_level(logging.INFO)
        started = time.monotonic()
        server.server.handle_exit(signal.SIGTERM, None)
        server.thread.join(5)
        elapsed = time.monotonic() - started
    finally:
        stuck.close()
    assert not server.thread.is_alive()
    assert elapsed < 2.0, f"shutdown took {elapsed:.1f} s"
    noisy = [r for r in caplog.records if r.exc_info or r.levelno >= logging.ERROR]
    assert not noisy, [r.getMessage() for r in noisy]
