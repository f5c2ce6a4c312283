"""`GET /metrics`: the runtime's counters in the Prometheus text format.

The numbers are one snapshot of the runtime's counters (`telemetry.counters`),
taken when Prometheus scrapes: nothing is counted twice.  Each app
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
  - `kind` (`mqtt`, `serial`, `sim`), `state` (the fixed `State` set; for
    `telemetry_alerts`, the alert states `ok`, `pending`, `firing`, `resolved`),
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
telemetry_series_deleted_total          counter  -
telemetry_sse_clients                   gauge    -
telemetry_sse_frames_total              counter  -
telemetry_sse_resumed_total             counter  -
telemetry_sse_resets_total              counter  reason
telemetry_sse_coalesced_total           counter  -
telemetry_sse_cut_total                 counter  -
telemetry_sse_refused_total             counter  reason
telemetry_http_errors_total             counter  -
telemetry_event_loop_lag_seconds        gauge    -
telemetry_event_loop_lag_max_seconds    gauge    -
telemetry_event_loop_tasks              gauge    -
telemetry_history_bytes                 gauge    -
telemetry_history_points                gauge    -
telemetry_alerts                        gauge    state
telemetry_alert_states_refused_total    counter  -

One opt-in exception to the rule above: `[output.prometheus] match = [...]` (off by
default) exposes the last value of each matching series as
`telemetry_reading{device, sensor, unit}` (unit empty when the series has none),
at most `max_series` of them (the first created first); how many more matched is
`telemetry_reading_series_over_cap`.  Those label values are the devices'
names: prometheus_client escapes a backslash, a quote and a newline in them, so
a name can shape no other label or line, and the cap bounds their number.
"""

from __future__ import annotations

import asyncio
import fnmatch
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from typing import get_args

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.metrics_core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import CollectorRegistry
from starlette.requests import Request
from starlette.responses import Response

from telemetry.counters import Counters, Streams
from telemetry.remember import Remembered
from telemetry.runtime import Runtime
from telemetry.sources import State

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


def _by_reason(name: str, doc: str, counts: Mapping[str, int], known: Iterable[str]) -> Metric:
    family = CounterMetricFamily(name, doc, labels=["reason"])
    for reason in sorted(set(known) | set(counts)):
        family.add_metric([reason], counts.get(reason, 0))
    return family


class RuntimeCollector:
    """A `prometheus_client` collector over one runtime's counters (one snapshot a scrape)."""

    def __init__(self, runtime: Runtime, http_errors: Callable[[], int]) -> None:
        self.runtime = runtime
        self.http_errors = http_errors
        # series id: matched by [output.prometheus]
        self._matches: Remembered[str, bool] = Remembered()

    def _readings(self) -> Iterator[Metric]:
        """`[output.prometheus]`: the last values of the matching series, capped."""
        cfg = self.runtime.config.output.prometheus
        if cfg is None:
            return
        family = GaugeMetricFamily(
            "telemetry_reading",
            "The last value of each series [output.prometheus] matches (a state: 1 or 0)",
            labels=["device", "sensor", "unit"],
        )
        memo, shown, over = self._matches, 0, 0
        for e in self.runtime.pipeline.store.entries():
            hit = memo.get(e.id)
            if hit is None:
                hit = memo[e.id] = any(fnmatch.fnmatchcase(e.id, p) for p in cfg.match)
            if not hit:
                continue
            if shown >= cfg.max_series:
                over += 1
                continue
            family.add_metric([e.device, e.sensor, e.unit or ""], e.last_value)
            shown += 1
        yield family
        yield _gauge(
            "telemetry_reading_series_over_cap",
            "Series [output.prometheus] matches beyond its max_series, left out of "
            "telemetry_reading at this scrape",
            over,
        )

    def collect(self) -> Iterator[Metric]:
        c = self.runtime.counters()
        yield from _ingest(c)
        yield from _readers(c)
        yield from _series(c)
        yield from _streams(c.streams)
        yield from _alerts(c)
        yield from self._readings()
        yield _counter(
            "telemetry_http_errors",
            "Requests whose handler failed, answered 400 (see the log, one line a minute)",
            self.http_errors(),
        )
        yield _gauge(
            "telemetry_event_loop_lag_seconds",
            "How late the event loop ran the latest timer (measured every two seconds)",
            c.loop_lag,
        )
        yield _gauge(
            "telemetry_event_loop_lag_max_seconds",
            "The largest event loop lag measured over the last minute",
            c.loop_lag_max,
        )
        # Counted at scrape time (a set's length): a task left behind by a stream
        # or a request shows here as a count that does not come back down.
        yield _gauge(
            "telemetry_event_loop_tasks",
            "asyncio tasks alive on the server's event loop (this scrape's own included)",
            len(asyncio.all_tasks()),
        )


def _ingest(c: Counters) -> Iterator[Metric]:
    yield _counter(
        "telemetry_messages_received",
        "Messages the readers handed to the inbox (one message may hold several readings)",
        c.received,
    )
    yield _counter(
        "telemetry_readings_stored",
        "Readings that passed normalization and the series' filters "
        "(stored, or held in a throttle window)",
        c.accepted,
    )
    yield _counter(
        "telemetry_inbox_dropped",
        "Messages dropped, the oldest first, because the inbox was full",
        c.inbox_dropped,
    )
    rejected = CounterMetricFamily(
        "telemetry_rejected",
        "Messages and readings rejected, by reader (empty: after normalization) and reason",
        labels=["source", "reason"],
    )
    for (source, reason), count in sorted(c.rejected_everywhere.items()):
        rejected.add_metric([source, reason], count)
    yield rejected


def _readers(c: Counters) -> Iterator[Metric]:
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
    for status in c.sources:
        for name in STATES:
            state.add_metric([status.name, status.kind, name], float(status.state == name))
        reconnects.add_metric([status.name, status.kind], status.reconnects)
        received.add_metric([status.name, status.kind], status.received)
    yield from (state, reconnects, received)


def _series(c: Counters) -> Iterator[Metric]:
    yield _gauge("telemetry_series", "Series known", c.series)
    yield _gauge(
        "telemetry_series_stale",
        "Series with no reading for longer than their stale limit",
        len(c.stale),
    )
    yield _counter(
        "telemetry_series_refused",
        "New series refused because the series limit was reached",
        c.refused_series,
    )
    yield _counter(
        "telemetry_series_deleted",
        "Series deleted with their history (DELETE /api/series/{id})",
        c.deleted_series,
    )
    yield _gauge("telemetry_history_bytes", "Bytes held by the history's arrays", c.history_bytes)
    yield _gauge(
        "telemetry_history_points",
        "Raw points held in the history's rings (rollup buckets not counted)",
        c.history_points,
    )


def _alerts(c: Counters) -> Iterator[Metric]:
    states = GaugeMetricFamily(
        "telemetry_alerts",
        "[[alert]] rules' states, one per rule and series (or reader), by state",
        labels=["state"],
    )
    for state, count in c.alerts.items():
        states.add_metric([state], count)
    yield states
    yield _counter(
        "telemetry_alert_states_refused",
        "Series (or readers) an [[alert]] rule does not watch: the limit of states was reached",
        c.alerts_refused,
    )
    yield from _sinks(c)
    yield from _outputs(c)


def _sinks(c: Counters) -> Iterator[Metric]:
    families = {
        "sent": CounterMetricFamily(
            "telemetry_notify_sent", "Alert notices a [[notify]] sink delivered", labels=["sink"]
        ),
        "failed": CounterMetricFamily(
            "telemetry_notify_failed",
            "Attempts to deliver an alert notice that failed (each retry counts), by sink",
            labels=["sink"],
        ),
        "dropped": CounterMetricFamily(
            "telemetry_notify_dropped",
            "Alert notices dropped: the sink's queue was full, or they were given up",
            labels=["sink"],
        ),
    }
    queued = GaugeMetricFamily(
        "telemetry_notify_queued", "Alert notices waiting in a sink's queue", labels=["sink"]
    )
    failing = GaugeMetricFamily(
        "telemetry_notify_failing", "1 while a sink's last attempt failed", labels=["sink"]
    )
    for s in c.sinks:
        families["sent"].add_metric([s.name], s.sent)
        families["failed"].add_metric([s.name], s.failed)
        families["dropped"].add_metric([s.name], s.dropped)
        queued.add_metric([s.name], s.queued)
        failing.add_metric([s.name], int(s.failing))
    yield from families.values()
    yield queued
    yield failing


def _streams(s: Streams) -> Iterator[Metric]:
    yield _gauge("telemetry_sse_clients", "Open /events streams", s.clients)
    yield _counter(
        "telemetry_sse_frames",
        "Frames encoded for the streams (one per tick and distinct subscription)",
        s.frames,
    )
    yield _counter(
        "telemetry_sse_resumed",
        "Streams resumed from Last-Event-ID with exactly what they missed",
        s.resumed,
    )
    yield _by_reason(
        "telemetry_sse_resets",
        "Streams sent a reset (their cursor could not be resumed), by reason",
        s.resets,
        RESET_REASONS,
    )
    yield _counter(
        "telemetry_sse_coalesced",
        "Frames merged into catch-up chunks for clients that fell behind",
        s.coalesced,
    )
    yield _counter(
        "telemetry_sse_cut",
        "Streams cut because the client read nothing within the send timeout",
        s.cut,
    )
    yield _by_reason(
        "telemetry_sse_refused",
        "Stream connections refused, by reason",
        s.refused,
        REFUSED_REASONS,
    )


def metrics_endpoint(
    runtime: Runtime, http_errors: Callable[[], int]
) -> Callable[[Request], Awaitable[Response]]:
    """The `/metrics` handler for one app, over a registry of its own."""
    registry = CollectorRegistry()
    registry.register(RuntimeCollector(runtime, http_errors))

    async def metrics(request: Request) -> Response:
        return Response(
            generate_latest(registry),
            media_type=CONTENT_TYPE_LATEST,
            headers={"Cache-Control": "no-store"},
        )

    return metrics


def _outputs(c: Counters) -> Iterator[Metric]:
    label = ["output", "type"]
    families = {
        "sent": CounterMetricFamily(
            "telemetry_output_sent", "Points an [output.*] output delivered", labels=label
        ),
        "failed": CounterMetricFamily(
            "telemetry_output_failed",
            "Attempts to deliver that failed (each retry counts), by output",
            labels=label,
        ),
        "dropped": CounterMetricFamily(
            "telemetry_output_dropped",
            "Points an output dropped: its buffer was full, or the server stopped",
            labels=label,
        ),
    }
    queued = GaugeMetricFamily(
        "telemetry_output_queued", "Points waiting in an output's buffer", labels=label
    )
    failing = GaugeMetricFamily(
        "telemetry_output_failing", "1 while an output is failing", labels=label
    )
    for o in c.outputs:
        families["sent"].add_metric([o.name, o.type], o.sent)
        families["failed"].add_metric([o.name, o.type], o.failed)
        families["dropped"].add_metric([o.name, o.type], o.dropped)
        queued.add_metric([o.name, o.type], o.queued)
        failing.add_metric([o.name, o.type], int(o.state == "failing"))
    yield from families.values()
    yield queued
    yield failing
