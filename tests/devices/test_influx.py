"""`[[output.influx]]` (`devices.influx`) against a real VictoriaMetrics: points read
back exactly, a 10 s outage held in the bounded buffer with drops counted only past
its bound, rejected batches counted and not retried, credentials never logged, and
line protocol escaping of nasty names."""

from __future__ import annotations

import email.utils
import gzip
import logging
import threading
import time
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from devices.backoff import Backoff
from devices.influx import RETRY_AFTER_CAP, InfluxOutput, retry_after
from devices.lineprotocol import LineEncoder, escape_tag
from simulators.broker import free_port
from telemetry.config.model import InfluxOutputConfig
from telemetry.outputs import OutPoint
from tests.harness.hook import Hook
from tests.harness.victoria import VictoriaFactory
from tests.harness.waiting import wait_until

T0 = float(int(time.time()) - 3600) + 0.1234567  # an hour ago, with sub-millisecond digits


def point(
    i: int, device: str = "kitchen", sensor: str = "temp", unit: str | None = "°C"
) -> OutPoint:
    return OutPoint(f"{device}/{sensor}", device, sensor, T0 + i, 20.0 + i / 4, unit, "number")


def config(url: str, **changes: object) -> InfluxOutputConfig:
    base: dict[str, object] = {"name": "db", "url": url, "flush": 0.05}
    return InfluxOutputConfig(**(base | changes))  # type: ignore[arg-type]


def fast() -> Backoff:
    return Backoff(0.05, 0.2)


@pytest.fixture
def outputs() -> Iterator[list[InfluxOutput]]:
    made: list[InfluxOutput] = []
    yield made
    for output in made:
        output.stop(2)


def ms(ts: float) -> int:
    return round(ts * 1e6) // 1000


def test_line_protocol_escapes_nasty_names() -> None:
    cfg = config("http://x", measurement="my meas,x=1", tags=(("si te", 'a"b'),))
    enc = LineEncoder(cfg)
    p = OutPoint("a b,c=d/é\\", "a b,c=d", 'q"u\\x\\ é', 1.5, 21.5, "°C", "number")
    assert enc.line(p) == (
        'my\\ meas\\,x=1,device=a\\ b\\,c\\=d,sensor=q"u\\\\x\\\\\\ é,si\\ te=a"b,unit=°C '
        "value=21.5 1500"
    )
    assert escape_tag("line\nbreak\ttab") == "line\\x0abreak\\x09tab"
    state = OutPoint("g/door", "g", "door", 2.0, 1.0, None, "state")
    assert enc.line(state) == 'my\\ meas\\,x=1,device=g,sensor=door,si\\ te=a"b value=1.0 2000'
    assert enc.line(state._replace(value=float("nan"))) is None
    stamps = {
        precision: LineEncoder(config("http://x", precision=precision)).stamp(100.3)
        for precision in ("s", "ms", "us", "ns")
    }
    assert stamps == {"s": 100, "ms": 100300, "us": 100300000, "ns": 100300000000}


def test_nasty_names_read_back_from_victoria(
    victoria_factory: VictoriaFactory, outputs: list[InfluxOutput]
) -> None:
    db = victoria_factory()
    out = InfluxOutput(config(db.url, measurement="my meas,x", tags=(("site", "gar age\\"),)))
    outputs.append(out)
    names = [("a b,c=d", 'q"u\\x\\'), ("Küche", "température/ü"), ("back\\", "eq=ual")]
    out.submit([point(i, d, s) for i, (d, s) in enumerate(names)], [])
    wait_until(lambda: out.status().sent == 3, what="3 points sent")
    got = db.samples()
    assert got == {
        (
            "my meas,x_value",
            "db=telemetry",
            f"device={d}",
            f"sensor={s}",
            "site=gar age\\",
            "unit=°C",
        ): [(ms(T0 + i), 20.0 + i / 4)]
        for i, (d, s) in enumerate(names)
    }


def test_a_10_s_outage_is_held_in_the_buffer_and_drops_count_only_past_its_bound(
    victoria_factory: VictoriaFactory, outputs: list[InfluxOutput]
) -> None:
    db = victoria_factory()
    out = InfluxOutput(config(db.url, queue=60, batch=10), backoff=fast())
    outputs.append(out)
    out.submit([point(i) for i in range(5)], [])
    wait_until(lambda: out.status().sent == 5, what="the first 5 sent")
    db.stop()
    outage = time.monotonic()
    for i in range(5, 105):  # 100 points over 10 s, one every 0.1 s
        out.submit([point(i)], [])
        if i == 64:  # 60 points since the outage began: the bound, nothing dropped yet
            status = out.status()
            assert (status.queued, status.dropped, status.state) == (60, 0, "failing"), status
        time.sleep(max(0.0, outage + (i - 4) * 0.1 - time.monotonic()))
    status = out.status()
    assert (status.queued, status.dropped, status.sent) == (60, 40, 5), status
    assert status.failed > 10  # retried all along, with backoff
    db.start()
    wait_until(lambda: out.status().queued == 0, 15, what="the buffer drained")
    status = out.status()
    assert (status.sent, status.dropped, status.state) == (65, 40, "ok"), status
    kept = list(range(5)) + list(range(45, 105))  # the oldest 40 of the outage dropped
    (series,) = db.samples().values()
    assert series == [(ms(T0 + i), 20.0 + i / 4) for i in kept], db.log.read_text()[-2000:]


class FakeDatabase:
    """A database answering each write with the next status of `answers` (the last
    one repeated), recording what it was sent: to inject 400, 429 and 500."""

    def __init__(
        self, *answers: int, drop_idle: bool = False, retry_after: str | None = None
    ) -> None:
        """`drop_idle`: answer in HTTP/1.1 (so the connection is kept alive), then
        close it without a word, as a database closes an idle connection.
        `retry_after`: the Retry-After header of each 429 and 503."""
        self.answers = list(answers)
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.times: list[float] = []  # of each request, monotonic
        self.closed = threading.Event()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1" if drop_idle else "HTTP/1.0"

            def finish(self) -> None:
                super().finish()
                fake.closed.set()

            def do_POST(self) -> None:
                self.close_connection = True
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                fake.requests.append((self.path, dict(self.headers), body))
                fake.times.append(time.monotonic())
                code = fake.answers.pop(0) if len(fake.answers) > 1 else fake.answers[0]
                text = b'{"error":"unable to parse \'x y\': bad timestamp"}' if code >= 300 else b""
                self.send_response(code)
                if retry_after is not None and code in (429, 503):
                    self.send_header("Retry-After", retry_after)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/prefix"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_db() -> Iterator[list[FakeDatabase]]:
    made: list[FakeDatabase] = []
    yield made
    for db in made:
        db.close()


def test_a_rejected_batch_is_counted_and_never_retried_and_credentials_never_logged(
    fake_db: list[FakeDatabase], outputs: list[InfluxOutput], caplog: pytest.LogCaptureFixture
) -> None:
    db = FakeDatabase(400)
    fake_db.append(db)
    cfg = config(db.url, batch=3, username="writer", password="s3cret-pw", database="home")
    out = InfluxOutput(cfg, backoff=fast())
    outputs.append(out)
    with caplog.at_level(logging.INFO):
        out.submit([point(i) for i in range(3)], [])
        wait_until(lambda: out.status().dropped == 3, what="the first batch rejected")
        out.submit([point(i) for i in range(3, 6)], [])
        wait_until(lambda: out.status().dropped == 6, what="the second batch rejected")
        time.sleep(0.3)  # time enough for retries, had there been any
    status = out.status()
    assert (status.sent, status.failed, status.dropped, status.queued) == (0, 2, 6, 0)
    assert status.state == "failing"
    assert status.last_error == (
        'answered 400 Bad Request: {"error":"unable to parse \'x y\': bad timestamp"}'
    )
    assert len(db.requests) == 2  # one attempt a batch
    path, headers, body = db.requests[0]
    assert path == "/prefix/write?db=home&precision=ms"
    assert headers["Content-Encoding"] == "gzip"
    assert headers["Authorization"] == "Basic d3JpdGVyOnMzY3JldC1wdw=="
    lines = gzip.decompress(body).decode().splitlines()
    assert lines == [
        f"telemetry,device=kitchen,sensor=temp,unit=°C value={20.0 + i / 4!r} {ms(T0 + i)}"
        for i in range(3)
    ]
    logged = [r.getMessage() for r in caplog.records if r.name == "devices.influx"]
    assert len(logged) == 1  # the second rejection within the minute is not logged
    assert "a batch of 3 points rejected, not retried (1 so far): answered 400" in logged[0]
    text = caplog.text + str(status) + repr(cfg)
    assert "s3cret" not in text and "d3JpdGVyOnMzY3JldC1wdw" not in text


def test_429_and_500_are_retried_until_written_v2_with_a_token(
    fake_db: list[FakeDatabase], outputs: list[InfluxOutput]
) -> None:
    db = FakeDatabase(500, 429, 503, 204)
    fake_db.append(db)
    cfg = config(
        db.url, api="v2", org="me", bucket="house", token="tok-123", precision="s", gzip=False
    )
    out = InfluxOutput(cfg, backoff=fast())
    outputs.append(out)
    out.submit([point(0)], [])
    wait_until(lambda: out.status().sent == 1, what="written after 3 failures")
    status = out.status()
    assert (status.failed, status.dropped, status.state) == (3, 0, "ok")
    assert len(db.requests) == 4
    path, headers, body = db.requests[-1]
    assert path == "/prefix/api/v2/write?org=me&bucket=house&precision=s"
    assert headers["Authorization"] == "Token tok-123"
    assert "Content-Encoding" not in headers
    assert body == f"telemetry,device=kitchen,sensor=temp,unit=°C value=20.0 {int(T0)}\n".encode()


@pytest.mark.parametrize("answer", [429, 503])
def test_a_retry_after_is_waited_for_rather_than_the_shorter_backoff(
    fake_db: list[FakeDatabase], outputs: list[InfluxOutput], answer: int
) -> None:
    db = FakeDatabase(answer, 204, retry_after="1")
    fake_db.append(db)
    out = InfluxOutput(config(db.url), backoff=fast())  # 0.05 s, then up to 0.2 s
    outputs.append(out)
    out.submit([point(0)], [])
    wait_until(lambda: out.status().sent == 1, what="written after the Retry-After")
    assert len(db.requests) == 2
    assert db.times[1] - db.times[0] >= 0.95


def test_retry_after_reads_seconds_and_dates_capped() -> None:
    now = time.time()
    assert retry_after("7") == 7.0
    assert retry_after(None) == retry_after("soon") == retry_after("-3") == 0.0
    assert retry_after("86400") == RETRY_AFTER_CAP
    date = email.utils.formatdate(now + 60, usegmt=True)
    assert 55 <= retry_after(date, now) <= 60


def test_basic_auth_against_victoria_refused_then_written(
    victoria_factory: VictoriaFactory, outputs: list[InfluxOutput], caplog: pytest.LogCaptureFixture
) -> None:
    db = victoria_factory("-httpAuth.username=writer", "-httpAuth.password=right-pw")
    wrong = InfluxOutput(config(db.url, username="writer", password="wrong-pw"), backoff=fast())
    right = InfluxOutput(config(db.url, username="writer", password="right-pw"), backoff=fast())
    outputs.extend([wrong, right])
    wrong.submit([point(0)], [])
    right.submit([point(1)], [])
    wait_until(lambda: wrong.status().dropped == 1 and right.status().sent == 1)
    assert wrong.status().last_error is not None
    assert wrong.status().last_error.startswith("answered 401 Unauthorized")  # type: ignore[union-attr]
    assert "wrong-pw" not in caplog.text and "right-pw" not in caplog.text
    auth = {"Authorization": "Basic d3JpdGVyOnJpZ2h0LXB3"}
    (series,) = [s["values"] for s in db.export(**auth)]
    assert series == [20.25]


def test_stop_flushes_what_the_buffer_holds(
    victoria_factory: VictoriaFactory, outputs: list[InfluxOutput]
) -> None:
    db = victoria_factory()
    out = InfluxOutput(config(db.url, flush=300.0, batch=1000))
    out.submit([point(i) for i in range(50)], [])
    time.sleep(0.1)
    assert out.status().sent == 0  # not due for 5 minutes
    out.stop(5)
    status = out.status()
    assert (status.sent, status.dropped, status.queued, status.state) == (50, 0, 0, "stopped")
    (series,) = db.samples().values()
    assert len(series) == 50


def test_match_filters_series(fake_db: list[FakeDatabase], outputs: list[InfluxOutput]) -> None:
    db = FakeDatabase(204)
    fake_db.append(db)
    out = InfluxOutput(config(db.url, match=("kitchen/*",), gzip=False))
    outputs.append(out)
    out.submit([point(0), point(1, "garage", "temp"), point(2, "kitchen", "hum", "%")], [])
    wait_until(lambda: out.status().sent == 2)
    ((_, _, body),) = db.requests
    assert [line.split(" ")[0] for line in body.decode().splitlines()] == [
        "telemetry,device=kitchen,sensor=temp,unit=°C",
        "telemetry,device=kitchen,sensor=hum,unit=%",
    ]


def test_a_hanging_database_never_slows_submit(
    hooks: Callable[[str], Hook], outputs: list[InfluxOutput]
) -> None:
    hook = hooks("hang")
    out = InfluxOutput(config(hook.url, queue=5000, batch=500, timeout=1.0), backoff=fast())
    outputs.append(out)
    points = [point(i) for i in range(100)]
    slowest = 0.0
    for _ in range(200):  # 20 000 points while the database holds every request
        started = time.perf_counter()
        out.submit(points, [])
        slowest = max(slowest, time.perf_counter() - started)
        time.sleep(0.001)
    assert slowest < 0.05
    assert (out.status().queued, out.status().dropped) == (5000, 15_000)
    wait_until(lambda: out.status().state == "failing", 5, what="failing")
    status = out.status()
    assert status.last_error == "TimeoutError: timed out"
    assert status.sent == 0


def test_stop_with_the_database_down_ends_in_time_and_counts_what_is_left(
    outputs: list[InfluxOutput],
) -> None:
    out = InfluxOutput(config(f"http://127.0.0.1:{free_port()}", batch=10), backoff=fast())
    out.submit([point(i) for i in range(25)], [])
    wait_until(lambda: out.status().state == "failing", what="failing")
    started = time.monotonic()
    out.stop(0.5)
    assert time.monotonic() - started < 1.0
    status = out.status()
    assert (status.sent, status.dropped, status.queued, status.state) == (0, 25, 0, "stopped")
    out.submit([point(99)], [])  # after stop: counted, not queued
    assert (out.status().dropped, out.status().queued) == (26, 0)


def test_https_verifies_the_database_against_ca_file(
    victoria_factory: VictoriaFactory, certificates: Path, outputs: list[InfluxOutput]
) -> None:
    ca = str(certificates / "ca.pem")
    tls = (
        f"-tlsCertFile={certificates / 'broker.pem'}",
        f"-tlsKeyFile={certificates / 'broker.key'}",
    )
    db = victoria_factory("-tls", *tls, ca_file=ca)
    assert db.url.startswith("https://")
    trusted = InfluxOutput(config(db.url, ca_file=ca), backoff=fast())
    unknown = InfluxOutput(config(db.url), backoff=fast())  # the system's CAs only
    outputs.extend([trusted, unknown])
    trusted.submit([point(0)], [])
    unknown.submit([point(1)], [])
    wait_until(lambda: trusted.status().sent == 1, what="written over https")
    wait_until(lambda: unknown.status().state == "failing", what="refused")
    assert "CERTIFICATE_VERIFY_FAILED" in (unknown.status().last_error or "")
    assert unknown.status().sent == 0
    (series,) = db.samples().values()
    assert series == [(ms(T0), 20.0)]


def test_a_kept_alive_connection_the_database_closed_is_no_failure(
    fake_db: list[FakeDatabase], outputs: list[InfluxOutput], caplog: pytest.LogCaptureFixture
) -> None:
    db = FakeDatabase(204, drop_idle=True)
    fake_db.append(db)
    out = InfluxOutput(config(db.url))
    outputs.append(out)
    out.submit([point(0)], [])
    wait_until(lambda: out.status().sent == 1, what="the first point sent")
    assert db.closed.wait(5)  # the database let the connection go, unannounced
    out.submit([point(1)], [])
    wait_until(lambda: out.status().sent == 2, what="the second point sent")
    status = out.status()
    assert (status.failed, status.state, status.last_error) == (0, "ok", None)
    assert len(db.requests) == 2
    assert "writing failed" not in caplog.text
