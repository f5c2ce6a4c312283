"""`GET /healthz`: 200 when all is well, 503 with what is not.

Healthy means every configured reader is connected, no `[[notify]]` sink's last
attempt failed, no `[output.*]` output (nor the `[record]` recording) is failing,
and no series has gone stale (no reading for longer than its limit: the `stale`
filter's, or the one derived from its own rhythm).  The body names each problem:

    {"status": "ok" | "degraded",
     "problems": [{"source", "state", "since", "last_error"}, ...],  # readers
     "sinks": [{"sink", "type", "last_error", "queued"}, ...],  # failing [[notify]] sinks
     "outputs": [{"output", "type", "state", "last_error", "queued", "dropped"}, ...],
     "stale_series": {"count": N, "series": [{"id", "last_ts", "age"}, ...]}}

`problems` lists the readers, as it always has.  Stale series are listed the
longest silent first and at most `STALE_SHOWN` of them, with the full count,
so a site where hundreds of devices went quiet still gets a short answer.  A
series id is a device string: here it is JSON text, which is safe to carry.
"""

from __future__ import annotations

import heapq
import time
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from telemetry.runtime import Runtime

STALE_SHOWN = 20


def health(runtime: Runtime, now: float | None = None) -> dict[str, object]:
    now = time.time() if now is None else now
    counters = runtime.counters()
    readers = [
        {"source": s.name, "state": s.state, "since": s.since, "last_error": s.last_error}
        for s in counters.sources
        if s.state != "connected"
    ]
    stale = counters.stale
    shown = heapq.nsmallest(STALE_SHOWN, stale, key=lambda info: info.last_ts)
    sinks = [
        {"sink": s.name, "type": s.type, "last_error": s.last_error, "queued": s.queued}
        for s in counters.sinks
        if s.failing
    ]
    outputs = [
        {
            "output": o.name,
            "type": o.type,
            "state": o.state,
            "last_error": o.last_error,
            "queued": o.queued,
            "dropped": o.dropped,
        }
        for o in counters.outputs
        if o.state == "failing"
    ]
    return {
        "status": "degraded" if readers or stale or sinks or outputs else "ok",
        "problems": readers,
        "sinks": sinks,
        "outputs": outputs,
        "stale_series": {
            "count": len(stale),
            "series": [
                {
                    "id": info.id,
                    "last_ts": info.last_ts,
                    "age": round(max(0.0, now - info.last_ts), 3),
                }
                for info in shown
            ],
        },
    }


def health_endpoint(runtime: Runtime) -> Callable[[Request], Awaitable[Response]]:
    """The `/healthz` handler for one runtime."""

    async def healthz(request: Request) -> Response:
        body = health(runtime)
        return JSONResponse(
            body,
            status_code=200 if body["status"] == "ok" else 503,
            headers={"Cache-Control": "no-store"},
        )

    return healthz
