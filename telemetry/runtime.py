"""The running core: sources feeding the inbox, the pipeline, and the hub's tick task.

The web app's lifespan calls `start()` and `stop()`; the runtime owns the one
background tasks (the hub's ticker, the history's commits) and every source's
threads.  With `[history] file` set, the saved history is loaded before any
source starts, saved every `commit_interval` and once more at stop, and after the
load and each save the memory their copies took goes back to the system
(`heap`); without it nothing touches the disk.  `looplag` measures the event
loop's lag on one timer.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from telemetry import counters, heap
from telemetry.alerts import Change
from telemetry.config import Config
from telemetry.counters import Counters
from telemetry.handoff import Inbox
from telemetry.hub import Hub
from telemetry.ingest import HttpSource
from telemetry.logs import escape
from telemetry.loopcall import OnLoop
from telemetry.looplag import LoopLag
from telemetry.model import RawMessage
from telemetry.notices import Notice, Notifier, SinkStatus
from telemetry.outputs import Outputs, OutputStatus
from telemetry.pipeline import Pipeline
from telemetry.record import Recorder
from telemetry.sources import Source, SourceStatus

if TYPE_CHECKING:
    from telemetry.persist import History

logger = logging.getLogger(__name__)

STOP_TIMEOUT = 2.0
FINAL_SAVE_TIMEOUT = 10.0  # the last save at stop; a slow SD card must not hang shutdown


class Runtime:
    def __init__(
        self,
        config: Config,
        sources: Iterable[Source] = (),
        sinks: Notifier | None = None,
        outputs: Outputs | None = None,
    ) -> None:
        self.config = config
        self.pipeline = Pipeline(config)
        self.sources = list(sources)
        # HTTP ingest is a source like the readers (`[ingest] http`); requests feed it.
        self.http: HttpSource | None = None
        if config.ingest.http:
            self.http = HttpSource(config.ingest.source)
            self.sources.append(self.http)
        # `[record] file`: every raw message is written there too, by its own thread.
        self.recorder: Recorder | None = None
        record = config.record
        if record.file is not None:
            self.recorder = Recorder(record.file, record.max_size, record.keep)
        self.sinks = sinks
        self.hub = Hub(self.pipeline, config.server, config.limits, self.statuses)
        if sinks is not None:
            self.hub.on_notices = self._notify
        self.outputs = outputs
        if outputs is not None:
            self.pipeline.outputs = True
            self.hub.on_points = outputs.submit
        # The hub's ticker hears of the first message after a quiet spell and drains
        # the inbox at its ticks (`telemetry.ticker`).
        self.inbox = Inbox(config.limits.inbox, self._ingest, self.hub.nudge)
        self.hub.ticker.feed = self.inbox
        self._ticker: asyncio.Task[None] | None = None
        file = config.history.file
        self.history: History | None = None
        self._alert_file: Path | None = None
        # Which alerts the alert file holds as firing, as last written or read.
        self._alerts_saved: set[tuple[str, str, float]] | None = None
        if file is not None:
            # Only then: sqlite3 is memory that a server without a file does not need.
            from telemetry.persist import History  # noqa: PLC0415

            self.history = History(file)
            self._alert_file = Path(file).with_name(Path(file).name + "-alerts")
        self._committer: asyncio.Task[None] | None = None
        self.looplag = LoopLag()

    def _ingest(self, batch: list[RawMessage]) -> None:
        if self.recorder is not None:
            self.recorder.submit(batch)
        self.pipeline.ingest(batch)
        self.hub.nudge()

    def _notify(self, changes: list[Change]) -> None:
        """Hand the alerts' notices to the sinks (on the loop; queueing never waits),
        each with its series' unit for the message text."""
        assert self.sinks is not None
        store = self.pipeline.store
        notices = []
        for change in changes:
            series = store.get(change.series)
            notices.append(Notice(change, series.entry.unit if series is not None else None))
        self.sinks.submit(notices)

    def sink_statuses(self) -> list[SinkStatus]:
        return [] if self.sinks is None else self.sinks.statuses()

    def output_statuses(self) -> list[OutputStatus]:
        statuses = [] if self.outputs is None else self.outputs.statuses()
        if self.recorder is not None:
            statuses.append(self.recorder.status())
        return statuses

    def statuses(self) -> list[SourceStatus]:
        return [source.status() for source in self.sources]

    def counters(self) -> Counters:
        """One read-only snapshot of every counter (see `telemetry.counters`)."""
        return counters.take(
            self.inbox,
            self.pipeline,
            self.hub,
            self.statuses(),
            self.looplag,
            sinks=self.sink_statuses(),
            outputs=self.output_statuses(),
        )

    async def start(self) -> None:
        if self.history is not None:
            await asyncio.to_thread(self.history.load, self.pipeline.store)
            dropped = self.pipeline.settle()
            if dropped:
                self.history.forget()
                logger.info(
                    "history: %d saved series removed: a [[series]] rule drops them (%s)",
                    len(dropped),
                    ", ".join(escape(sid) for sid in dropped[:5])
                    + (", ..." if len(dropped) > 5 else ""),
                )
            await self._restore_alerts()
            await asyncio.to_thread(heap.trim)  # what reading the file took and freed
        if self.recorder is not None:
            try:
                await asyncio.to_thread(self.recorder.start)
            except OSError as exc:  # a recording is no reason not to serve
                logger.error("record: %s cannot be written; not recording: %s", exc.filename, exc)
                self.recorder = None
        loop = asyncio.get_running_loop()
        self.looplag.start(loop)
        self.inbox.bind(loop)
        for source in self.sources:
            source.start(self.inbox)
        self._ticker = asyncio.create_task(self.hub.run(), name="telemetry-hub-ticker")
        if self.history is not None:
            self._committer = asyncio.create_task(
                self._commit_every(self.config.history.commit_interval),
                name="telemetry-history-commit",
            )
        logger.info("started with %d sources", len(self.sources))

    def delete_series(self, sid: str) -> bool:
        """Delete a series and its history; False when there is no such series.  The
        streams hear of it with the next tick; with a history file, the next commit
        writes a new snapshot without it."""
        if not self.pipeline.delete(sid):
            return False
        self.hub.forget(sid)
        if self.history is not None:
            self.history.forget()
        logger.info("series %r deleted, with its history", sid)
        self.hub.nudge()
        return True

    async def commit(self) -> bool:
        """Save the history now: its changes taken on the loop, the writing in a worker
        thread (which has the loop copy the series a few at a time for a new snapshot);
        and the firing alerts, when they changed."""
        if self.history is None:
            return False
        snapshot = self.history.snapshot(self.pipeline.store)
        owner = OnLoop(asyncio.get_running_loop())
        saved = await asyncio.to_thread(self.history.save, snapshot, owner)
        del snapshot  # the copies, freed before the memory they took is given back
        await asyncio.to_thread(heap.trim)
        await self._save_alerts()
        return saved

    async def _restore_alerts(self) -> None:
        from telemetry.persist import alertfile  # noqa: PLC0415 (only with a history file)

        assert self._alert_file is not None
        saved = await asyncio.to_thread(alertfile.load, self._alert_file)
        restored = self.pipeline.alerts.restore(saved)
        if restored:
            logger.info("alerts: %d firing before the restart, firing still", restored)
        self._alerts_saved = {(c.rule, c.series, c.since) for c in saved} if saved else None

    async def _save_alerts(self) -> None:
        """Write the firing alerts beside the history when which fire changed since the
        last write: an SD card is not rewritten every commit for nothing."""
        from telemetry.persist import alertfile  # noqa: PLC0415 (only with a history file)

        firing = self.pipeline.alerts.firing()
        which = {(c.rule, c.series, c.since) for c in firing}
        # Values change with every reading; the file is written when which alerts
        # fire does (None: no file yet, and none is needed while nothing fires).
        if self._alert_file is None or which == (self._alerts_saved or set()):
            return
        try:
            await asyncio.to_thread(alertfile.save, self._alert_file, alertfile.encode(firing))
        except OSError as exc:
            logger.warning("alerts: %s cannot be written: %s", self._alert_file, exc)
        else:
            self._alerts_saved = which

    async def _commit_every(self, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            try:
                await self.commit()
            except Exception:  # never let one failed save end the commits
                logger.exception("history commit failed")

    async def stop(self) -> None:
        """End every stream, stop the sources (in parallel, bounded), stop the ticker."""
        self.hub.close()
        await asyncio.gather(
            *(asyncio.to_thread(source.stop, STOP_TIMEOUT) for source in self.sources)
        )
        self.inbox.bind(None)
        if self.recorder is not None:
            await asyncio.to_thread(self.recorder.stop, STOP_TIMEOUT)
        if self.sinks is not None:
            await asyncio.to_thread(self.sinks.stop, STOP_TIMEOUT)
        if self.outputs is not None:
            # After the sources: the last readings' points had their tick.  Each
            # output flushes what it can within the timeout (`Output.stop`).
            await asyncio.to_thread(self.outputs.stop, STOP_TIMEOUT)
        self.looplag.stop()
        if self._ticker is not None:
            self._ticker.cancel()
            await asyncio.gather(self._ticker, return_exceptions=True)
            self._ticker = None
        await self._final_save()
        logger.info("stopped")

    async def _final_save(self) -> None:
        if self._committer is not None:
            self._committer.cancel()
            await asyncio.gather(self._committer, return_exceptions=True)
            self._committer = None
        if self.history is None:
            return
        try:
            await asyncio.wait_for(self.commit(), FINAL_SAVE_TIMEOUT)
        except TimeoutError:
            logger.warning("history: the final save took over %.0f s; gave up", FINAL_SAVE_TIMEOUT)
        except Exception:
            logger.exception("history: the final save failed")
        else:
            await asyncio.to_thread(self.history.close)
