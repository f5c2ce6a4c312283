"""`GET /metrics`: the runtime's counters in the Prometheus text format.

The numbers are the ones the runtime already keeps (the inbox's, the pipeline's,
the store's, the hub's, each reader's status, the stream's cut count, the loop
lag monitor), read when Prometheus scrapes: nothing is counted twice.  Each app
gets its own `CollectorRegistry`, never the library's global one, so several
servers in one process (the tests) do not clash, and nothing happens at import.
The collector runs on the event loop, the one thread that changes those
counters, so a scrape never sees a dict change size under it.

No label ever carries a device-supplied string (a series id, a device or sensor
name, a topic): their number is up to the devices, and a label with a quote or
a newline from a device would be theirs to shape.  Labels hold only
  - `source`: a reader's name from the configuration (empty for a rejection
    made after normalization, which is not attributed to a reader: a filter, a
    limit, a duplicate point),
  - `kind` (`mqtt`, `serial`, `sim`), `state` (the fixed `State` set),
  - `reason`: a literal from the code (`not_a_number`, `too_many_clients`, ...).

Metric                                  type     labels
telemetry_messages_received_total       counter  -
telemetry_readings_stored_total         counter  -
telemetry_inbox_dropped_total           counter  -
telemetry_rejected_total                counter  source, reason
telemetry_reader_state                  gauge    source, kind, state
telemetry_reader_reconnects_total       counter  source, kind
telemetry_reader_received_total         counter  source, kind
telemetry_series                        gauge    -
telemetry_series_stale                  gauge    -
telemetry_series_refused_total          counter  -
telemetry_sse_clients                   gauge    -
telemetry_sse_frames_total              counter  -
telemetry_sse_resumed_total             counter  -
telemetry_sse_resets_total              counter  reason
telemetry_sse_coalesced_total           counter  -
telemetry_sse_cut_total                 counter  -
telemetry_sse_refused_total             counter  reason
telemetry_event_loop_lag_seconds        gauge    -
telemetry_event_loop_lag_max_seconds    gauge    -
telemetry_event_loop_tasks              gauge    -
telemetry_history_bytes                 gauge    -
telemetry_history_points                gauge    -
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import get_args

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry
from starlette.requests import Request
from starlette.responses import Response

from telemetry.runtime import Runtime
from telemetry.sources import State
from web.events import EventStream

STATES: tuple[str, ...] = get_args(State)
# Reasons the hub can give; listed so that their series exist at 0 from the start
# (a counter that appears only at its first increment hides that first increment
# from `rate()`).  Reasons added to the hub later still show, once counted.
RESET_REASONS = ("malformed", "restarted", "unknown", "expired")
REFUSED_REASONS = ("shutdown", "too_many_clients", "too_many_from_host")


def _counter(name: str, doc: str, value: float) -> CounterMetricFamily:
    return CounterMetricFamily(name, doc, value=value)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _by_reason(name: str, doc: str, counts: Counter[str], known: Iterable[str]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=["reason"])
    for reason in sorted(set(known) | set(counts)):
        family.add_metric([reason], counts[reason])
    return family


class RuntimeCollector:
    """A `prometheus_client` collector over one runtime and its event stream."""

    def __init__(self, runtime: Runtime, stream: EventStream) -> None:
        self.runtime = runtime
        self.stream = stream

    def collect(self) -> Iterator[Metric]:
        yield from self._ingest()
        yield from self._readers()
        yield from self._series()
        yield from self._streams()
        lag = self.runtime.looplag
        yield _gauge(
            "telemetry_event_loop_lag_seconds",
            "How late the event loop ran the latest timer (measured every 0.5 s)",
            lag.last,
        )
        yield _gauge(
            "telemetry_event_loop_lag_max_seconds",
            "The largest event loop lag measured over the last minute",
            lag.worst,
        )
        # Counted at scrape time (a set's length): a task left behind by a stream
        # or a request shows here as a count that does not come back down.
        yield _gauge(
            "telemetry_event_loop_tasks",
            "asyncio tasks alive on the server's event loop (this scrape's own included)",
            len(asyncio.all_tasks()),
        )

    def _ingest(self) -> Iterator[Metric]:
        runtime = self.runtime
        inbox, pipeline = runtime.inbox, runtime.pipeline
        yield _counter(
            "telemetry_messages_received",
            "Messages the readers handed to the inbox (one message may hold several readings)",
            inbox.received,
        )
        yield _counter(
            "telemetry_readings_stored",
            "Readings that passed normalization and the series' filters "
            "(stored, or held in a throttle window)",
            pipeline.accepted,
        )
        yield _counter(
            "telemetry_inbox_dropped",
            "Messages dropped, the oldest first, because the inbox was full",
            inbox.dropped,
        )
        counts: Counter[tuple[str, str]] = Counter(pipeline.rejected_by_source)
        attributed: Counter[str] = Counter()
        for (_, reason), count in pipeline.rejected_by_source.items():
            attributed[reason] += count
        for reason, count in pipeline.rejected.items():
            if count > attributed[reason]:  # after normalization: no reader to name
                counts["", reason] += count - attributed[reason]
        for status in runtime.statuses():  # skipped by the reader itself, before the inbox
            for reason, count in status.rejected:
                counts[status.name, reason] += count
        rejected = CounterMetricFamily(
            "telemetry_rejected",
            "Messages and readings rejected, by reader (empty: after normalization) and reason",
            labels=["source", "reason"],
        )
        for (source, reason), count in sorted(counts.items()):
            rejected.add_metric([source, reason], count)
        yield rejected

    def _readers(self) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            "telemetry_reader_state",
            "1 for each reader's current state, 0 for the others",
            labels=["source", "kind", "state"],
        )
        reconnects = CounterMetricFamily(
            "telemetry_reader_reconnects",
            "Failed connection attempts and lost connections per reader",
            labels=["source", "kind"],
        )
        received = CounterMetricFamily(
            "telemetry_reader_received",
            "Messages each reader handed over",
            labels=["source", "kind"],
        )
        for status in self.runtime.statuses():
            for name in STATES:
                state.add_metric([status.name, status.kind, name], float(status.state == name))
            reconnects.add_metric([status.name, status.kind], status.reconnects)
            received.add_metric([status.name, status.kind], status.received)
        yield from (state, reconnects, received)

    def _series(self) -> Iterator[Metric]:
        store = self.runtime.pipeline.store
        series = store.series.values()
        yield _gauge("telemetry_series", "Series known", len(series))
        yield _gauge(
            "telemetry_series_stale",
            "Series with no reading for longer than their stale limit",
            sum(1 for info in series if info.stale),
        )
        yield _counter(
            "telemetry_series_refused",
            "New series refused because the series limit was reached",
            store.refused_series,
        )
        yield _gauge(
            "telemetry_history_bytes", "Bytes held by the history's arrays", store.nbytes()
        )
        yield _gauge(
            "telemetry_history_points",
            "Raw points held in the history's rings (rollup buckets not counted)",
            sum(len(info.ring) for info in series),
        )

    def _streams(self) -> Iterator[Metric]:
        hub = self.runtime.hub
        yield _gauge("telemetry_sse_clients", "Open /events streams", len(hub.clients))
        yield _counter(
            "telemetry_sse_frames",
            "Frames encoded for the streams (one per tick and distinct subscription)",
            hub.frames,
        )
        yield _counter(
            "telemetry_sse_resumed",
            "Streams resumed from Last-Event-ID with exactly what they missed",
            hub.resumed,
        )
        yield _by_reason(
            "telemetry_sse_resets",
            "Streams sent a reset (their cursor could not be resumed), by reason",
            hub.resets,
            RESET_REASONS,
        )
        yield _counter(
            "telemetry_sse_coalesced",
            "Frames merged into catch-up chunks for clients that fell behind",
            hub.coalesced + sum(client.coalesced for client in hub.clients),
        )
        yield _counter(
            "telemetry_sse_cut",
            "Streams cut because the client read nothing within the send timeout",
            self.stream.cut,
        )
        yield _by_reason(
            "telemetry_sse_refused",
            "Stream connections refused, by reason",
            hub.refused,
            REFUSED_REASONS,
        )


def metrics_endpoint(
    runtime: Runtime, stream: EventStream
) -> Callable[[Request], Awaitable[Response]]:
    """The `/metrics` handler for one app, over a registry of its own."""
    registry = CollectorRegistry()
    registry.register(RuntimeCollector(runtime, stream))

    async def metrics(request: Request) -> Response:
        return Response(
            generate_latest(registry),
            media_type=CONTENT_TYPE_LATEST,
            headers={"Cache-Control": "no-store"},
        )

    return metrics
