"""Server-Sent Events encoding: pure functions from values to wire bytes.

Data is one line of JSON: `json.dumps` escapes every control character inside
strings, so no device string can end a field or add one.  Non-finite numbers
are refused (`allow_nan=False`): a `NaN` in the stream would break the page's
`JSON.parse`.  Event names and ids come from the server, never from devices,
and are checked anyway.
"""

from __future__ import annotations

import json
import re

_TOKEN = re.compile(r"[A-Za-z0-9_.:-]+")


def encode_json(data: object) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def event(name: str, data: object, event_id: str | None = None) -> bytes:
    """One complete event: `id:` (when given), `event:`, `data:` and the blank line."""
    if not _TOKEN.fullmatch(name) or (event_id is not None and not _TOKEN.fullmatch(event_id)):
        raise ValueError(f"event name {name!r} or id {event_id!r} is not a plain token")
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {name}\ndata: {encode_json(data)}\n\n".encode()


def comment(text: str = "ping") -> bytes:
    return f": {text}\n\n".encode()


def retry(milliseconds: int) -> bytes:
    return f"retry: {int(milliseconds)}\n\n".encode()
