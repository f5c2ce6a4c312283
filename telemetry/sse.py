"""Server-Sent Events encoding: pure functions from values to wire bytes.

Data is one line of JSON, written by orjson (every frame is encoded once, but
there is one a tick): it escapes every control character inside strings, so no
device string can end a field or add one.  Non-finite numbers are refused: a
`NaN` in the stream would break the page's `JSON.parse`.  orjson writes them as
`null` instead of refusing them, so data whose JSON holds a `null` is encoded
again by the standard library (`allow_nan=False`), which refuses them; a
`readings` frame holds none.  Event names and ids come from the server, never
from devices, and are checked anyway.
"""

from __future__ import annotations

import json
import re

import orjson

_TOKEN = re.compile(r"[A-Za-z0-9_.:-]+")


def encode_json(data: object) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def encode_json_bytes(data: object) -> bytes:
    """`encode_json(data)` as UTF-8, by orjson when that cannot have hidden a non-finite
    number (its JSON holds no `null`) and it took the data (plain types, valid UTF-8)."""
    try:
        out = orjson.dumps(data)
    except orjson.JSONEncodeError:
        return encode_json(data).encode()
    return encode_json(data).encode() if b"null" in out else out


def event(name: str, data: object, event_id: str | None = None) -> bytes:
    """One complete event: `id:` (when given), `event:`, `data:` and the blank line."""
    if not _TOKEN.fullmatch(name) or (event_id is not None and not _TOKEN.fullmatch(event_id)):
        raise ValueError(f"event name {name!r} or id {event_id!r} is not a plain token")
    head = f"id: {event_id}\n" if event_id is not None else ""
    return b"%sevent: %s\ndata: %s\n\n" % (head.encode(), name.encode(), encode_json_bytes(data))


def comment(text: str = "ping") -> bytes:
    return f": {text}\n\n".encode()


def retry(milliseconds: int) -> bytes:
    return f"retry: {int(milliseconds)}\n\n".encode()
