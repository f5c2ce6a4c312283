"""Every shape the server puts on the wire, each built in one function.

The stream's events, in the order a stream meets them:

    retry: <ms>                         `retry`: how long a browser waits to reconnect
    event: hello                        `hello`: server, version, boot id, tick, limits
    event: catalog (full)               `catalog`: every series, source and device
    event: catalog (changes)            `catalog_changes`: series new, changed or removed
    id: <boot>-<seq> / event: readings  `readings`: one point per series per tick
    event: status                       `status`: readers and devices that changed
    event: alert                        `alert`: alert states that changed, or (`full`)
                                        every one not ok, as a stream opens or catches up
    event: reset                        `reset`: a cursor that cannot be resumed
    : ping                              `ping`: keeps an idle stream open

and the JSON of one series (`series`), one source (`source`), one device
(`device`) and one point (`point`), which the events and `GET /api/series`
share; one alert state (`alert_state`), which the `alert` event and
`GET /api/alerts` (`alerts_answer`) share; and `page`, the answer of
`GET /api/page`.  The page reads each event in one place (`web/static/stream.js`).
Encoding is `telemetry.sse`'s; nothing here does I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence

from telemetry import __version__, sse
from telemetry.alerts import Alerts, Change
from telemetry.config import PageConfig
from telemetry.history import CatalogEntry
from telemetry.model import Availability
from telemetry.notices import SinkStatus
from telemetry.outputs import OutputStatus
from telemetry.pipeline import TickPoint
from telemetry.sources import SourceStatus

# A point on the wire: [ts, value], or [ts, value, min, max] for several readings.
Point = list[float]


def point(p: TickPoint) -> Point:
    """A series' readings within one tick: their last value, with min and max when
    there were several."""
    if p.count == 1 and p.low == p.value == p.high:
        return [p.ts, p.value]
    return [p.ts, p.value, p.low, p.high]


def series(entry: CatalogEntry, now: float | None = None) -> dict[str, object]:
    """A series in the catalog; with `now`, its age too (seconds since its last point)."""
    out: dict[str, object] = {
        "id": entry.id,
        "name": entry.name,
        "device": entry.device,
        "sensor": entry.sensor,
        "unit": entry.unit,
        "kind": entry.kind,
        "source": entry.source,
        "sources": list(entry.sources),
        "last_value": entry.last_value,
        "last_ts": entry.last_ts,
        "count": entry.count,
        "stale": entry.stale,
        "hide": entry.hide,
        "chart": entry.chart,
    }
    if now is not None:
        out["age"] = round(max(0.0, now - entry.last_ts), 3)
    return out


def source(status: SourceStatus) -> dict[str, object]:
    return {
        "name": status.name,
        "kind": status.kind,
        "state": status.state,
        "since": status.since,
        "last_error": status.last_error,
        "next_attempt": status.next_attempt,
        "received": status.received,
        "reconnects": status.reconnects,
        "rejected": dict(status.rejected),
    }


def alert_state(change: Change) -> dict[str, object]:
    """One rule on one series (a reader rule: on one reader): its state since when."""
    return {
        "rule": change.rule,
        "series": change.series,
        "condition": change.condition,
        "state": change.state,
        "previous": change.previous,
        "since": change.since,
        "value": change.value,
    }


def sink(status: SinkStatus) -> dict[str, object]:
    """One `[[notify]]` sink's counters (`GET /api/alerts`, `GET /api/series`): name,
    type, sent, failed, dropped, queued, failing, last_error."""
    return dataclasses.asdict(status)


def output(status: OutputStatus) -> dict[str, object]:
    """One `[output.*]` output's state and counters (`GET /api/series`): name, type,
    state, sent, failed, dropped, queued, last_error."""
    return dataclasses.asdict(status)


def alerts_answer(alerts: Alerts, sinks: Sequence[SinkStatus] = ()) -> dict[str, object]:
    """`GET /api/alerts`: every rule's state on every series it watches, the last
    changes, oldest first, and the sinks' counters."""
    return {
        "states": [alert_state(s) for s in alerts.states()],
        "changes": [alert_state(c) for c in alerts.changes],
        "refused": alerts.refused,
        "sinks": [sink(s) for s in sinks],
    }


def page(config: PageConfig) -> dict[str, object]:
    """`GET /api/page`: the page's defaults from `[page]`."""
    return {"range": config.range, "series": list(config.series), "group": config.group}


def device(availability: Availability) -> dict[str, object]:
    return {"device": availability.device, "online": availability.online, "since": availability.ts}


# -- the stream's events ---------------------------------------------------------------


def retry(milliseconds: int) -> bytes:
    return sse.retry(milliseconds)


def ping() -> bytes:
    return sse.comment("ping")


def hello(boot: str, tick: float, max_series: int, backlog: int) -> bytes:
    data = {
        "server": "telemetry",
        "version": __version__,
        "boot": boot,
        "tick": round(tick * 1000),
        "limits": {"max_series": max_series, "backlog": backlog},
    }
    return sse.event("hello", data)


def catalog(
    entries: Iterable[CatalogEntry],
    sources: Iterable[SourceStatus],
    devices: Iterable[Availability],
    now: float,
) -> bytes:
    """The whole catalog, as a stream opens or catches up."""
    data = {
        "full": True,
        "series": [series(e, now) for e in entries],
        "sources": [source(s) for s in sources],
        "devices": [device(a) for a in devices],
    }
    return sse.event("catalog", data)


def catalog_changes(entries: Iterable[CatalogEntry], removed: Sequence[str] = ()) -> bytes:
    """Series that are new or changed (unit, stale flag) since the last frame, and
    (`removed`, only when there are any) the ids of series deleted since."""
    data: dict[str, object] = {"full": False, "series": [series(e) for e in entries]}
    if removed:
        data["removed"] = list(removed)
    return sse.event("catalog", data)


def readings(t: float, points: Mapping[str, Point], cursor: str) -> bytes:
    """One frame: the server's time and one point per series; `cursor` resumes after it."""
    return sse.event("readings", {"t": t, "series": points}, cursor)


def status(sources: Iterable[SourceStatus] = (), devices: Iterable[Availability] = ()) -> bytes:
    """Readers and devices whose state changed; empty bytes when none did."""
    data: dict[str, object] = {}
    changed = [source(s) for s in sources]
    if changed:
        data["sources"] = changed
    online = [device(a) for a in devices]
    if online:
        data["devices"] = online
    return sse.event("status", data) if data else b""


def alert(changes: Iterable[Change], *, full: bool = False) -> bytes:
    """Alert states that changed since the last frame (empty bytes when none did); with
    `full`, every state not ok now: the client's whole set, replaced."""
    listed = [alert_state(c) for c in changes]
    if not listed and not full:
        return b""
    return sse.event("alert", {"full": full, "alerts": listed})


def shutdown() -> bytes:
    """The last event of every stream when the server stops."""
    return sse.event("status", {"server": "shutdown"})


def reset(reason: str) -> bytes:
    """The cursor cannot be resumed (`malformed`, `restarted`, `unknown`, `expired`):
    the page refetches history."""
    return sse.event("reset", {"reason": reason})
