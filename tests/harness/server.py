"""A real uvicorn serving the real app on a free loopback port, in a thread.

Streams cannot be tested through Starlette's TestClient or httpx's ASGI
transport (they buffer whole bodies), so every streaming test talks HTTP to
this server.
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Sequence

import pytest
from starlette.applications import Starlette

from telemetry.config import Config
from telemetry.runtime import Runtime
from telemetry.server import Server, make_server
from telemetry.sources import Source
from web.edge import Edge


@dataclasses.dataclass
class RunningServer:
    server: Server
    thread: threading.Thread
    url: str

    @property
    def runtime(self) -> Runtime:
        return self.server.runtime

    @property
    def edge(self) -> Edge:
        """The app's outermost layer (its count of failed handlers, `errors`)."""
        app = self.server.config.app
        assert isinstance(app, Starlette)
        edge = app.state.edge
        assert isinstance(edge, Edge)
        return edge

    @property
    def port(self) -> int:
        assert self.server.port is not None
        return self.server.port

    def stop(self, timeout: float = 10.0) -> None:
        self.server.end_streams()  # what SIGTERM does first in the real process
        self.server.should_exit = True
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "the server did not stop in time"


StartServer = Callable[..., RunningServer]


def launch(
    config: Config | None = None, sources: Sequence[Source] | None = (), port: int = 0
) -> RunningServer:
    """A server on loopback, started; the caller stops it.

    `port`: 0 for a free one; a stopped server's port to restart it in its place.
    Without `sources` the server builds the readers its config names, as
    `telemetry serve` does.
    """
    config = config or Config()
    config = dataclasses.replace(
        config, server=dataclasses.replace(config.server, host="127.0.0.1", port=port)
    )
    ready = threading.Event()
    urls: list[str] = []

    def on_ready(url: str) -> None:
        urls.append(url)
        ready.set()

    server = make_server(config, None if sources is None else list(sources), on_ready=on_ready)
    thread = threading.Thread(target=server.run, name="uvicorn-under-test", daemon=True)
    thread.start()
    if not ready.wait(15):
        server.should_exit = True
        thread.join(5)
        raise AssertionError("uvicorn did not start within 15 s")
    return RunningServer(server, thread, urls[0])


@pytest.fixture
def start_server() -> Iterator[StartServer]:
    """Start servers with `start_server(config, sources)` (see `launch`); all are
    stopped after the test."""
    running: list[RunningServer] = []

    def start(
        config: Config | None = None, sources: Sequence[Source] | None = (), port: int = 0
    ) -> RunningServer:
        handle = launch(config, sources, port)
        running.append(handle)
        return handle

    yield start
    for handle in running:
        if handle.thread.is_alive():
            handle.stop()
