"""Alert sinks: where `[[notify]]` sends an alert's notices (webhook, ntfy, MQTT).

Each sink owns a bounded queue and one worker thread (`Sink`): the runtime hands
notices over from the event loop with `submit`, which only appends under a lock
and never waits; when the queue is full the oldest notice is dropped and
counted.  The worker sends one notice at a time, each attempt bounded by the
sink's `timeout` in all (`_Deadline`: a socket's own timeout bounds each read, so
a server trickling its answer a byte at a time would hold it for ever), and
retries a failed one with capped, jittered backoff (`devices.backoff`, 1 s
doubling to 60 s) up to `ATTEMPTS` times before giving it up (counted as
dropped).  So a webhook that hangs or answers 500 delays only its own queue,
never ingest, the loop or another sink.

Stopping wakes the worker from its backoff; a send under way is abandoned
(the thread is a daemon, and its attempt ends at its own timeout): the server
never waits on a stuck webhook.

The MQTT sink has its own paho client on the named `[[mqtt]]` broker (same
address, credentials and TLS), connected on first use and kept connected by
paho's own network thread and reconnect.  The reader's client is not reused:
it runs paho's external loop with a fast path of its own, and publishing from
another thread into it would tie a slow broker's acknowledgements to ingest.

Secrets (a token, a webhook URL's path) never reach a log line: errors are
logged with the sink's name and the exception's text, which for urllib names
neither the URL nor the headers.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import paho.mqtt.client as mqtt

from devices.backoff import Backoff
from devices.mqtt_client import paho_client
from telemetry.config import Config, MqttConfig, NotifyConfig
from telemetry.logs import escape
from telemetry.notices import Notice, SinkStatus, ntfy, payload, topic

logger = logging.getLogger(__name__)

ATTEMPTS = 10  # per notice, with backoff 1 s doubling to 60 s: about 5 minutes
BACKOFF_BASE, BACKOFF_CAP = 1.0, 60.0
MAX_ANSWER = 64 * 1024  # what is read of a webhook's answer

Send = Callable[[Notice], None]


class Sink:
    """One sink: its queue, its worker thread and its counters."""

    def __init__(self, cfg: NotifyConfig, send: Send, *, backoff: Backoff | None = None) -> None:
        self.cfg = cfg
        self._send = send
        self._backoff = backoff or Backoff(BACKOFF_BASE, BACKOFF_CAP)
        self._queue: deque[Notice] = deque()
        self._lock = threading.Condition()
        self._stopping = False
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.failing = False
        self.last_error: str | None = None
        # Started with the first notice: a server whose alerts never fire runs no thread.
        self._thread = threading.Thread(target=self._run, name=f"notify-{cfg.name}", daemon=True)

    def submit(self, notices: Sequence[Notice]) -> None:
        """Queue notices; never waits (called on the event loop)."""
        if not self._thread.is_alive() and not self._stopping and self._thread.ident is None:
            self._thread.start()
        with self._lock:
            for notice in notices:
                if len(self._queue) >= self.cfg.queue:
                    self._queue.popleft()
                    self.dropped += 1
                    if self.dropped in (1, 10) or self.dropped % 100 == 0:  # rate-limited
                        logger.warning(
                            "notify %s: queue full, the oldest notice dropped (%d so far)",
                            self.cfg.name,
                            self.dropped,
                        )
                self._queue.append(notice)
            self._lock.notify()

    def status(self) -> SinkStatus:
        with self._lock:
            return SinkStatus(
                self.cfg.name,
                self.cfg.type,
                self.sent,
                self.failed,
                self.dropped,
                len(self._queue),
                self.failing,
                self.last_error,
            )

    def stop(self) -> None:
        """Tell the worker to stop; what is queued is dropped (counted)."""
        with self._lock:
            self._stopping = True
            self.dropped += len(self._queue)
            self._queue.clear()
            self._lock.notify()

    def join(self, timeout: float) -> None:
        if self._thread.ident is not None:
            self._thread.join(max(0.0, timeout))

    def _next(self) -> Notice | None:
        with self._lock:
            while not self._queue and not self._stopping:
                self._lock.wait()
            return None if self._stopping else self._queue.popleft()

    def _run(self) -> None:
        while (notice := self._next()) is not None:
            self._deliver(notice)

    def _deliver(self, notice: Notice) -> None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                self._send(notice)
            except Exception as exc:  # any failure of one attempt: counted, retried
                error = f"{type(exc).__name__}: {exc}"
                with self._lock:
                    self.failed += 1
                    self.failing = True
                    self.last_error = error
                logger.warning(
                    "notify %s: attempt %d of %d failed: %s",
                    self.cfg.name,
                    attempt,
                    ATTEMPTS,
                    escape(error),
                )
                with self._lock:
                    if self._lock.wait_for(lambda: self._stopping, self._backoff.next_delay()):
                        return
                continue
            with self._lock:
                self.sent += 1
                self.failing = False
            self._backoff.reset()
            return
        with self._lock:
            self.dropped += 1
        # The backoff is not reset: the sink is still failing, the next retry waits as long.
        logger.warning("notify %s: a notice given up after %d attempts", self.cfg.name, ATTEMPTS)


# -- the senders ---------------------------------------------------------------------


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is a failed send: urllib would follow a POST's 301/302 as a GET
    (nothing delivered, counted as sent) and carry the token to wherever it points."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


class _Deadline:
    """One attempt's deadline: once it passes, the attempt's socket is shut down, which
    ends a read under way however slowly the server trickles its answer.  (The
    connection itself, a TLS handshake included, is bounded by the socket timeout.)"""

    def __init__(self, seconds: float) -> None:
        self.passed = False
        self._socks: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._pass)
        self._timer.name = "notify-deadline"
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timer.cancel()

    def watch(self, sock: socket.socket) -> None:
        with self._lock:
            self._socks.append(sock)
            if not self.passed:
                return
        _shut(sock)

    def _pass(self) -> None:
        with self._lock:
            self.passed = True
            socks = list(self._socks)
        for sock in socks:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):  # already closed
        sock.shutdown(socket.SHUT_RDWR)


class _Watched(http.client.HTTPConnection):
    """A connection whose socket its attempt's `_Deadline` can shut."""

    deadline: _Deadline

    def connect(self) -> None:
        super().connect()
        self.deadline.watch(self.sock)


class _WatchedTLS(_Watched, http.client.HTTPSConnection):
    pass


class _DeadlineHandler(urllib.request.HTTPHandler, urllib.request.HTTPSHandler):
    """urllib's http and https handlers, their connections watched by one deadline."""

    def __init__(self, deadline: _Deadline) -> None:
        super().__init__()
        self.deadline = deadline

    def http_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._connection(_Watched), req)

    def https_open(self, req: urllib.request.Request) -> http.client.HTTPResponse:
        return self.do_open(self._connection(_WatchedTLS), req)

    def _connection(self, kind: type[_Watched]) -> Callable[..., _Watched]:
        def make(host: str, **kwargs: Any) -> _Watched:
            conn = kind(host, **kwargs)
            conn.deadline = self.deadline
            return conn

        return make


def _post(cfg: NotifyConfig, body: bytes, headers: dict[str, str]) -> None:
    assert cfg.url is not None
    if cfg.token:
        headers["Authorization"] = f"Bearer {cfg.token}"
    request = urllib.request.Request(cfg.url, data=body, headers=headers, method="POST")  # noqa: S310 (http/https checked by the config)
    with _Deadline(cfg.timeout) as deadline:
        opener = urllib.request.build_opener(_NoRedirect, _DeadlineHandler(deadline))
        try:
            _open(opener, request, cfg.timeout)
        except Exception:
            if not deadline.passed:
                raise
        # A shut socket may also read as the answer's end: past the deadline, no
        # answer counts.
        if deadline.passed:
            raise TimeoutError(f"timed out: no whole answer within {cfg.timeout:g} s")


def _open(
    opener: urllib.request.OpenerDirector, request: urllib.request.Request, timeout: float
) -> None:
    try:
        with opener.open(request, timeout=timeout) as answer:
            answer.read(MAX_ANSWER)
    except urllib.error.HTTPError as exc:
        # Its text names the status only; the URL (which may hold a secret) stays out.
        raise OSError(f"answered {exc.code} {exc.reason}") from None
    except (ValueError, http.client.InvalidURL):
        # http.client's text would quote the URL (a password in user:password@, which
        # the config refuses) or the header (the token) it refused.
        raise OSError("the URL or a header was refused by http.client") from None


def webhook(cfg: NotifyConfig) -> Send:
    def send(notice: Notice) -> None:
        _post(cfg, payload(notice), {"Content-Type": "application/json"})

    return send


def ntfy_sender(cfg: NotifyConfig) -> Send:
    def send(notice: Notice) -> None:
        body, headers = ntfy(notice, cfg.priority)
        _post(cfg, body, headers)

    return send


class MqttPublisher:
    """An MQTT sink's paho client: connected on the first notice, kept by paho's thread.

    paho keeps a QoS 1 message until the broker acknowledges it, sending it again
    after a reconnect: an attempt that timed out is not published anew when retried
    (a stalled broker would deliver one copy per attempt), its retry waits for the
    same message's acknowledgement."""

    def __init__(self, cfg: NotifyConfig, broker: MqttConfig) -> None:
        self.cfg = cfg
        self.broker = broker
        self._client: mqtt.Client | None = None
        self._connected = threading.Event()
        self._held: tuple[Notice, int] | None = None  # published, not acknowledged: its mid
        self._acks = threading.Condition()
        self._acked: set[int] = set()  # mids acknowledged since the last publish

    def _connect(self) -> mqtt.Client:
        b = self.broker
        client = paho_client(b)
        client.reconnect_delay_set(int(BACKOFF_BASE), int(BACKOFF_CAP))
        client.on_connect = self._on_connect
        client.on_disconnect = lambda *args: self._connected.clear()
        client.on_publish = self._on_publish
        client.connect_async(b.host, b.port, int(b.keepalive))
        client.loop_start()
        return client

    def _on_connect(
        self, client: mqtt.Client, userdata: object, flags: object, reason: Any, props: object
    ) -> None:
        if reason.is_failure:
            logger.warning(
                "notify %s: the mqtt broker %r refused the connection: %s",
                self.cfg.name,
                self.broker.name,
                reason,
            )
        else:
            self._connected.set()

    def _on_publish(
        self, client: mqtt.Client, userdata: object, mid: int, reason: object, props: object
    ) -> None:
        with self._acks:
            self._acked.add(mid)
            self._acks.notify_all()

    def __call__(self, notice: Notice) -> None:
        if self._client is None:
            self._client = self._connect()
        if not self._connected.wait(self.cfg.timeout):
            raise OSError(f"not connected to the mqtt broker {self.broker.name!r}")
        if self._held is None or self._held[0] is not notice:
            with self._acks:
                self._acked.clear()
            info = self._client.publish(topic(self.cfg.topic, notice), payload(notice), 1, True)
            self._held = (notice, info.mid)
        mid = self._held[1]
        with self._acks:
            if not self._acks.wait_for(lambda: mid in self._acked, self.cfg.timeout):
                raise OSError(f"the mqtt broker {self.broker.name!r} did not acknowledge in time")
        self._held = None

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            client.disconnect()
            client.loop_stop()


class Sinks:
    """Every configured sink, by name; what the runtime knows as its `Notifier`."""

    def __init__(self, config: Config) -> None:
        brokers = {m.name: m for m in config.mqtt}
        self._routes = {rule.name: rule.notify for rule in config.alerts}
        self._closers: list[Callable[[], None]] = []
        self.sinks: dict[str, Sink] = {}
        for cfg in config.notify:
            send: Send
            if cfg.type == "mqtt":
                assert cfg.mqtt is not None
                publisher = MqttPublisher(cfg, brokers[cfg.mqtt])
                self._closers.append(publisher.close)
                send = publisher
            elif cfg.type == "ntfy":
                send = ntfy_sender(cfg)
            else:
                send = webhook(cfg)
            self.sinks[cfg.name] = Sink(cfg, send)

    def submit(self, notices: Sequence[Notice]) -> None:
        """Each notice to the sinks its rule names."""
        for name, sink in self.sinks.items():
            mine = [n for n in notices if name in self._routes.get(n.change.rule, ())]
            if mine:
                sink.submit(mine)

    def statuses(self) -> list[SinkStatus]:
        return [sink.status() for sink in self.sinks.values()]

    def stop(self, timeout: float) -> None:
        """Stop every worker, waiting at most `timeout` in all: one stuck in a send is
        left to its own timeout (a daemon thread)."""
        deadline = time.monotonic() + timeout
        for sink in self.sinks.values():
            sink.stop()
        for sink in self.sinks.values():
            sink.join(deadline - time.monotonic())
        for close in self._closers:
            try:
                close()
            except Exception:  # a broker gone at shutdown: nothing more to do
                logger.debug("notify: closing an mqtt client failed", exc_info=True)
