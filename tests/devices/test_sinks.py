"""A sink's queue and worker (`devices.sinks.Sink`), with sends that fail or block on
purpose (faults injected; the real HTTP and MQTT sends are tested in
tests/web/test_notify.py)."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from devices.backoff import Backoff
from devices.sinks import ATTEMPTS, Sink, webhook
from telemetry.alerts import Change
from telemetry.config import NotifyConfig
from telemetry.notices import Notice
from tests.harness.hook import Hook
from tests.harness.waiting import wait_until

CFG = NotifyConfig(name="hook", type="webhook", url="http://127.0.0.1:9/", queue=5)


def notice(i: int) -> Notice:
    return Notice(Change("r", f"s/{i}", "above", "firing", "ok", 1e9 + i, float(i)))


def test_sink_queue_is_bounded_and_drops_the_oldest_counted(
    caplog: pytest.LogCaptureFixture,
) -> None:
    gate = threading.Event()
    sent: list[str] = []

    def send(n: Notice) -> None:
        gate.wait(5)
        sent.append(n.change.series)

    sink = Sink(CFG, send)
    sink.submit([notice(0)])
    wait_until(lambda: sink.status().queued == 0, what="the first notice taken")
    sink.submit([notice(i) for i in range(1, 9)])  # 8 more behind a blocked send
    status = sink.status()
    assert (status.queued, status.dropped) == (5, 3)
    sink.submit([notice(i) for i in range(9, 30)])
    assert sink.status().dropped == 24
    # Logged at the first drop and the tenth, not at each one.
    assert len([r for r in caplog.records if "queue full" in r.getMessage()]) == 2
    gate.set()
    wait_until(lambda: sink.status().sent == 6, what="the rest sent")
    assert sent == ["s/0", *(f"s/{i}" for i in range(25, 30))]
    sink.stop()
    sink.join(2)


def test_sink_retries_with_backoff_until_it_succeeds() -> None:
    attempts: list[float] = []

    def send(n: Notice) -> None:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise OSError("answered 500 Internal Server Error")

    sink = Sink(CFG, send, backoff=Backoff(0.05, 0.2))
    sink.submit([notice(1)])
    wait_until(lambda: sink.status().sent == 1, what="sent at the third attempt")
    status = sink.status()
    assert (status.failed, status.failing, status.dropped) == (2, False, 0)
    assert attempts[1] - attempts[0] >= 0.025  # backed off, not spinning
    sink.stop()
    sink.join(2)


def test_sink_gives_a_notice_up_after_its_attempts_and_stops_from_a_backoff() -> None:
    def send(n: Notice) -> None:
        raise OSError("refused")

    sink = Sink(CFG, send, backoff=Backoff(0.001, 0.002))
    sink.submit([notice(1)])
    wait_until(lambda: sink.status().dropped == 1, what="given up")
    assert sink.status().failed == ATTEMPTS and sink.status().failing
    slow = Sink(CFG, send, backoff=Backoff(60, 60))
    slow.submit([notice(2)])
    wait_until(lambda: slow.status().failed == 1, what="a first failure")
    started = time.monotonic()
    slow.stop()
    slow.join(2)
    assert time.monotonic() - started < 1
    sink.stop()
    sink.join(2)


def test_a_webhook_that_redirects_is_a_failed_send_and_the_token_goes_nowhere(
    hooks: Callable[[str], Hook],
) -> None:
    elsewhere = hooks("ok")
    moved = hooks(elsewhere.url)
    cfg = NotifyConfig(name="hook", type="webhook", url=moved.url, token="s3cret-token")
    with pytest.raises(OSError, match="302"):
        webhook(cfg)(notice(1))
    assert moved.attempts == 1
    assert elsewhere.attempts == 0 and elsewhere.received == []  # not followed, no token sent


@pytest.mark.parametrize("answer", ["trickle", "trickle-body"])
def test_a_webhook_that_trickles_its_answer_fails_within_its_timeout(
    hooks: Callable[[str], Hook], answer: str
) -> None:
    # A byte every 0.2 s never trips a 1 s socket timeout; the attempt's deadline must.
    hook = hooks(answer)
    cfg = NotifyConfig(name="hook", type="webhook", url=hook.url, timeout=1.0)
    started = time.monotonic()
    with pytest.raises(OSError, match="timed out"):
        webhook(cfg)(notice(1))
    assert time.monotonic() - started < 2.0
    assert hook.attempts == 1


@pytest.mark.parametrize("answer", ["ok", "trickle-body"])
def test_an_https_webhook_is_verified_sent_and_bounded_by_its_timeout(
    certificates: Path, monkeypatch: pytest.MonkeyPatch, answer: str
) -> None:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(certificates / "broker.pem", certificates / "broker.key")
    hook = Hook(answer, tls)
    try:
        cfg = NotifyConfig(name="hook", type="webhook", url=hook.url, timeout=1.0)
        with pytest.raises(OSError, match="CERTIFICATE_VERIFY_FAILED"):
            webhook(cfg)(notice(1))  # the system's CAs do not know the test CA
        monkeypatch.setenv("SSL_CERT_FILE", str(certificates / "ca.pem"))
        started = time.monotonic()
        if answer == "ok":
            webhook(cfg)(notice(1))
            assert len(hook.received) == 1
        else:
            with pytest.raises(OSError, match="timed out"):
                webhook(cfg)(notice(1))
        assert time.monotonic() - started < 2.0
    finally:
        hook.close()


def test_a_webhook_url_http_client_refuses_is_a_failure_that_quotes_no_secret() -> None:
    # Made past the config's checks (which refuse user:password@ in a URL).
    cfg = NotifyConfig(name="hook", type="webhook", url="http://admin:s3cret@localhost/hook")
    with pytest.raises(OSError) as info:
        webhook(cfg)(notice(1))
    assert "s3cret" not in str(info.value)
