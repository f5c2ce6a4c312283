"""The composition root: the one module that knows every part and wires them.

`build_sources(config)` makes the readers a config asks for; `make_server`
builds the runtime, the web app and a uvicorn server around them.  On SIGTERM
or Ctrl-C the hub ends every open stream first, so uvicorn's graceful shutdown
(which otherwise waits for streams forever) finishes at once; a connection
still open `ABORT_AFTER` later (a client that stopped reading, whose write
blocks on a full socket buffer) is aborted, so the process exits within about
a second whatever the clients do.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import logging
import socket
from collections.abc import Callable, Iterable, Iterator
from types import FrameType

import uvicorn

from devices.command import CommandSource
from devices.influx import InfluxOutput
from devices.mqtt import MqttSource
from devices.republish import build_republishers
from devices.serial import SerialSource
from devices.sinks import Sinks
from devices.system import SystemSource
from telemetry.config import Config
from telemetry.errors import ConfigError
from telemetry.looplag import until_quiet_wake
from telemetry.outputs import Output, Outputs
from telemetry.runtime import Runtime
from telemetry.sources import Source
from web.app import create_app
from web.protocol import GuardedHttpTools, abort_stuck

logger = logging.getLogger(__name__)

# On SIGTERM, connections still open this long after the streams were ended are
# aborted (their clients are not reading); tasks still running at the backstop
# are cancelled by uvicorn.
ABORT_AFTER = 0.5
GRACEFUL_SHUTDOWN = 1
# CPython's cyclic GC runs a young collection every 700 new container objects;
# every tick allocates several per open stream (futures, timers, messages), and
# with thousands of streams the collections, older generations' passes over
# every live task and protocol included, took much of the server's CPU
# (bench/README.md, latency).  Almost all of it is freed by reference counting anyway.
GC_THRESHOLDS = (50_000, 20, 100)


def build_sources(config: Config) -> list[Source]:
    # A broker with no subscription is publish only (a [[notify]] sink's or an
    # [[output.mqtt]]'s): no reader of its own.
    sources: list[Source] = [MqttSource(m, config.limits) for m in config.mqtt if m.subscribe]
    sources.extend(SerialSource(s, config.limits) for s in config.serial)
    sources.extend(SystemSource(s) for s in config.system)
    sources.extend(CommandSource(c) for c in config.command)
    return sources


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Server(uvicorn.Server):
    """uvicorn's server, told about the hub so shutdown does not wait on streams."""

    def __init__(
        self,
        config: uvicorn.Config,
        runtime: Runtime,
        on_ready: Callable[[str], None] | None = None,
    ) -> None:
        self._exit: asyncio.Event | None = None  # `main_loop`'s, set with `should_exit`
        self.loop: asyncio.AbstractEventLoop | None = None
        super().__init__(config)
        self.runtime = runtime
        self.on_ready = on_ready
        self.port: int | None = None

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        # uvicorn re-raises SIGTERM after a graceful shutdown, which would kill
        # the process before the caller's own clean-up (the demo's broker and
        # pty) ran.  The shutdown is complete here: exit normally instead.
        with super().capture_signals():
            yield
            captured = getattr(self, "_captured_signals", None)
            if captured:
                captured.clear()

    @property
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        # uvicorn and its callers (a signal, the tests) set this from any thread; it
        # wakes `main_loop`, which otherwise sleeps a second at a time.
        self._should_exit = value
        loop, wake = self.loop, self._exit
        if value and loop is not None and wake is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(wake.set)

    async def main_loop(self) -> None:
        """uvicorn's own loop polls ten times a second for `should_exit`; this one waits
        for it, waking every `QUIET_WAKE` seconds (with the other periodic timers:
        `until_quiet_wake`) for uvicorn's periodic work (the Date header)."""
        loop = asyncio.get_running_loop()
        self._exit = wake = asyncio.Event()
        if self._should_exit:
            wake.set()
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(until_quiet_wake(loop)):
                    await wake.wait()
            counter = (counter + 10) % 864_000  # on_tick's once-a-second work: counter % 10 == 0
            should_exit = await self.on_tick(counter)

    def end_streams(self) -> None:
        """End every stream, from any thread (the hub belongs to the loop)."""
        loop = self.loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(self.runtime.hub.close)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self.end_streams()
        super().handle_exit(sig, frame)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self.runtime.hub.close()
        reaper = asyncio.create_task(self._abort_stuck(), name="telemetry-shutdown-reaper")
        try:
            await super().shutdown(sockets)
        finally:
            reaper.cancel()
            await asyncio.gather(reaper, return_exceptions=True)

    async def _abort_stuck(self) -> None:
        await asyncio.sleep(ABORT_AFTER)
        while True:
            aborted = abort_stuck(self.server_state)
            if aborted:
                logger.info("shutdown: aborted %d connection(s) that were not reading", aborted)
            await asyncio.sleep(0.1)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        self.loop = asyncio.get_running_loop()
        await super().startup(sockets)
        if self.should_exit or not self.servers:
            return
        gc.set_threshold(*GC_THRESHOLDS)
        self.port = int(self.servers[0].sockets[0].getsockname()[1])
        host = self.config.host
        shown = socket.gethostname() if host in ("0.0.0.0", "::") else host  # noqa: S104
        if ":" in shown:
            shown = f"[{shown}]"
        if self.on_ready is not None:
            self.on_ready(f"http://{shown}:{self.port}/")


def serve(
    config: Config,
    extra_sources: Iterable[Source] = (),
    on_ready: Callable[[str], None] | None = None,
) -> int:
    """Run the server `config` describes until SIGTERM or Ctrl-C: `telemetry serve`, and
    `telemetry demo` with its simulators' config and in-process sensors as `extra_sources`."""
    sources = [*build_sources(config), *extra_sources]
    make_server(config, sources, on_ready=on_ready).run()
    return 0


def build_outputs(config: Config) -> Outputs | None:
    """The `[output.*]` outputs that take points, or None when there are none."""
    made: list[Output] = []
    made.extend(InfluxOutput(cfg) for cfg in config.output.influx)
    made.extend(build_republishers(config))  # [[output.mqtt]]
    return Outputs(made) if made else None


def make_server(
    config: Config,
    sources: Iterable[Source] | None = None,
    *,
    on_ready: Callable[[str], None] | None = None,
) -> Server:
    """A ready-to-run server; `sources` defaults to the readers the config names."""
    sinks = Sinks(config) if config.notify else None
    readers = build_sources(config) if sources is None else sources
    runtime = Runtime(config, readers, sinks, build_outputs(config))
    app = create_app(runtime)
    host = config.server.host
    reachable = not is_loopback(host) or bool(config.server.trusted_proxies)
    if config.ingest.http and reachable and config.auth.file is None:
        raise ConfigError(
            [
                f"ingest.http: the server is reachable beyond loopback ({host}"
                f"{', behind a proxy' if config.server.trusted_proxies else ''}); HTTP ingest "
                "needs [auth] file with a token (`telemetry token NAME --config FILE`)"
            ]
        )
    if not is_loopback(host) and config.auth.file is None:
        logger.warning(
            "listening on %s without authentication: anyone who can reach this address "
            "can read every sensor",
            host,
        )
    uv_config = uvicorn.Config(
        app,
        host=host,
        port=config.server.port,
        lifespan="on",
        http=GuardedHttpTools,
        log_config=None,
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN,
        # X-Forwarded-For/-Proto only from the configured proxies: uvicorn's
        # default trusts them from 127.0.0.1, where any local process can
        # rotate them past the login limit.
        proxy_headers=bool(config.server.trusted_proxies),
        forwarded_allow_ips=list(config.server.trusted_proxies),
    )
    return Server(uv_config, runtime, on_ready)
