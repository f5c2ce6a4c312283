"""`[[output.influx]]`: every stored reading written as InfluxDB line protocol over
HTTP, which InfluxDB 1.x and 2.x, VictoriaMetrics and QuestDB accept.

On the event loop `submit` only filters (a series' match is remembered, a bounded
memo) and appends to a bounded buffer under a lock: when the buffer holds `queue`
points the oldest are dropped and counted, so a dead database costs memory up to
that bound and nothing more, and never slows ingest.  One worker thread takes up
to `batch` points each `flush` interval (at once when a whole batch waits),
encodes and gzips them, and POSTs them on a kept-alive connection:

- 2xx: sent;
- 429, 408, 5xx, a connection error or a timeout: the batch goes back to the
  front of the buffer (the bound still applies: the oldest go first) and is
  retried after a capped, jittered backoff (`devices.backoff`, 1 s doubling to
  30 s), or after the answer's Retry-After when that is longer (at most 5
  minutes); the state is "failing" until a write succeeds;
- any other answer (400 a bad batch, 401/403 refused credentials, 404 no such
  database, a redirect): the batch is rejected, counted as dropped, never
  retried; the worker goes on with the next one.

Failures are logged once, then at most once a minute with how many since: with
the output's name, the status and the start of the database's answer, never the
URL or the credentials (the URL may not hold them, see the config; the headers
are never logged).  `stop` sends what the buffer holds within its timeout and
counts the rest as dropped.

One point is one line of line protocol (`devices.lineprotocol`).
"""

from __future__ import annotations

import base64
import email.utils
import fnmatch
import gzip
import http.client
import logging
import math
import ssl
import threading
import time
from collections import deque
from collections.abc import Sequence
from urllib.parse import urlencode, urlsplit

from devices.backoff import Backoff
from devices.lineprotocol import LineEncoder
from telemetry.config.model import InfluxOutputConfig
from telemetry.logs import RateLimitedLog, escape
from telemetry.outputs import OutPoint, OutputStatus
from telemetry.remember import Remembered

logger = logging.getLogger(__name__)

BACKOFF_BASE, BACKOFF_CAP = 1.0, 30.0
RETRY_AFTER_CAP = 300.0  # the longest a database's Retry-After is waited for
MAX_ANSWER = 64 * 1024  # what is read of the database's answer
SHOWN_ANSWER = 200  # what of it reaches a log line and `last_error`
LOG_EVERY = 60.0  # seconds between two log lines about failures
# The fastest level: line protocol shrinks well at any level, and a Pi's CPU is
# scarcer than its network (bench/README.md, the influx load).
GZIP_LEVEL = 1
# The time's unit (divisor from microseconds, or multiplier for ns) and its name in
# the v1 API, which spells micro- and nanoseconds `u` and `n`.
V1_PRECISION = {"s": "s", "ms": "ms", "us": "u", "ns": "n"}


class Rejected(Exception):
    """The database refused the batch for good (a 4xx other than 408/429, a 3xx)."""


class Retry(OSError):
    """The database answered with a status worth retrying (408, 429, 5xx); `after`:
    the seconds its Retry-After asked for (0: none)."""

    def __init__(self, error: str, after: float) -> None:
        super().__init__(error)
        self.after = after


def retry_after(value: str | None, now: float | None = None) -> float:
    """The seconds a Retry-After header asks for (a number or an HTTP date), at most
    `RETRY_AFTER_CAP`; 0 when there is none or it cannot be read."""
    if value is None:
        return 0.0
    value = value.strip()
    if value.isdigit():
        seconds = float(value)
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return 0.0
        if when.tzinfo is None:  # not an HTTP date (which is GMT)
            return 0.0
        seconds = when.timestamp() - (time.time() if now is None else now)
    return max(0.0, min(seconds, RETRY_AFTER_CAP))


def write_target(cfg: InfluxOutputConfig) -> tuple[str, dict[str, str]]:
    """The write request's path and query, and its headers (credentials included)."""
    base = urlsplit(cfg.url).path.rstrip("/")
    headers = {"Content-Type": "text/plain; charset=utf-8"}
    if cfg.gzip:
        headers["Content-Encoding"] = "gzip"
    if cfg.api == "v2":
        query = {"org": cfg.org, "bucket": cfg.bucket, "precision": cfg.precision}
        path = f"{base}/api/v2/write?{urlencode(query)}"
        if cfg.token:
            headers["Authorization"] = f"Token {cfg.token}"
    else:
        query = {"db": cfg.database, "precision": V1_PRECISION[cfg.precision]}
        path = f"{base}/write?{urlencode(query)}"
        if cfg.username is not None and cfg.password is not None:
            pair = f"{cfg.username}:{cfg.password}".encode()
            headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    return path, headers


class InfluxOutput:
    """One `[[output.influx]]`: its buffer, its worker thread and its counters."""

    def __init__(self, cfg: InfluxOutputConfig, *, backoff: Backoff | None = None) -> None:
        self.cfg = cfg
        self._encoder = LineEncoder(cfg)
        self._path, self._headers = write_target(cfg)
        parts = urlsplit(cfg.url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or ""
        self._port = parts.port
        self._conn: http.client.HTTPConnection | None = None
        self._backoff = backoff or Backoff(BACKOFF_BASE, BACKOFF_CAP)
        self._wanted: Remembered[str, bool] = Remembered()  # series id: matched
        self._buffer: deque[OutPoint] = deque()
        self._inflight = 0
        self._cond = threading.Condition()
        self._stopping = False
        self._deadline = math.inf
        self.sent = 0
        self.failed = 0
        self.dropped = 0
        self.rejected = 0  # batches
        self.state = "connecting"
        self.last_error: str | None = None
        self._log = RateLimitedLog(logger, LOG_EVERY)
        # Started with the first point: an output nothing matches runs no thread.
        self._thread = threading.Thread(target=self._run, name=f"influx-{cfg.name}", daemon=True)

    # -- on the event loop -------------------------------------------------------------

    def _mine(self, points: Sequence[OutPoint]) -> Sequence[OutPoint]:
        patterns = self.cfg.match
        if not patterns:
            return points
        wanted = self._wanted
        out = []
        for point in points:
            hit = wanted.get(point.series)
            if hit is None:
                hit = wanted[point.series] = any(
                    fnmatch.fnmatchcase(point.series, p) for p in patterns
                )
            if hit:
                out.append(point)
        return out

    def submit(self, points: Sequence[OutPoint], removed: Sequence[str]) -> None:
        """Queue the matching points; never waits (called on the event loop)."""
        for sid in removed:
            self._wanted.pop(sid, None)
        mine = self._mine(points)
        if not mine:
            return
        if self._thread.ident is None and not self._stopping:
            self._thread.start()
        with self._cond:
            if self._stopping:
                self.dropped += len(mine)
                return
            self._buffer.extend(mine)
            self._trim()
            if len(self._buffer) >= self.cfg.batch:
                self._cond.notify()

    def _trim(self) -> None:
        """Drop the oldest points past the bound (the batch in flight is counted in it
        but not dropped: it is being sent).  Under the lock."""
        over = min(len(self._buffer) + self._inflight - self.cfg.queue, len(self._buffer))
        if over <= 0:
            return
        for _ in range(over):
            self._buffer.popleft()
        self.dropped += over
        self._log.warning(
            "dropped",
            "influx %s: buffer full, the oldest points dropped (%d so far)",
            self.cfg.name,
            self.dropped,
        )

    def status(self) -> OutputStatus:
        with self._cond:
            return OutputStatus(
                self.cfg.name,
                "influx",
                self.state,
                self.sent,
                self.failed,
                self.dropped,
                len(self._buffer) + self._inflight,
                self.last_error,
            )

    def stop(self, timeout: float) -> None:
        """Send what the buffer holds within `timeout` seconds; the rest is dropped
        (counted).  A request under way past it is left to its own timeout."""
        with self._cond:
            self._stopping = True
            self._deadline = time.monotonic() + timeout
            self._cond.notify()
        if self._thread.ident is not None:
            self._thread.join(max(0.0, timeout))
        with self._cond:
            self.dropped += len(self._buffer)
            self._buffer.clear()
            self.state = "stopped"
        if not self._thread.is_alive():
            self._close()

    # -- the worker --------------------------------------------------------------------

    def _take(self, at_once: bool) -> list[OutPoint] | None:
        """The next batch once one is due (at once after a failed one, when a whole
        batch waits, when the flush interval passed, or when the server is
        stopping); None when stopping and nothing is left or the time is up."""
        due = time.monotonic() + (0.0 if at_once else self.cfg.flush)
        with self._cond:
            buffer = self._buffer
            while not (
                self._stopping
                or len(buffer) >= self.cfg.batch
                or (buffer and time.monotonic() >= due)
            ):
                left = due - time.monotonic()
                if left <= 0:  # nothing came in this interval: start another
                    due, left = time.monotonic() + self.cfg.flush, self.cfg.flush
                self._cond.wait(left)
            if not buffer or time.monotonic() >= self._deadline:
                return None
            n = min(self.cfg.batch, len(buffer))
            batch = [buffer.popleft() for _ in range(n)]
            self._inflight = n
            return batch

    def _run(self) -> None:
        retry: float | None = None
        while (batch := self._take(retry is not None)) is not None:
            retry = self._deliver(batch)
            with self._cond:
                self._inflight = 0
                if retry is None:
                    continue
                if self.state == "stopped":  # `stop` gave up waiting: nothing more is sent
                    self.dropped += len(batch)
                    return
                self._buffer.extendleft(reversed(batch))
                self._trim()
                delay = max(self._backoff.next_delay(), retry)
                delay = max(0.0, min(delay, self._deadline - time.monotonic()))
                if self._stopping:  # no early wake-up: a dead database is not hammered
                    self._cond.wait(delay)
                else:
                    self._cond.wait_for(lambda: self._stopping, delay)

    def _failed(self, error: str, dropped: int) -> None:
        with self._cond:
            self.failed += 1
            self.dropped += dropped
            self.last_error = error
            if self.state != "stopped":
                self.state = "failing"

    def _deliver(self, batch: list[OutPoint]) -> float | None:
        """Write one batch; when it should be retried, the least seconds to wait first
        (the database's Retry-After, or 0), else None."""
        try:
            written = self._write(batch)
        except Rejected as exc:
            self.rejected += 1
            self._failed(str(exc), len(batch))
            self._log.warning(
                "rejected",
                "influx %s: a batch of %d points rejected, not retried (%d so far): %s",
                self.cfg.name,
                len(batch),
                self.rejected,
                escape(str(exc)),
            )
            return None
        except (OSError, http.client.HTTPException) as exc:
            self._close()
            error = str(exc) if isinstance(exc, Retry) else f"{type(exc).__name__}: {exc}"
            self._failed(error, 0)
            self._log.warning(
                "failed",
                "influx %s: writing failed, retried with backoff: %s",
                self.cfg.name,
                escape(error),
            )
            return exc.after if isinstance(exc, Retry) else 0.0
        with self._cond:
            self.sent += written
            if self.state == "failing":
                logger.info("influx %s: writing again (%d points sent)", self.cfg.name, self.sent)
            if self.state != "stopped":
                self.state = "ok"
        self._backoff.reset()
        return None

    def _connection(self, timeout: float) -> http.client.HTTPConnection:
        conn = self._conn
        if conn is None:
            if self._https:
                context = ssl.create_default_context(cafile=self.cfg.ca_file)
                conn = http.client.HTTPSConnection(
                    self._host, self._port, timeout=timeout, context=context
                )
            else:
                conn = http.client.HTTPConnection(self._host, self._port, timeout=timeout)
            self._conn = conn
        conn.timeout = timeout
        if conn.sock is not None:
            conn.sock.settimeout(timeout)
        return conn

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            conn.close()

    def _post(self, body: bytes, timeout: float) -> tuple[http.client.HTTPResponse, bytes]:
        """The answer to one POST and the start of its body.  A kept-alive connection
        the database closed while idle is found out only by the next request: that
        one is made again, once, on a new connection, and is no failure."""
        for again in (False, True):
            reused = self._conn is not None and self._conn.sock is not None
            conn = self._connection(timeout)
            try:
                conn.request("POST", self._path, body, self._headers)
                answer = conn.getresponse()
                text = answer.read(MAX_ANSWER)
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                self._close()
                if reused and not again:
                    continue
                raise
            except ssl.SSLError:
                raise  # a certificate refused is a ValueError too, and says nothing secret
            except ValueError:
                # http.client's text would quote the header (the credentials) it refused.
                raise OSError("a header was refused by http.client") from None
            if answer.will_close or not answer.isclosed():  # closing, or a long answer
                self._close()
            return answer, text
        raise AssertionError("unreachable")

    def _write(self, batch: list[OutPoint]) -> int:
        """POST one batch; how many points it held (NaN and infinities have no line)."""
        body, count = self._encoder.body(batch)
        if count < len(batch):
            with self._cond:
                self.dropped += len(batch) - count
            if not count:
                return 0
        if self.cfg.gzip:
            body = gzip.compress(body, compresslevel=GZIP_LEVEL, mtime=0)
        timeout = max(0.1, min(self.cfg.timeout, self._deadline - time.monotonic()))
        answer, text = self._post(body, timeout)
        if 200 <= answer.status < 300:
            return count
        shown = text[:SHOWN_ANSWER].decode("utf-8", "replace").strip()
        error = f"answered {answer.status} {answer.reason}" + (f": {shown}" if shown else "")
        if answer.status in (408, 429) or answer.status >= 500:
            raise Retry(error, retry_after(answer.getheader("Retry-After")))
        raise Rejected(error)
