"""The running core: sources feeding the inbox, the pipeline, and the hub's tick task.

The web app's lifespan calls `start()` and `stop()`; the runtime owns the one
background task (the hub's ticker) and every source's threads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from telemetry.config import Config
from telemetry.handoff import Inbox
from telemetry.hub import Hub
from telemetry.pipeline import Pipeline
from telemetry.sources import Source, SourceStatus

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 2.0


class Runtime:
    def __init__(self, config: Config, sources: Iterable[Source] = ()) -> None:
        self.config = config
        self.pipeline = Pipeline(config)
        self.inbox = Inbox(config.limits.inbox, self.pipeline.ingest)
        self.sources = list(sources)
        self.hub = Hub(self.pipeline, config.server, config.limits, self.statuses)
        self._ticker: asyncio.Task[None] | None = None

    def statuses(self) -> list[SourceStatus]:
        return [source.status() for source in self.sources]

    async def start(self) -> None:
        self.inbox.bind(asyncio.get_running_loop())
        for source in self.sources:
            source.start(self.inbox)
        self._ticker = asyncio.create_task(self.hub.run(), name="telemetry-hub-ticker")
        logger.info("started with %d sources", len(self.sources))

    async def stop(self) -> None:
        """End every stream, stop the sources (in parallel, bounded), stop the ticker."""
        self.hub.close()
        await asyncio.gather(
            *(asyncio.to_thread(source.stop, STOP_TIMEOUT) for source in self.sources)
        )
        self.inbox.bind(None)
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        logger.info("stopped")
