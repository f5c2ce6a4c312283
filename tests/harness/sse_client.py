"""A small Server-Sent-Events client over a real socket, for tests.

It parses the wire format itself (rather than trusting a library), so the
tests check exactly what a browser's EventSource would receive.
"""

from __future__ import annotations

import http.client
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Event:
    name: str = "message"
    data: str = ""
    id: str | None = None
    comments: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.data)


class SSEClient:
    def __init__(self, url: str, headers: dict[str, str] | None = None, timeout: float = 5.0):
        parts = urlsplit(url)
        assert parts.hostname is not None
        self.conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.conn.request("GET", path, headers={"Accept": "text/event-stream", **(headers or {})})
        self.response = self.conn.getresponse()
        self.status = self.response.status
        self.headers = {k.lower(): v for k, v in self.response.getheaders()}
        self._buffer = b""
        self.retry: int | None = None
        self.comments: list[str] = []

    def _lines(self) -> bytes | None:
        while True:
            idx = self._buffer.find(b"\n")
            if idx >= 0:
                line, self._buffer = self._buffer[:idx], self._buffer[idx + 1 :]
                return line.rstrip(b"\r")
            chunk = self.response.read1(65536)
            if not chunk:
                return None
            self._buffer += chunk

    def next_event(self) -> Event | None:
        """The next dispatched event, or None when the stream ends."""
        event = Event()
        have_data = False
        while True:
            raw = self._lines()
            if raw is None:
                return None
            line = raw.decode("utf-8")
            if line == "":
                if have_data:
                    return event
                event = Event()
                continue
            if line.startswith(":"):
                self.comments.append(line[1:].strip())
                continue
            name, _, value = line.partition(":")
            value = value.removeprefix(" ")
            if name == "event":
                event.name = value
            elif name == "data":
                event.data = f"{event.data}\n{value}" if have_data else value
                have_data = True
            elif name == "id":
                event.id = value
            elif name == "retry":
                self.retry = int(value)

    def until(self, name: str, timeout: float = 5.0) -> Event:
        """The next event called `name`; fail if none comes within `timeout`."""
        deadline = time.monotonic() + timeout
        sock = self.conn.sock
        try:
            while (remaining := deadline - time.monotonic()) > 0:
                if sock is not None:  # pings must not keep a read waiting past the deadline
                    sock.settimeout(remaining)
                event = self.next_event()
                if event is None:
                    raise AssertionError(f"stream ended before a {name!r} event")
                if event.name == name:
                    return event
        except TimeoutError:
            pass
        raise AssertionError(f"no {name!r} event within {timeout} s")

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> SSEClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
