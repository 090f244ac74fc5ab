"""Background syncing for `assetgraph serve`.

Every serving process runs one scheduler thread, but only the one that holds the store's
sync lock syncs; the others keep trying to take the lock, so when the syncing process
stops, another takes over. Each source syncs on its own `refresh` interval, and on request:
the lock holder watches the store's request folder (`sync_requests`), so `assetgraph sync`
and the `sync_source` mutation work while a server runs. When a process
takes the lock, a source whose last sync (by any process) is within its interval and already
published is next due when that interval ends; any other source is due at once. Until a
source syncs again, the per-source metrics report its stored state.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

from federation.config.settings import Config
from federation.pipeline import metrics
from federation.pipeline.metrics import observe_state, observe_sync
from federation.pipeline.store import StoreReader, SyncLock
from federation.pipeline.sync import Syncer, SyncReport
from federation.pipeline.sync_requests import RequestQueue, SyncRequest

log = logging.getLogger("assetgraph.scheduler")

#: how often a process without the lock tries to take it, and the loop's longest sleep
POLL_SECONDS = 5.0
#: how often the lock holder looks for sync requests while it waits
REQUEST_POLL_SECONDS = 0.25


class SyncScheduler(threading.Thread):
    def __init__(
        self,
        config: Config,
        *,
        poll_seconds: float = POLL_SECONDS,
        request_poll_seconds: float = REQUEST_POLL_SECONDS,
        on_report: Callable[[SyncReport], None] | None = None,
    ) -> None:
        super().__init__(name="assetgraph-sync", daemon=True)
        self.config = config
        #: told of every round this process ran (the serving layer's events)
        self.on_report = on_report
        self.poll_seconds = poll_seconds
        self.request_poll_seconds = request_poll_seconds
        root = config.resolve(config.settings.store.path)
        self.lock = SyncLock(root)
        self.requests = RequestQueue(root)
        self._stopping = threading.Event()
        self._due: dict[str, float] = {}
        self.first_sync_done = threading.Event()
        #: set once this process holds the lock and has read the stored schedule
        self.resumed = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    def run(self) -> None:
        syncer: Syncer | None = None
        failures = 0
        try:
            while not self._stopping.is_set():
                if not self.lock.held and not self.lock.acquire():
                    self._stopping.wait(self.poll_seconds)
                    continue
                try:
                    if syncer is None:
                        syncer = Syncer(self.config)
                        self.requests.prune()
                        self._resume(syncer)
                        self.resumed.set()
                    self._serve_requests(syncer)
                    due = self._due_sources()
                    if due:
                        self._run(syncer, due)
                    failures = 0
                    pause = self._sleep_seconds()
                except Exception:
                    # a failed publish (disk full, a store error) must not end syncing for
                    # good: keep the lock, keep serving the last snapshot, try again later
                    failures += 1
                    pause = min(self.poll_seconds * 2**failures, 300.0)
                    log.exception("sync failed; retrying in %.0fs", pause)
                    metrics.SYNC_RUN_FAILURES.inc()
                self._rest(pause)
        finally:
            if syncer is not None:
                syncer.close()
            self.lock.release()

    def _rest(self, seconds: float) -> None:
        """Sleep until the next source is due, waking early for a sync request."""
        until = time.monotonic() + seconds
        while not self._stopping.is_set():
            left = until - time.monotonic()
            if left <= 0 or (self.lock.held and self.requests.pending()):
                return
            self._stopping.wait(min(left, self.request_poll_seconds))

    def _serve_requests(self, syncer: Syncer) -> None:
        for request_id in self.requests.pending():
            request = self.requests.take(request_id)
            if request is None:
                continue
            try:
                report = self._run(syncer, request.sources, request)
            except Exception as exc:
                self.requests.finish(request.id, error=f"the sync failed: {type(exc).__name__}: {exc}")
                raise
            report.served_by = os.getpid()
            self.requests.finish(request.id, report)

    def _resume(self, syncer: Syncer) -> None:
        """Report the stored state of each source and carry on its schedule."""
        published_at = _published_at(self.config)
        now, wall = time.monotonic(), datetime.now(UTC)
        for state in syncer.store.states():
            try:
                source = self.config.source(state.source)
            except KeyError:  # no longer configured
                continue
            observe_state(state)
            synced = state.last_sync_at
            if synced is None or published_at is None or synced > published_at:
                continue  # never synced, or synced but not published: due now
            remaining = (synced + source.refresh - wall).total_seconds()
            if remaining > 0:
                self._due[state.source] = now + remaining
                log.info("%s was synced at %s: next sync in %.0fs", state.source, synced, remaining)

    def next_sync(self, source: str) -> float | None:
        """Seconds until `source` is due (0 if due now); None while another process syncs."""
        if not self.resumed.is_set():
            return None
        return max(0.0, self._due.get(source, 0.0) - time.monotonic())

    def _due_sources(self) -> list[str]:
        now = time.monotonic()
        return [s.name for s in self.config.sources if s.enabled and self._due.get(s.name, 0.0) <= now]

    def _sleep_seconds(self) -> float:
        if not self._due:
            return self.poll_seconds
        return max(0.2, min(self.poll_seconds * 12, min(self._due.values()) - time.monotonic()))

    def _run(self, syncer: Syncer, names: list[str] | None, request: SyncRequest | None = None) -> SyncReport:
        started = datetime.now(UTC)
        if request is None:
            report = syncer.run(names)
        else:
            progress = self.requests.progress_writer(request.id)
            report = syncer.run(names, progress, accept=request.accept)
        for result in report.sources:
            source = self.config.source(result.source)
            self._due[result.source] = time.monotonic() + source.refresh.total_seconds()
            observe_sync(result)
        log.info(
            "synced %s%s in %.1fs; published %s",
            ", ".join(r.source for r in report.sources),
            f" (asked by pid {request.pid})" if request else "",
            (datetime.now(UTC) - started).total_seconds(),
            report.snapshot_id,
        )
        self.first_sync_done.set()
        if self.on_report is not None:
            try:
                self.on_report(report)
            except Exception:  # a listener's failure is not the round's
                log.exception("the sync round's listener failed")
        return report


def _published_at(config: Config) -> datetime | None:
    snapshot = StoreReader(config.resolve(config.settings.store.path)).current()
    if snapshot is None:
        return None
    rows = snapshot.query("SELECT max(published_at) FROM publish_info")
    return rows[0][0] if rows and rows[0][0] else None
