"""`/api/history` and `/api/export` against a real server with real stored points."""

from __future__ import annotations

import asyncio
import concurrent.futures
import csv
import io
import json
import math
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
import pytest
from starlette.requests import Request
from starlette.responses import StreamingResponse

from telemetry.config import Config, HistoryConfig
from telemetry.downsample import m4
from telemetry.history import Store
from telemetry.model import RawMessage, Reading, Route
from tests.harness.http import fetch as _get
from tests.harness.server import RunningServer, StartServer
from tests.harness.waiting import wait_until
from web.history import History
from web.protocol import MAX_HEAD

T = TypeVar("T")

ROUTE = Route("test", "mqtt", "number", template="{device}/{sensor...}")


def _json(url: str) -> tuple[int, Any]:
    status, body, _ = _get(url)
    return status, json.loads(body)


@pytest.fixture
def server(start_server: StartServer) -> RunningServer:
    """A server holding 3,000 points of a sawtooth with one spike, one second apart."""
    running = start_server(Config(history=HistoryConfig(raw_span=7200.0)))
    now = time.time()
    messages = []
    for i in range(3000):
        value = 5000.0 if i == 1234 else float(i % 100)
        messages.append(RawMessage(ROUTE, "rig/load", str(value).encode(), now - 3000 + i))
    messages.append(RawMessage(ROUTE, "=cmd|' -C calc'!A0/x", b"1", now))
    running.runtime.inbox.put_many(messages)
    deadline = time.monotonic() + 5
    while "rig/load" not in running.runtime.pipeline.store.series or (
        running.runtime.pipeline.store.series["rig/load"].entry.count < 3000
    ):
        assert time.monotonic() < deadline, "the points were not stored"
        time.sleep(0.02)
    return running


def test_history_downsamples_to_the_points_asked_keeping_the_spike(server: RunningServer) -> None:
    now = time.time()
    status, body = _json(
        f"{server.url}api/history?series=rig/load&start={now - 4000}&end={now + 1}&points=200"
    )
    assert status == 200
    load = body["series"]["rig/load"]
    assert 0 < len(load["t"]) <= 200 and len(load["t"]) == len(load["v"])
    assert max(load["v"]) == 5000.0 and min(load["v"]) == 0.0
    assert load["t"] == sorted(load["t"])


def test_history_returns_every_point_when_they_fit(server: RunningServer) -> None:
    now = time.time()
    status, body = _json(
        f"{server.url}api/history?series=rig/load&start={now - 50.5}&end={now}&points=1000"
    )
    assert status == 200
    assert len(body["series"]["rig/load"]["v"]) == 50


@pytest.mark.parametrize(
    "query",
    [
        "series=rig/load&points=0",
        "series=rig/load&points=1000000000",
        "series=rig/load&points=abc",
        "series=rig/load&start=200&end=100",
        "series=rig/load&start=nan",
        "series=rig/load&end=inf",
        "series=rig/load&start=-5",
        "series=rig/load&start=0&end=99999999999",
        "",
        "&".join(["series=a"] * 1_000),
        "&".join(["series=a"] * 10_000),
    ],
)
def test_history_hostile_parameters_get_a_422_that_says_why(
    server: RunningServer, query: str
) -> None:
    started = time.monotonic()
    status, raw, _ = _get(f"{server.url}api/history?{query}")
    if status == 431:  # a request head over web.protocol.MAX_HEAD: refused before any route
        assert len(query) > MAX_HEAD
        return
    assert status == 422, raw[:200]
    body = json.loads(raw)
    assert body["parameter"] in ("series", "points", "start", "end")
    assert time.monotonic() - started < 5


def test_history_unknown_series_are_listed_not_an_error(server: RunningServer) -> None:
    status, body = _json(f"{server.url}api/history?series=nope/x&series=rig/load")
    assert status == 200
    assert body["unknown"] == ["nope/x"] and list(body["series"]) == ["rig/load"]


def test_export_csv_has_every_point_and_defuses_formulas(server: RunningServer) -> None:
    now = time.time()
    hostile = urllib.parse.quote("=cmd|' -C calc'!A0/x", safe="")
    status, body, headers = _get(
        f"{server.url}api/export?series=rig/load&series={hostile}"
        f"&start={now - 4000}&end={now + 1}&format=csv"
    )
    assert status == 200 and headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(body.decode())))
    assert rows[0] == ["series", "timestamp", "value"]
    load = [r for r in rows[1:] if r[0] == "rig/load"]
    assert len(load) == 3000 and float(load[1234][2]) == 5000.0
    assert [r[0] for r in rows[1:] if r[0] != "rig/load"] == ["'=cmd|' -C calc'!A0/x"]


def test_export_json_and_bad_format(server: RunningServer) -> None:
    now = time.time()
    status, body = _json(f"{server.url}api/export?series=rig/load&start={now - 4000}&format=json")
    assert status == 200 and len(body["rig/load"]) == 3000
    status, body = _json(f"{server.url}api/export?series=rig/load&format=xml")
    assert status == 422 and body["parameter"] == "format"


def test_history_older_than_the_raw_ring_comes_from_a_rollup_spike_kept(
    start_server: StartServer,
) -> None:
    running = start_server(Config(history=HistoryConfig(raw_span=60.0)))
    now = time.time()
    messages = [
        RawMessage(ROUTE, "rig/old", str(5000.0 if i == 100 else 1.0).encode(), now - 3000 + i)
        for i in range(3000)
    ]
    running.runtime.inbox.put_many(messages)
    deadline = time.monotonic() + 5
    while running.runtime.pipeline.store.series.get("rig/old") is None or (
        running.runtime.pipeline.store.series["rig/old"].entry.count < 3000
    ):
        assert time.monotonic() < deadline, "the points were not stored"
        time.sleep(0.02)
    base = f"{running.url}api/history?series=rig/old&end={now + 1}"
    status, body = _json(f"{base}&start={now - 3100}&points=1000")
    assert status == 200
    old = body["series"]["rig/old"]
    assert old["from"] == "10s"  # 300 buckets of 10 s: 1,200 points, enough for 1,000
    assert max(old["v"]) == 5000.0 and old["t"][0] < now - 2900
    status, body = _json(f"{base}&start={now - 3100}&points=100")
    assert body["series"]["rig/old"]["from"] == "1m"  # 52 buckets: 206 points
    status, body = _json(f"{base}&start={now - 30}&points=100")
    assert body["series"]["rig/old"]["from"] == "raw"
    assert len(body["series"]["rig/old"]["v"]) >= 29


def test_history_and_export_write_the_shortest_decimal_of_each_stored_value(
    start_server: StartServer,
) -> None:
    running = start_server(Config(history=HistoryConfig(raw_span=60.0)))
    now = time.time()
    # 23.2 and 0.1 are stored in the rollups as float32 (23.200000762939453, ...);
    # 0.30000000000000004 is a raw float64 that keeps every digit in the raw answers.
    values = [23.2, 0.1, 1013.25, 0.30000000000000004]
    messages = [
        RawMessage(ROUTE, "rig/t", repr(values[i % 4]).encode(), now - 3000 + i)
        for i in range(3000)
    ]
    running.runtime.inbox.put_many(messages)
    wait_until(
        lambda: (
            (s := running.runtime.pipeline.store.series.get("rig/t")) is not None
            and s.entry.count == 3000
        ),
        what="the points stored",
    )
    base = f"{running.url}api/history?series=rig/t&end={now + 1}"
    _, old, _ = _get(f"{base}&start={now - 3100}&points=1000")
    assert json.loads(old)["series"]["rig/t"]["from"] == "10s"
    answer = json.loads(old)["series"]["rig/t"]
    # Points older than the last few hundred (held in float64, not yet in a rollup):
    shown = {v for t, v in zip(answer["t"], answer["v"], strict=True) if t < now - 1000}
    assert shown == {23.2, 0.1, 1013.25, 0.3}  # the float32 of 0.30000000000000004 is 0.3's
    assert b"23.2," in old and b"000762939453" not in old and b"0.100000001" not in old
    _, recent, _ = _get(f"{base}&start={now - 30}&points=1000")
    assert json.loads(recent)["series"]["rig/t"]["from"] == "raw"
    assert b"0.30000000000000004" in recent and b"23.2," in recent
    _, csv_text, _ = _get(f"{running.url}api/export?series=rig/t&start={now - 30}&format=csv")
    assert b",23.2\r\n" in csv_text and b",0.30000000000000004\r\n" in csv_text


# -- streaming: a series at a time, the content unchanged ------------------------

NAN = float("nan")
# Values whose text takes each way of the encoders: NaN (a gap: null in JSON,
# `nan` in CSV), exponents, which orjson and `repr` write apart.
ODD = [1e-05, -2.5e-07, 1e20, -0.0, NAN, 0.1 + 0.2, 123456.789, -1.5e16]
GAPPY = "rig/gappy"
NAMED = 'rig/ünï,"q"'  # CSV quotes it; JSON writes it as UTF-8
FORMULA = "=cmd|' -C calc'!A0/x"


def _on_loop(server: RunningServer, work: Callable[[], T]) -> T:
    """`work()` run on the server's loop, where the store is written."""

    async def run() -> T:
        return work()

    loop = server.server.loop
    assert loop is not None
    return asyncio.run_coroutine_threadsafe(run(), loop).result(5)


def _fill(store: Store, now: float) -> None:
    """Three series of 5,000 points over the last 4,000 s, with NaN gaps and odd values."""
    for n, sid in enumerate((GAPPY, NAMED, FORMULA)):
        device, _, sensor = sid.partition("/")
        start = now - 4000 + n * 0.1
        info = store.create(Reading(device, sensor, 1.0, "°C", start, start), "test", "°C")
        assert info is not None
        for i in range(5000):
            value = ODD[i % len(ODD)] if i % 7 == 0 else math.sin(i / 50) * 20 + n
            if 2000 <= i < 2300:
                value = NAN  # a gap
            info.append(start + i * 0.8 + 1e-3 * (i % 3), value)


def _old_history(store: Store, series: list[str], start: float, end: float, limit: int) -> bytes:
    """The answer as `JSONResponse` made it before it streamed: the oracle."""
    found: dict[str, object] = {}
    unknown = []
    for sid in series:
        info = store.series.get(sid)
        if info is None:
            unknown.append(sid)
            continue
        got = info.query(start, end, limit)
        ts, values = got.ts, got.values
        if len(ts) > limit:
            ts, values = m4(ts, values, start, np.nextafter(end, np.inf), limit // 4)
        # a rollup's float32 values as numpy's shortest text of each float32
        v = [
            (float(str(np.float32(x))) if t < got.float32_before else x)
            if math.isfinite(x)
            else None
            for t, x in zip(ts.tolist(), values.tolist(), strict=True)
        ]
        found[sid] = {"unit": info.entry.unit, "t": ts.tolist(), "v": v, "from": got.source}
    body: dict[str, object] = {"start": start, "end": end, "points": limit, "series": found}
    if unknown:
        body["unknown"] = unknown
    return json.dumps(body, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def _old_export(store: Store, series: list[str], start: float, end: float, kind: str) -> bytes:
    rows = {}
    for sid in series:
        info = store.series.get(sid)
        if info is not None:
            rows[sid] = info.raw(start, end)
    if kind == "json":
        pairs = {
            sid: [
                [t, v if math.isfinite(v) else None]
                for t, v in zip(ts.tolist(), vs.tolist(), strict=True)
            ]
            for sid, (ts, vs) in rows.items()
        }
        return json.dumps(
            pairs, ensure_ascii=False, allow_nan=False, separators=(",", ":")
        ).encode()
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["series", "timestamp", "value"])
    for sid, (ts, vs) in rows.items():
        shown = f"'{sid}" if sid.startswith(("=", "+", "-", "@", "\t", "\r")) else sid
        writer.writerows(
            (shown, repr(t), repr(v)) for t, v in zip(ts.tolist(), vs.tolist(), strict=True)
        )
    return out.getvalue().encode()


def _chunks(url: str) -> tuple[bytes, list[bytes]]:
    """The status line and headers, and the body's HTTP chunks as they came on the wire."""
    parts = urllib.parse.urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        request = f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.hostname}\r\n"
        sock.sendall(f"{request}Connection: close\r\n\r\n".encode())
        raw = b""
        while data := sock.recv(1 << 16):
            raw += data
    head, _, rest = raw.partition(b"\r\n\r\n")
    assert b"transfer-encoding: chunked" in head.lower(), head
    chunks: list[bytes] = []
    while True:
        size_line, _, rest = rest.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return head, chunks
        chunks.append(rest[:size])
        assert rest[size : size + 2] == b"\r\n"
        rest = rest[size + 2 :]


@pytest.fixture
def gappy(start_server: StartServer) -> tuple[RunningServer, float]:
    running = start_server(Config(history=HistoryConfig(raw_span=7200.0)))
    now = time.time()
    _on_loop(running, lambda: _fill(running.runtime.pipeline.store, now))
    return running, now


def _query(series: list[str], **params: object) -> str:
    pairs = [("series", s) for s in series] + list(params.items())
    return urllib.parse.urlencode(pairs)


@pytest.mark.parametrize("points", [400, 100])  # from the raw ring; from the 1-minute rollup
def test_history_streams_a_chunk_per_series_the_same_json_as_before(
    gappy: tuple[RunningServer, float], points: int
) -> None:
    server, now = gappy
    series = [GAPPY, "nope/x", NAMED, FORMULA]
    start, end = now - 3990, now + 1
    query = _query(series, start=start, end=end, points=points)
    head, chunks = _chunks(f"{server.url}api/history?{query}")
    assert head.startswith(b"HTTP/1.1 200") and b"content-type: application/json" in head
    store = server.runtime.pipeline.store
    expected = _on_loop(server, lambda: _old_history(store, series, start, end, points))
    # The same values, keys and order; orjson writes `-2.5e-7` where `json` wrote `-2.5e-07`.
    answer = json.loads(b"".join(chunks))
    assert answer == json.loads(expected)
    assert list(answer) == ["start", "end", "points", "series", "unknown"]
    assert list(answer["series"]) == [GAPPY, NAMED, FORMULA]
    assert answer["series"][GAPPY]["from"] == ("raw" if points == 400 else "1m")
    assert None in answer["series"][GAPPY]["v"] and answer["unknown"] == ["nope/x"]
    # One chunk per series: the head, each series on its own, the tail.
    keys = [json.dumps(s, ensure_ascii=False).encode() + b":{" for s in (GAPPY, NAMED, FORMULA)]
    assert all(c.lstrip(b",")[: len(k)] == k for c, k in zip(chunks[1:4], keys, strict=True))
    assert all(sum(k in c for k in keys) == 1 for c in chunks[1:4])
    assert len(chunks) == 5


@pytest.mark.parametrize("kind", ["csv", "json"])
def test_export_streams_each_series_apart_with_the_same_content_as_before(
    gappy: tuple[RunningServer, float], kind: str
) -> None:
    server, now = gappy
    series = [NAMED, "nope/x", FORMULA, GAPPY]
    start, end = now - 4000, now + 1
    head, chunks = _chunks(
        f"{server.url}api/export?{_query(series, start=start, end=end, format=kind)}"
    )
    assert head.startswith(b"HTTP/1.1 200")
    store = server.runtime.pipeline.store
    expected = _on_loop(server, lambda: _old_export(store, series, start, end, kind))
    body = b"".join(chunks)
    if kind == "csv":  # byte for byte: `repr`'s text of every time and value
        assert body == expected and b",nan\r\n" in body and b",1e-05\r\n" in body
    else:  # the same values, keys and order (orjson writes `1e-5` for `1e-05`)
        assert json.loads(body) == json.loads(expected)
        assert list(json.loads(body)) == [NAMED, FORMULA, GAPPY] and b",null]" in body
    # No chunk carries the points of two series.
    names = ["rig/ünï", "=cmd", "rig/gappy"]
    assert all(sum(n.encode() in c for n in names) <= 1 for c in chunks)
    assert len(chunks) >= 4


@pytest.mark.parametrize(
    "target",
    [
        "/api/history?series=a/x&series=b/x&series=c/x&series=d/x&points=100",
        "/api/export?series=a/x&series=b/x&series=c/x&series=d/x&format=csv",
        "/api/export?series=a/x&series=b/x&series=c/x&series=d/x&format=json",
        "/api/export?series=a/x&series=b/x&series=c/x&series=d/x&format=ndjson",
        "/api/export?format=csv",
        "/api/export?format=json",
        "/api/export?format=ndjson",
    ],
)
def test_history_and_export_let_other_tasks_run_between_series(target: str) -> None:
    store = Store(10, 5000, 3600.0)
    now = time.time()
    for device in "abcd":
        info = store.create(Reading(device, "x", 0.0, None, now, now), "test", None)
        assert info is not None
        for i in range(3000):
            info.append(now - 3000 + i, float(i % 17))
    history = History(store)
    path, _, query = target.partition("?")
    scope = {"type": "http", "method": "GET", "path": path, "query_string": query.encode()}

    async def read() -> list[tuple[int, bytes]]:
        response = await getattr(history, path.rpartition("/")[2])(Request(scope))
        assert isinstance(response, StreamingResponse)
        turns = 0

        async def other() -> None:  # a tick, a stream's write, another request
            nonlocal turns
            while True:
                turns += 1
                await asyncio.sleep(0)

        task = asyncio.create_task(other())
        got = []
        async for chunk in response.body_iterator:
            assert isinstance(chunk, bytes)
            got.append((turns, chunk))
        task.cancel()
        return got

    # In a thread of its own: Playwright's sync API (the browser tests) leaves a
    # loop running in this one for the rest of the session.
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        got = pool.submit(asyncio.run, read()).result(10)
    with_points = [(turn, chunk) for turn, chunk in got if b"x" in chunk]
    assert len(with_points) == 4
    turns = [turn for turn, _ in with_points]
    assert turns == sorted(set(turns)), "the loop did not turn between two series"
