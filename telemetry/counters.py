"""One read-only snapshot of the running server's counters.

`GET /api/series`, `GET /metrics` and `GET /healthz` each take one `Counters`
(`Runtime.counters()`) and show it their own way; none of them reads the
inbox, the pipeline, the store or the hub directly, and totals derived from
several counters are worked out here, once.  Taking a snapshot changes
nothing; it runs on the event loop, where those counters are written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from telemetry.handoff import Inbox
from telemetry.history import CatalogEntry
from telemetry.hub import Hub
from telemetry.looplag import LoopLag
from telemetry.notices import SinkStatus
from telemetry.outputs import OutputStatus
from telemetry.pipeline import Pipeline
from telemetry.sources import SourceStatus


@dataclass(frozen=True, slots=True)
class Streams:
    clients: int
    frames: int
    resumed: int
    resets: dict[str, int]
    coalesced: int  # frames merged for clients that fell behind, gone ones included
    cut: int
    refused: dict[str, int]


@dataclass(frozen=True, slots=True)
class Counters:
    received: int  # messages the readers handed to the inbox
    inbox_dropped: int
    accepted: int  # readings past normalization and filters
    rejected: dict[str, int]  # by reason, as the pipeline counted them
    rejected_by_source: dict[str, dict[str, int]]  # the pipeline's, by reader then reason
    # Every rejection by (reader, reason): the pipeline's, those made after
    # normalization under the reader "" (a filter, a limit), and what readers
    # skipped themselves before the inbox.
    rejected_everywhere: dict[tuple[str, str], int]
    sources: tuple[SourceStatus, ...]
    series: int
    stale: tuple[CatalogEntry, ...]
    refused_series: int
    deleted_series: int
    history_bytes: int
    history_points: int
    streams: Streams
    loop_lag: float
    loop_lag_max: float
    alerts: dict[str, int]  # alert watches by state (ok, pending, firing, resolved)
    alerts_refused: int  # alert watches not made: the cap was reached
    sinks: tuple[SinkStatus, ...] = ()  # the [[notify]] sinks' counters
    outputs: tuple[OutputStatus, ...] = ()  # the [output.*] outputs' states and counters


def take(
    inbox: Inbox,
    pipeline: Pipeline,
    hub: Hub,
    sources: Sequence[SourceStatus],
    looplag: LoopLag,
    *,
    sinks: Sequence[SinkStatus] = (),
    outputs: Sequence[OutputStatus] = (),
) -> Counters:
    store = pipeline.store
    by_source: dict[str, dict[str, int]] = {}
    for (source, reason), count in pipeline.rejected_by_source.items():
        by_source.setdefault(source, {})[reason] = count
    everywhere: Counter[tuple[str, str]] = Counter(pipeline.rejected_by_source)
    attributed: Counter[str] = Counter()
    for (_, reason), count in pipeline.rejected_by_source.items():
        attributed[reason] += count
    for reason, count in pipeline.rejected.items():
        if count > attributed[reason]:  # after normalization: no reader to name
            everywhere["", reason] += count - attributed[reason]
    for status in sources:  # skipped by the reader itself, before the inbox
        for reason, count in status.rejected:
            everywhere[status.name, reason] += count
    streams = Streams(
        clients=len(hub.clients),
        frames=hub.frames,
        resumed=hub.resumed,
        resets=dict(hub.resets),
        coalesced=hub.coalesced + sum(c.coalesced for c in hub.clients),
        cut=hub.cut,
        refused=dict(hub.refused),
    )
    return Counters(
        received=inbox.received,
        inbox_dropped=inbox.dropped,
        accepted=pipeline.accepted,
        rejected=dict(pipeline.rejected),
        rejected_by_source=by_source,
        rejected_everywhere=dict(everywhere),
        sources=tuple(sources),
        series=len(store.series),
        stale=tuple(e for e in store.entries() if e.stale),
        refused_series=store.refused_series,
        deleted_series=pipeline.deleted,
        history_bytes=store.nbytes(),
        history_points=sum(s.raw_count for s in store.series.values()),
        streams=streams,
        loop_lag=looplag.last,
        loop_lag_max=looplag.worst,
        alerts=pipeline.alerts.tally(),
        alerts_refused=pipeline.alerts.refused,
        sinks=tuple(sinks),
        outputs=tuple(outputs),
    )
