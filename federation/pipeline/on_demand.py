"""Syncing on demand: `assetgraph sync`, and the admin's `sync_source` mutation.

    report = request_sync(config, ["finance"])              # sync finance, publish, report
    report = request_sync(config, accept=["inventory"])     # write inventory's held read

If no process holds the store's sync lock, this process takes it and syncs. If one does (a
server's scheduler), the sync is asked of it through the request folder and this waits for
its report — replaying its progress — and syncs itself should the lock come free first (the
holder was another one-off `assetgraph sync`, which does not take requests).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal, overload

from federation.config.settings import Config
from federation.pipeline.reading import Progress
from federation.pipeline.store import SyncLock
from federation.pipeline.sync import Syncer, SyncReport
from federation.pipeline.sync_requests import RequestQueue, SyncRequest, SyncRequestError

__all__ = ["SyncRequestError", "SyncTicket", "UnknownSource", "accept_source", "request_sync"]

#: how often a waiting asker looks for its result (and for a free lock)
POLL_SECONDS = 0.1


class UnknownSource(SyncRequestError):
    """A name that is not a configured source."""


def _check_names(config: Config, names: Iterable[str]) -> None:
    known = {s.name for s in config.sources}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise UnknownSource(
            f"unknown source {', '.join(unknown)}; expected one of {', '.join(sorted(known))}"
        )


def sync_here(
    config: Config,
    sources: list[str] | None,
    accept: list[str],
    progress: Progress | None = None,
) -> SyncReport:
    """Sync in this process; the caller holds the sync lock (and has prepared any demo)."""
    syncer = Syncer(config)
    try:
        return syncer.run(sources, progress, accept=accept)
    finally:
        syncer.close()


@dataclass
class SyncTicket:
    """A sync asked of the lock holder; `wait()` for its report."""

    config: Config
    queue: RequestQueue
    request: SyncRequest

    @property
    def id(self) -> str:
        return self.request.id

    def wait(self, timeout: timedelta | float | None = None, progress: Progress | None = None) -> SyncReport:
        """The report once the sync is done. Raises SyncRequestError if it failed, or if it
        has not ended within `timeout` (default `sync.request_timeout`)."""
        if timeout is None:
            timeout = self.config.settings.sync.request_timeout
        seconds = timeout.total_seconds() if isinstance(timeout, timedelta) else float(timeout)
        lock = SyncLock(self.config.resolve(self.config.settings.store.path))
        try:
            return self._wait(lock, seconds, progress)
        except KeyboardInterrupt:  # the asker gave up: a request nobody took goes with it
            if self.queue.withdraw(self.id):
                self.queue.forget(self.id)
            raise

    def _wait(self, lock: SyncLock, seconds: float, progress: Progress | None) -> SyncReport:
        give_up = time.monotonic() + seconds
        offset = 0
        while True:
            if progress is not None:
                offset = self.queue.progress(self.id, offset, progress)
            report = self.queue.result(self.id)
            if report is not None:
                return report
            if self.queue.waiting(self.id) and lock.acquire():
                # the holder let go without taking the request: our turn
                try:
                    if self.queue.withdraw(self.id):
                        return sync_here(self.config, self.request.sources, self.request.accept, progress)
                finally:
                    lock.release()
            if time.monotonic() >= give_up:
                raise self._timed_out(lock, seconds)
            time.sleep(POLL_SECONDS)

    def _timed_out(self, lock: SyncLock, seconds: float) -> SyncRequestError:
        holder = _holder(lock)
        if self.queue.withdraw(self.id):
            self.queue.forget(self.id)
            return SyncRequestError(
                f"the process holding {lock.path} ({holder}) did not take the sync request within "
                f"{seconds:g}s (it is busy with a long sync, or it does not take requests: an "
                "older assetgraph, or another `assetgraph sync`); try again later"
            )
        return SyncRequestError(
            f"the sync asked of {holder} has not finished within {seconds:g}s; it goes on, and "
            "its outcome will show in `sources { status stale error }`"
        )


def _holder(lock: SyncLock) -> str:
    try:
        pid = lock.path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        pid = ""
    return f"pid {pid}" if pid else "another process"


@overload
def request_sync(
    config: Config,
    sources: Iterable[str] | None = None,
    *,
    accept: Iterable[str] = (),
    wait: Literal[True] = True,
    timeout: timedelta | float | None = None,
    progress: Progress | None = None,
    on_queued: Callable[[str], None] | None = None,
) -> SyncReport: ...


@overload
def request_sync(
    config: Config,
    sources: Iterable[str] | None = None,
    *,
    accept: Iterable[str] = (),
    wait: Literal[False],
    timeout: timedelta | float | None = None,
    progress: Progress | None = None,
    on_queued: Callable[[str], None] | None = None,
) -> SyncTicket: ...


def request_sync(
    config: Config,
    sources: Iterable[str] | None = None,
    *,
    accept: Iterable[str] = (),
    wait: bool = True,
    timeout: timedelta | float | None = None,
    progress: Progress | None = None,
    on_queued: Callable[[str], None] | None = None,
) -> SyncReport | SyncTicket:
    """Sync `sources` (default: every enabled source, or only the accepted ones when `accept`
    names any) and publish. `accept`: sources whose read is written even if it breaks their
    guard. With `wait`, returns the report (raises SyncRequestError if the sync did not
    happen); without, asks the lock holder and returns a SyncTicket at once. `on_queued` is
    told who was asked (`pid 4242`) when another process holds the lock."""
    names = list(sources) if sources is not None else None
    accepted = list(accept)
    _check_names(config, [*(names or []), *accepted])
    root = config.resolve(config.settings.store.path)
    lock = SyncLock(root)
    if wait and lock.acquire():
        try:
            return sync_here(config, names, accepted, progress)
        finally:
            lock.release()
    queue = RequestQueue(root)
    ticket = SyncTicket(config, queue, queue.submit(names, accepted))
    if on_queued is not None:
        on_queued(_holder(lock))
    if not wait:
        return ticket
    return ticket.wait(timeout, progress)


def accept_source(config: Config, source: str, *, timeout: timedelta | float | None = None) -> SyncReport:
    """Read `source` again and write it even if its guard objects (an admin's decision), then
    publish; the guard applies again from the next sync, against this snapshot."""
    return request_sync(config, accept=[source], timeout=timeout)
