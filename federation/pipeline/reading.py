"""Reading sources: one source's read, and a round of them on threads, each within a deadline.

A read touches no store: what it needs from the last snapshot (cursors, stored columns) is
fetched beforehand into a `Baseline`, and what it produces (`ReadResult`) is handed back to
the one thread that writes (DuckDB connections are not shared between threads). So sources
are read side by side, at most `concurrency` at a time, and a source that hangs is abandoned
at its deadline — its thread is left to end on its own, its result thrown away — while the
others are written and published.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd

from connectors.base import Connector, SourceConfig, SourceError
from connectors.registry import connector_class
from federation.pipeline.log_context import about_source
from transforms.context import TransformContext
from transforms.mapping import MappingError, map_stream

log = logging.getLogger("assetgraph.sync")

#: the time of a source's last full read, kept with its cursors
FULL_READ_KEY = "__full_read_at__"

#: the columns of `ReadResult.quality`
QUALITY_FRAME = ["entity", "record_id", "field", "value", "reason"]

#: progress callback: (source, entity, records read so far) — entity None when starting
Progress = Callable[[str, str | None, int], None]


@dataclass(frozen=True)
class Baseline:
    """What a read needs to know of the source's last snapshot."""

    cursors: dict[str, str] = field(default_factory=dict)
    #: entity → the stored snapshot's columns (None: no snapshot of that entity)
    columns: dict[str, list[str] | None] = field(default_factory=dict)
    #: entity → records in the last good snapshot
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class ReadResult:
    frames: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    cursors: dict[str, str]
    incremental: set[str]
    started: datetime
    #: quality notes (values blanked in published rows): entity, record_id, field, value, reason
    quality: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=QUALITY_FRAME))


class Abandoned(Exception):
    """The read passed its deadline; nobody waits for it any more."""


@dataclass(frozen=True)
class SyncEvent:
    """One step of a sync round, in the order the writer saw it."""

    source: str
    #: started | written | held | failed | abandoned | published
    what: str
    at: float = field(default_factory=time.monotonic)


def read_source(
    source: SourceConfig,
    baseline: Baseline,
    ctx: TransformContext,
    *,
    base_dir: Path,
    started: datetime,
    progress: Progress | None = None,
    cancelled: threading.Event | None = None,
) -> ReadResult:
    """Read every entity of one source (incrementally where its cursor allows) and normalise
    it. Raises SourceError, MappingError, Abandoned, or whatever a broken connector raises."""
    with about_source(source.name):  # log lines of this read name the source they concern
        return _read_source(
            source, baseline, ctx, base_dir=base_dir, started=started, progress=progress, cancelled=cancelled
        )


def _read_source(
    source: SourceConfig,
    baseline: Baseline,
    ctx: TransformContext,
    *,
    base_dir: Path,
    started: datetime,
    progress: Progress | None,
    cancelled: threading.Event | None,
) -> ReadResult:
    try:
        connector = connector_class(source.kind)(source, base_dir=base_dir)
    except Exception as exc:  # a broken third-party connector must not stop the others
        raise SourceError(f"cannot start the {source.kind} connector: {exc}") from exc
    try:
        connector.check()
        frames: dict[str, pd.DataFrame] = {}
        quarantine: list[pd.DataFrame] = []
        quality: list[pd.DataFrame] = []
        cursors = dict(baseline.cursors)
        # a full read now and then: incremental reads never see records deleted at the source
        last_full = cursors.get(FULL_READ_KEY)
        full = source.full_refresh is not None and (
            last_full is None or started - datetime.fromisoformat(last_full) >= source.full_refresh
        )
        if full:
            cursors = {}
        incremental: set[str] = set()
        for entity, stream in source.entities.items():
            stored = baseline.columns.get(entity)
            cursor = cursors.get(entity) if stream.cursor and stored is not None else None
            read = _StreamRead(connector, source, ctx, started, progress, cancelled)
            rows, bad, notes, new_cursor = read(entity, cursor)
            if cursor is not None and len(rows) and set(rows.columns) != set(stored or ()):
                # the mapping changed since the last sync: read everything again
                cursor = None
                rows, bad, notes, new_cursor = read(entity, None)
            frames[entity] = rows
            if len(bad):
                quarantine.append(bad.assign(entity=entity))
            if len(notes):
                quality.append(notes.assign(entity=entity))
            if cursor is not None:
                incremental.add(entity)
            if new_cursor is not None:
                cursors[entity] = new_cursor
            elif not stream.cursor:
                cursors.pop(entity, None)
        if full or FULL_READ_KEY not in cursors:
            cursors[FULL_READ_KEY] = started.isoformat()
        q = (
            pd.concat(quarantine, ignore_index=True)
            if quarantine
            else pd.DataFrame(columns=["entity", "record_id", "reason", "raw"])
        )
        notes = (
            pd.concat(quality, ignore_index=True)[QUALITY_FRAME]
            if quality
            else pd.DataFrame(columns=QUALITY_FRAME)
        )
        return ReadResult(frames, q, cursors, incremental, started, notes)
    finally:
        connector.close()


@dataclass
class _StreamRead:
    connector: Connector
    source: SourceConfig
    ctx: TransformContext
    fetched_at: datetime
    progress: Progress | None
    cancelled: threading.Event | None

    def __call__(
        self, entity: str, cursor: str | None
    ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, str | None]:
        """(rows, quarantined rows, quality notes, the new cursor) of one stream."""
        stream = self.source.entities[entity]
        name = self.source.name
        rows: list[pd.DataFrame] = []
        bad: list[pd.DataFrame] = []
        notes: list[pd.DataFrame] = []
        new_cursor = None
        seen = 0
        if self.progress:
            self.progress(name, entity, 0)
        for batch in self.connector.read(entity, cursor):
            if self.cancelled is not None and self.cancelled.is_set():
                raise Abandoned(name)
            mapped = map_stream(batch.frame, entity, stream, self.ctx, source=name)
            rows.append(mapped.rows)
            bad.append(mapped.quarantine)
            notes.append(mapped.quality.assign(_batch=len(rows) - 1))
            new_cursor = batch.cursor or new_cursor
            seen += len(batch.frame)
            if self.progress:
                self.progress(name, entity, seen)
        frame = _concat(rows)
        noted = _concat(notes)
        if len(frame):
            # a record changed twice within one read: the later version wins, with its notes
            count = len(frame)
            frame["_batch"] = np.repeat(np.arange(len(rows)), [len(r) for r in rows])
            frame = frame.drop_duplicates("record_id", keep="last").reset_index(drop=True)
            if len(frame) < count and len(noted):
                latest = frame[["record_id", "_batch"]]
                noted = noted.merge(latest, on=["record_id", "_batch"], how="inner")
            frame = frame.drop(columns="_batch")
        noted = noted.drop(columns="_batch", errors="ignore")
        frame["fetched_at"] = pd.Timestamp(self.fetched_at)
        return frame, _concat(bad), noted, new_cursor


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({"record_id": pd.Series([], dtype=object)})
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def failure_message(exc: BaseException) -> str:
    """The error a failed read shows: the source's own words, never a traceback."""
    if isinstance(exc, SourceError):
        return str(exc)
    if isinstance(exc, MappingError):
        return f"mapping error: {exc}"
    return f"unexpected {type(exc).__name__} while syncing (see the log)"


def deadline_message(source: SourceConfig) -> str:
    seconds = source.read_deadline.total_seconds()
    setting = "its deadline" if source.deadline else "its deadline (10 times its timeout)"
    return (
        f"no result within {seconds:g}s, {setting}: the read was abandoned and the last good "
        f"snapshot stays; raise `deadline` (or `timeout`) of source {source.name} if it is "
        "merely slow, else check the source"
    )


# ----------------------------------------------------------------------------- a round

#: what a finished read hands the writer: its result, or the exception it raised
Outcome = ReadResult | BaseException

#: with every source either done or in flight, and no read ending for this long, the writer
#: is told (`Hooks.idle`): it publishes what the finished sources brought instead of
#: holding it back until the slowest read ends
IDLE_SECONDS = 2.0


@dataclass
class Hooks:
    """What the writer does as the round goes; each is called on the writer's thread."""

    #: a read ended in time: its result or its exception
    finished: Callable[[SourceConfig, Outcome], None]
    #: a read passed its deadline and was abandoned
    abandoned: Callable[[SourceConfig], None]
    #: a read was started
    started: Callable[[SourceConfig], None] = lambda source: None
    #: nothing waits to start and no read has ended for IDLE_SECONDS
    idle: Callable[[], None] = lambda: None


@dataclass
class _Running:
    source: SourceConfig
    thread: threading.Thread
    cancelled: threading.Event
    deadline: float


class ReadRound:
    """Reads sources on threads, at most `concurrency` at a time, and hands each outcome to
    the calling thread (the one writer) as it arrives. Reads still running from an earlier
    round (abandoned at their deadline) are remembered, so a source is never read twice at
    once."""

    def __init__(self, concurrency: int, idle_seconds: float = IDLE_SECONDS) -> None:
        self.concurrency = concurrency
        self.idle_seconds = idle_seconds
        self._leftover: dict[str, threading.Thread] = {}

    def still_running(self, name: str) -> bool:
        thread = self._leftover.get(name)
        if thread is not None and not thread.is_alive():
            del self._leftover[name]
            return False
        return thread is not None

    def run(
        self,
        sources: list[SourceConfig],
        read: Callable[[SourceConfig, threading.Event], ReadResult],
        hooks: Hooks,
    ) -> None:
        running: dict[str, _Running] = {}
        try:
            self._loop(list(sources), running, read, hooks)
        finally:
            for late in running.values():  # the writer failed: nobody waits for these now
                late.cancelled.set()
                self._leftover[late.source.name] = late.thread

    def _loop(
        self,
        waiting: list[SourceConfig],
        running: dict[str, _Running],
        read: Callable[[SourceConfig, threading.Event], ReadResult],
        hooks: Hooks,
    ) -> None:
        done: queue.Queue[tuple[str, threading.Event, Outcome]] = queue.Queue()

        def work(source: SourceConfig, cancelled: threading.Event) -> None:
            try:
                outcome: Outcome = read(source, cancelled)
            except BaseException as exc:  # handed to the writer, never lost in a thread
                outcome = exc
            done.put((source.name, cancelled, outcome))

        quiet_since: float | None = time.monotonic()  # None: the writer was told already
        while waiting or running:
            while waiting and len(running) < self.concurrency:
                source = waiting.pop(0)
                cancelled = threading.Event()
                thread = threading.Thread(
                    target=work, args=(source, cancelled), name=f"read-{source.name}", daemon=True
                )
                running[source.name] = _Running(
                    source, thread, cancelled, time.monotonic() + source.read_deadline.total_seconds()
                )
                hooks.started(source)
                thread.start()
            wake = min(r.deadline for r in running.values())
            if quiet_since is not None and not waiting:
                wake = min(wake, quiet_since + self.idle_seconds)
            try:
                name, cancelled, outcome = done.get(timeout=max(0.0, wake - time.monotonic()))
            except queue.Empty:
                now = time.monotonic()
                for late in [r for r in running.values() if r.deadline <= now]:
                    late.cancelled.set()
                    self._leftover[late.source.name] = late.thread
                    del running[late.source.name]
                    log.warning("source %s: abandoned at its deadline", late.source.name)
                    hooks.abandoned(late.source)
                    quiet_since = now
                if quiet_since is not None and not waiting and now >= quiet_since + self.idle_seconds:
                    quiet_since = None
                    hooks.idle()
                continue
            current = running.get(name)
            if current is None or current.cancelled is not cancelled:
                continue  # a read abandoned earlier: its result is thrown away
            del running[name]
            hooks.finished(current.source, outcome)
            quiet_since = time.monotonic()
