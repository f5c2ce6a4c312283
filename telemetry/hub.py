"""The hub: one frame per tick, encoded once per distinct subscription, fanned out.

Each tick the hub takes the pipeline's pending points and new series, encodes
one chunk of SSE bytes for every distinct set of series patterns among the
connected clients, and appends it to each such client's bounded backlog.  A
client that falls behind loses its oldest frames (counted); ingest never waits
on a client.  Clients wait on a plain future that the hub resolves: no task or
queue per client, nothing that polls.

Every `readings` frame carries a cursor `<boot id>-<sequence>`.  The hub keeps
the points of recent frames (the replay window, `[server] replay`, and at most
`REPLAY_POINTS` points in all), so a client reconnecting with `Last-Event-ID`
gets exactly the frames it missed, filtered by its own patterns.  A cursor from
another run of the server (another boot id), from before the window, from the
future, or malformed gets a `reset` event instead: the page refetches history.

Alert changes (`telemetry.alerts`) go out with the tick's frame to every
client, whatever series it asked for; a stream that opens, resumes or catches
up gets every alert state not ok instead, since it may have missed changes.
The readers' states, read every publish for the `status` event, feed the
`reader` rules too.  The alerts' notices (fired, resolved, repeated) are taken
at the same publish and handed to `on_notices` (the runtime's: the `[[notify]]`
sinks' queues, which never wait).  The tick's stored points and deleted series
go to `on_points` (the runtime's: the `[output.*]` outputs, which never wait).
"""

from __future__ import annotations

import asyncio
import fnmatch
import logging
import secrets
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence

from telemetry import frames
from telemetry.alerts import Change
from telemetry.config import LimitsConfig, ServerConfig
from telemetry.outputs import OutPoint
from telemetry.pipeline import Pipeline, Tick
from telemetry.sources import SourceStatus
from telemetry.ticker import Ticker

logger = logging.getLogger(__name__)

Patterns = tuple[str, ...] | None
REPLAY_POINTS = 200_000  # bound on the replay buffer whatever the window says
_SHUTDOWN = frames.shutdown()
_SPREAD = 0x9E3779B1  # 2^32 / golden ratio: successive frames start far apart in the list


class _Frame:
    """One published `readings` frame, kept for replay."""

    __slots__ = ("points", "seq", "t")

    def __init__(self, seq: int, t: float, points: dict[str, list[float]]) -> None:
        self.seq = seq
        self.t = t
        self.points = points


class Client:
    """One open `/events` stream: its patterns, its backlog and why it ended.

    The backlog holds at most `backlog` encoded frames.  When a frame arrives
    and it is full, the client has fallen behind: its backlog is dropped, and
    the next `take()` gives one catch-up chunk made by the hub instead (the full
    catalog and one `readings` frame merging every frame it missed), so a slow
    reader skips ahead rather than lagging further or losing frames silently.
    """

    __slots__ = (
        "_catchup",
        "_waiter",
        "backlog",
        "behind_from",
        "coalesced",
        "frames",
        "host",
        "id",
        "patterns",
        "reason",
        "sent",
        "taken_seq",
    )

    def __init__(
        self,
        cid: int,
        host: str,
        patterns: Patterns,
        backlog: int,
        catchup: Callable[[Client], bytes] | None = None,
    ) -> None:
        self.id = cid
        self.host = host
        self.patterns = patterns
        # (chunk, readings seq or 0).  A list, not a deque: an empty deque costs
        # 600 bytes, an empty list 56, and there may be thousands of idle clients.
        self.frames: list[tuple[bytes, int]] = []
        self.backlog = backlog
        self.coalesced = 0  # frames merged into catch-up chunks
        self.sent = 0
        self.taken_seq = 0  # the newest readings frame handed to the socket
        self.behind_from: int | None = None  # first seq not yet taken, when behind
        self.reason: str | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._catchup = catchup

    @property
    def closed(self) -> bool:
        return self.reason is not None

    @property
    def dropped(self) -> int:
        return self.coalesced

    def push(self, chunk: bytes, seq: int = 0) -> None:
        if self.behind_from is not None:
            self._wake()
            return
        if len(self.frames) >= self.backlog and self._catchup is not None:
            self.behind_from = self.taken_seq + 1
            self.coalesced += len(self.frames) + 1
            self.frames.clear()
        elif len(self.frames) >= self.backlog:
            del self.frames[0]
            self.coalesced += 1
            self.frames.append((chunk, seq))
        else:
            self.frames.append((chunk, seq))
        self._wake()

    def close(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
        self._wake()

    def take(self) -> bytes:
        if self.behind_from is not None and self._catchup is not None:
            chunk = self._catchup(self)
            self.behind_from = None
            self.sent += 1
            return chunk
        chunk = b"".join(c for c, _ in self.frames)
        for _, seq in self.frames:
            self.taken_seq = max(self.taken_seq, seq)
        self.sent += len(self.frames)
        self.frames.clear()
        return chunk

    async def wait(self, idle: float) -> None:
        """Until there is something to send, the client is closed, or `idle` seconds."""
        if self.frames or self.behind_from is not None or self.reason is not None:
            return
        loop = asyncio.get_running_loop()
        waiter = loop.create_future()
        self._waiter = waiter
        timer = loop.call_later(idle, self._wake)  # lighter than asyncio.wait's machinery
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)


def merge_points(points: list[list[float]]) -> list[float]:
    """Several points of one series as one: the last value, with min and max of all."""
    if len(points) == 1:
        return points[-1]
    values = [v for p in points for v in (p[1:] if len(p) == 4 else p[1:2])]
    last = points[-1]
    return [last[0], last[1], min(values), max(values)]


class Hub:
    def __init__(
        self,
        pipeline: Pipeline,
        server: ServerConfig,
        limits: LimitsConfig,
        statuses: Callable[[], Sequence[SourceStatus]] = tuple,
    ) -> None:
        self.pipeline = pipeline
        self.server = server
        self.limits = limits
        self.statuses = statuses
        self.boot_id = f"{int(time.time()):x}{secrets.token_hex(3)}"
        self.seq = 0
        self.clients: set[Client] = set()
        self.per_host: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()
        self.frames = 0
        self.closing = False
        self._next_id = 0
        self._matches: dict[tuple[str, ...], dict[str, bool]] = {}
        self._states: dict[str, str] = {}
        self._replay: deque[_Frame] = deque()
        self._replay_points = 0
        self.resumed = 0
        self.cut = 0  # streams cut because their client read nothing within the send timeout
        self.coalesced = 0  # frames merged for slow clients, over clients gone
        self.resets: Counter[str] = Counter()
        self.ticker = Ticker(server.tick, self._publish_tick, lambda: self.pipeline.ticking)
        # Set by the runtime when [[notify]] sinks exist: takes the alerts' notices.
        self.on_notices: Callable[[list[Change]], None] | None = None
        # Set by the runtime when outputs exist: takes a tick's stored points and the
        # series deleted in it (`telemetry.outputs`).
        self.on_points: Callable[[list[OutPoint], list[str]], None] | None = None

    # -- clients ---------------------------------------------------------------

    def connect(self, host: str, patterns: Patterns) -> Client | str:
        """A new client, or the reason it is refused (`shutdown`, `too_many`, ...)."""
        if self.closing:
            reason = "shutdown"
        elif len(self.clients) >= self.limits.max_clients:
            reason = "too_many_clients"
        elif self.per_host[host] >= self.limits.max_clients_per_host:
            reason = "too_many_from_host"
        else:
            self._next_id += 1
            client = Client(
                self._next_id, host, patterns, self.limits.client_backlog, self._catch_up
            )
            client.taken_seq = self.seq  # what the opening catalog already covers
            self.clients.add(client)
            self.per_host[host] += 1
            return client
        self.refused[reason] += 1
        return reason

    def disconnect(self, client: Client) -> None:
        if client not in self.clients:
            return
        self.clients.discard(client)
        self.per_host[client.host] -= 1
        if self.per_host[client.host] <= 0:
            del self.per_host[client.host]
        if client.patterns is not None and not any(
            c.patterns == client.patterns for c in self.clients
        ):
            self._matches.pop(client.patterns, None)
        if client.coalesced:
            self.coalesced += client.coalesced
            logger.info(
                "client %d from %s fell behind: %d frames coalesced",
                client.id,
                client.host,
                client.coalesced,
            )

    def cut_off(self, client: Client, reason: str) -> None:
        """A stream gave up on its client (it read nothing within the send timeout)."""
        self.cut += 1
        client.close(reason)

    def wants(self, patterns: Patterns, series: str) -> bool:
        if patterns is None:
            return True
        memo = self._matches.setdefault(patterns, {})
        hit = memo.get(series)
        if hit is None:
            hit = memo[series] = any(fnmatch.fnmatchcase(series, p) for p in patterns)
        return hit

    def opening(self, client: Client, last_event_id: str | None) -> bytes:
        """What a new stream starts with: retry, hello, the catalog, maybe a reset."""
        jitter = secrets.randbelow(max(1, int(self.server.retry * 500)))
        chunks = [
            frames.retry(int(self.server.retry * 1000) + jitter),
            frames.hello(
                self.boot_id, self.server.tick, self.limits.max_series, self.limits.client_backlog
            ),
            self._catalog(client, time.time()),
            self._alerts(),
        ]
        if last_event_id is not None:
            chunks.extend(self._resume(client, last_event_id))
        return b"".join(chunks)

    def _catalog(self, client: Client, now: float) -> bytes:
        return frames.catalog(
            (e for e in self.pipeline.store.entries() if self.wants(client.patterns, e.id)),
            self.statuses(),
            self.pipeline.devices.values(),
            now,
        )

    def _alerts(self) -> bytes:
        """Every alert state not ok, for a stream that opens, resumes or catches up (it
        may have missed changes); nothing when no rule is configured."""
        alerts = self.pipeline.alerts
        return frames.alert(alerts.raised(), full=True) if alerts.rules else b""

    def _resume(self, client: Client, last_event_id: str) -> list[bytes]:
        """The frames after `last_event_id` for this client, or one `reset`."""
        boot, _, number = last_event_id.partition("-")
        seq = int(number) if number.isascii() and number.isdigit() and len(number) <= 18 else -1
        if seq < 0:
            reason = "malformed"
        elif boot != self.boot_id:
            reason = "restarted"
        elif seq > self.seq:
            reason = "unknown"
        elif seq < self.seq and (not self._replay or self._replay[0].seq > seq + 1):
            reason = "expired"
        else:
            self.resumed += 1
            client.taken_seq = self.seq
            missed = []
            for frame in self._replay:
                wanted = {s: p for s, p in frame.points.items() if self.wants(client.patterns, s)}
                if frame.seq > seq and wanted:
                    cursor = f"{self.boot_id}-{frame.seq}"
                    missed.append(frames.readings(frame.t, wanted, cursor))
            return missed
        self.resets[reason] += 1
        return [frames.reset(reason)]

    def _catch_up(self, client: Client) -> bytes:
        """For a client that fell behind: the full catalog, then its missed frames
        merged into one (or a `reset` when they are no longer kept)."""
        since = client.behind_from or 0
        kept = [f for f in self._replay if f.seq >= since]
        catalog = self._catalog(client, time.time()) + self._alerts()
        if since <= self.seq and (not kept or kept[0].seq != since):
            self.resets["expired"] += 1
            catalog += frames.reset("expired")
            return catalog + _SHUTDOWN if self.closing else catalog
        merged: dict[str, list[list[float]]] = {}
        for frame in kept:
            for sid, point in frame.points.items():
                if self.wants(client.patterns, sid):
                    merged.setdefault(sid, []).append(point)
        if not kept:
            return catalog + _SHUTDOWN if self.closing else catalog
        client.taken_seq = kept[-1].seq
        series = {sid: merge_points(points) for sid, points in merged.items()}
        cursor = f"{self.boot_id}-{kept[-1].seq}"
        chunk = catalog + frames.readings(kept[-1].t, series, cursor)
        # Shutting down: the final status was pushed while the client was behind.
        return chunk + _SHUTDOWN if self.closing else chunk

    def forget(self, sid: str) -> None:
        """A series was deleted: no resumed stream gets its points again (its removal
        goes out with the next tick's catalog changes)."""
        for frame in self._replay:
            if frame.points.pop(sid, None) is not None:
                self._replay_points -= 1

    def _remember(self, frame: _Frame, now: float) -> None:
        replay = self._replay
        replay.append(frame)
        self._replay_points += len(frame.points)
        horizon = now - self.server.replay
        while replay and (replay[0].t < horizon or self._replay_points > REPLAY_POINTS):
            self._replay_points -= len(replay.popleft().points)

    # -- ticks -----------------------------------------------------------------

    def _status_changes(self, statuses: Sequence[SourceStatus]) -> list[SourceStatus]:
        changed = []
        for status in statuses:
            if self._states.get(status.name) != status.state:
                self._states[status.name] = status.state
                changed.append(status)
        return changed

    def publish(self, tick: Tick, now: float | None = None) -> None:
        """Encode `tick` once per distinct subscription and give it to every client."""
        statuses = self.statuses()
        alerts = self.pipeline.alerts
        alerts.readers(statuses)
        shared = frames.status(self._status_changes(statuses), tick.availability.values())
        shared += frames.alert(alerts.take())
        if alerts.notices and self.on_notices is not None:
            self.on_notices(alerts.take_notices())
        if (tick.out or tick.removed) and self.on_points is not None:
            self.on_points(tick.out, tick.removed)
        if not tick.points and not tick.new_series and not tick.removed and not shared:
            return
        now = time.time() if now is None else now
        cursor = ""
        every = {sid: frames.point(p) for sid, p in tick.points.items()}
        if every:
            self.seq += 1
            cursor = f"{self.boot_id}-{self.seq}"
            self._remember(_Frame(self.seq, now, every), now)
        groups: dict[Patterns, list[Client]] = {}
        for client in self.clients:
            groups.setdefault(client.patterns, []).append(client)
        for patterns, members in groups.items():
            if patterns is None:  # everything
                new, points, removed = tick.new_series, every, tick.removed
            else:
                new = [e for e in tick.new_series if self.wants(patterns, e.id)]
                points = {sid: p for sid, p in every.items() if self.wants(patterns, sid)}
                removed = [sid for sid in tick.removed if self.wants(patterns, sid)]
            chunk = shared
            if new or removed:
                chunk += frames.catalog_changes(new, removed)
            if points:
                chunk += frames.readings(now, points, cursor)
            if chunk:
                self.frames += 1
                seq = self.seq if points else 0
                # Clients are woken, and so written to, in push order: start at
                # another client every frame, so that none is always served last
                # (with thousands of streams the last is tens of ms behind).
                first = (self.frames * _SPREAD) % len(members)
                for client in members[first:]:
                    client.push(chunk, seq)
                for client in members[:first]:
                    client.push(chunk, seq)

    def _publish_tick(self) -> bool:
        """Publish what the pipeline holds; whether a frame went out."""
        frames = self.frames
        self.publish(self.pipeline.take_tick())
        return self.frames != frames

    def nudge(self) -> None:
        """Readings arrived (on the loop): the ticker arms a tick."""
        self.ticker.nudge()

    async def run(self) -> None:
        """Publish frames until `close()` (see `telemetry.ticker`)."""
        await self.ticker.run()

    def close(self) -> None:
        """End every stream (shutdown): clients see a final status and their stream ends."""
        self.closing = True
        self.ticker.stop()
        for client in list(self.clients):
            client.push(_SHUTDOWN)
            client.close("shutdown")
