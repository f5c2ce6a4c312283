"""What an alert sink sends, and what a sink reports: the wire shapes of a notice.

A `Notice` is an alert's change as it leaves the engine (`Alerts.take_notices`),
with the series' unit for the message text.  Each shape on the wire is built in
one function here: `payload` (a webhook's JSON body, an MQTT message), `topic`
(the MQTT topic per rule and series), `ntfy` (ntfy's body and headers).  The
sinks themselves (queues, threads, HTTP, paho) are in `devices.sinks`; the core
knows them only as a `Notifier`.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from telemetry.alerts import FIRING, RESOLVED, Change

# ntfy's tags become emoji on the phone (https://docs.ntfy.sh/emojis/).
NTFY_TAGS = {FIRING: "warning", RESOLVED: "white_check_mark"}


@dataclass(frozen=True, slots=True)
class Notice:
    change: Change
    unit: str | None = None


@dataclass(frozen=True, slots=True)
class SinkStatus:
    """One sink's counters, as `/api/alerts`, `/metrics` and `/healthz` show them."""

    name: str
    type: str
    sent: int
    failed: int  # attempts that failed (each retry counts)
    dropped: int  # notices discarded: the queue was full, or the server stopped
    queued: int
    failing: bool  # the last attempt failed
    last_error: str | None


class Notifier(Protocol):
    """The sinks, as the runtime sees them."""

    def submit(self, notices: Sequence[Notice]) -> None: ...
    def statuses(self) -> list[SinkStatus]: ...
    def stop(self, timeout: float) -> None: ...


def iso_time(epoch: float) -> str:
    return (
        dt.datetime.fromtimestamp(epoch, dt.UTC)
        .isoformat(timespec="seconds")
        .replace("+00:00", "Z")
    )


def payload(notice: Notice) -> bytes:
    """A webhook's body and an MQTT message: `{"rule", "series", "state", "value",
    "time", "since", "unit"}`, `time` ISO 8601 UTC, `since` epoch seconds."""
    c = notice.change
    return json.dumps(
        {
            "rule": c.rule,
            "series": c.series,
            "state": c.state,
            "value": c.value,
            "unit": notice.unit,
            "time": iso_time(c.since),
            "since": c.since,
        },
        ensure_ascii=False,
        allow_nan=False,
    ).encode()


def topic(base: str, notice: Notice) -> str:
    """`<base>/<rule>/<series id>`; a series id's own `/` levels are kept, and the
    wildcards a subscriber would misread are replaced."""
    c = notice.change
    series = c.series.replace("+", "_").replace("#", "_")
    return f"{base}/{c.rule}/{series}"


def message(notice: Notice) -> str:
    """`plug-overload: plug/power 2400 W`, `freezer-warm: freezer/temperature resolved
    at -17.5 °C`, `sensor-silent: garden/temp no reading`."""
    c = notice.change
    firing = c.state == FIRING
    if c.condition == "stale":
        what = " no reading" if firing else " reading again"
    elif c.condition == "reader":
        what = " not connected" if firing else " connected again"
    else:
        what = "" if firing else f" {c.state} at"
        if c.value is not None:
            what += f" {c.value:g}" + (f" {notice.unit}" if notice.unit else "")
    return f"{c.rule}: {c.series}{what}"


def ntfy(notice: Notice, priority: str | None) -> tuple[bytes, dict[str, str]]:
    """ntfy's format: the message as the body, title, priority and tags as headers.
    Header values must be ASCII-safe for http.client: non-ASCII goes out as ntfy's
    RFC 2047 form (`=?UTF-8?B?...?=`), which ntfy decodes."""
    c = notice.change
    title = f"{c.rule} {'resolved' if c.state == RESOLVED else c.state}"
    headers = {"Title": _header(title), "Tags": NTFY_TAGS.get(c.state, "bell")}
    if priority is not None:
        headers["Priority"] = priority
    return message(notice).encode(), headers


def _header(text: str) -> str:
    if text.isascii() and text.isprintable():
        return text
    return f"=?UTF-8?B?{base64.b64encode(text.encode()).decode()}?="
