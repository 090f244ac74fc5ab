"""Sync: read sources through their connectors, normalise, snapshot, reconcile, publish.

One process syncs at a time (it holds the store's sync lock). A source that fails keeps its
last good snapshot and is reported stale with its error; the others are published anyway.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pandas as pd

from connectors.base import Connector, SourceConfig, SourceError
from connectors.registry import connector_class
from federation.config.settings import Config
from federation.pipeline.log_context import about_source
from federation.pipeline.reconcile import ReconcileReport, reconcile
from federation.pipeline.store import Publisher, SourceState, SourceStore
from transforms.context import TransformContext
from transforms.mapping import MappingError, map_stream

log = logging.getLogger("assetgraph.sync")

#: the time of a source's last full read, kept with its cursors
FULL_READ_KEY = "__full_read_at__"

#: progress callback: (source, entity, records read so far) — entity None when starting
Progress = Callable[[str, str | None, int], None]


@dataclass
class SourceResult:
    source: str
    ok: bool
    records: int = 0
    quarantined: int = 0
    seconds: float = 0.0
    error: str | None = None
    incremental: list[str] = field(default_factory=list)


@dataclass
class SyncReport:
    sources: list[SourceResult]
    snapshot_id: str | None = None
    reconcile: ReconcileReport | None = None

    @property
    def failed(self) -> list[SourceResult]:
        return [s for s in self.sources if not s.ok]


def transform_context(config: Config) -> TransformContext:
    s = config.settings
    return TransformContext(
        base_currency=s.currency.base,
        rates=dict(s.currency.rates),
        categories=tuple(s.vocabularies.categories),
        category_aliases=dict(s.vocabularies.category_aliases),
        status_aliases=dict(s.vocabularies.status_aliases),
        manufacturer_aliases=dict(s.vocabularies.manufacturer_aliases),
    )


def _now() -> datetime:
    return datetime.now(UTC)


class Syncer:
    """Owns the source snapshots; call only while holding the store's SyncLock."""

    def __init__(self, config: Config) -> None:
        self.config = config
        root = config.resolve(config.settings.store.path)
        self.store = SourceStore(root, config.settings.store.memory_limit)
        self.publisher = Publisher(root, keep=config.settings.store.keep)
        self.ctx = transform_context(config)

    def close(self) -> None:
        self.store.close()

    # one source ------------------------------------------------------------------------
    def sync_source(self, source: SourceConfig, progress: Progress | None = None) -> SourceResult:
        started = _now()
        t0 = time.perf_counter()
        result = SourceResult(source=source.name, ok=False)
        previous = self.store.state(source.name)
        try:
            connector = connector_class(source.kind)(source, base_dir=self.config.base_dir)
        except Exception as exc:  # a broken third-party connector must not stop the others
            return self._fail(source, result, f"cannot start the {source.kind} connector: {exc}", t0)
        try:
            connector.check()
            frames: dict[str, pd.DataFrame] = {}
            quarantine: list[pd.DataFrame] = []
            cursors: dict[str, str] = dict((previous.cursors or {}) if previous else {})
            # a full read now and then: incremental reads never see records deleted at the source
            last_full = cursors.get(FULL_READ_KEY)
            full = source.full_refresh is not None and (
                last_full is None or started - datetime.fromisoformat(last_full) >= source.full_refresh
            )
            if full:
                cursors = {}
            incremental: set[str] = set()
            for entity, stream in source.entities.items():
                cursor = cursors.get(entity) if stream.cursor else None
                if self.store.columns(source.name, entity) is None:
                    cursor = None
                rows, bad, new_cursor = self._read_stream(
                    connector, source, entity, cursor, started, progress
                )
                stored = self.store.columns(source.name, entity)
                if cursor is not None and len(rows) and set(rows.columns) != set(stored or ()):
                    # the mapping changed since the last sync: read everything again
                    cursor = None
                    rows, bad, new_cursor = self._read_stream(
                        connector, source, entity, None, started, progress
                    )
                frames[entity] = rows
                if len(bad):
                    quarantine.append(bad.assign(entity=entity))
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
            state = self.store.replace_source(
                source.name,
                source.kind,
                frames,
                q,
                cursors,
                incremental=incremental,
                started_at=started,
            )
        except SourceError as exc:
            return self._fail(source, result, str(exc), t0)
        except MappingError as exc:
            return self._fail(source, result, f"mapping error: {exc}", t0)
        except Exception as exc:
            log.exception("sync of %s failed unexpectedly", source.name)
            return self._fail(
                source, result, f"unexpected {type(exc).__name__} while syncing (see the log)", t0
            )
        finally:
            connector.close()
        result.ok = True
        result.records = state.record_count
        result.quarantined = len(q)
        result.incremental = sorted(incremental)
        result.seconds = time.perf_counter() - t0
        return result

    def _fail(self, source: SourceConfig, result: SourceResult, error: str, t0: float) -> SourceResult:
        self.store.record_failure(source.name, source.kind, error)
        log.warning("source %s failed: %s", source.name, error)
        result.error = error
        result.seconds = time.perf_counter() - t0
        return result

    def _read_stream(
        self,
        connector: Connector,
        source: SourceConfig,
        entity: str,
        cursor: str | None,
        fetched_at: datetime,
        progress: Progress | None,
    ) -> tuple[pd.DataFrame, pd.DataFrame, str | None]:
        stream = source.entities[entity]
        rows: list[pd.DataFrame] = []
        bad: list[pd.DataFrame] = []
        new_cursor = None
        seen = 0
        if progress:
            progress(source.name, entity, 0)
        for batch in connector.read(entity, cursor):
            mapped = map_stream(batch.frame, entity, stream, self.ctx, source=source.name)
            rows.append(mapped.rows)
            bad.append(mapped.quarantine)
            new_cursor = batch.cursor or new_cursor
            seen += len(batch.frame)
            if progress:
                progress(source.name, entity, seen)
        frame = _concat(rows)
        if len(frame):
            # a record changed twice within one read: the later version wins
            frame = frame.drop_duplicates("record_id", keep="last").reset_index(drop=True)
        frame["fetched_at"] = pd.Timestamp(fetched_at)
        return frame, _concat(bad), new_cursor

    # everything -------------------------------------------------------------------------
    def run(self, names: Iterable[str] | None = None, progress: Progress | None = None) -> SyncReport:
        """Sync the named sources (default: all enabled), then publish a new snapshot."""
        wanted = list(names) if names is not None else None
        chosen = [
            s
            for s in self.config.sources
            if (wanted is None and s.enabled) or (wanted is not None and s.name in wanted)
        ]
        results = []
        for source in chosen:
            with about_source(source.name):  # log lines name the source they concern
                results.append(self.sync_source(source, progress))
        report = SyncReport(sources=results)
        report.snapshot_id, report.reconcile = self.publish()
        return report

    def publish(self) -> tuple[str, ReconcileReport]:
        configured = {s.name for s in self.config.sources}
        for state in self.store.states():
            if state.source not in configured:
                self.store.drop_source(state.source)
        states = {s.source: s for s in self.store.states()}
        now = _now()
        holder: dict[str, ReconcileReport] = {}

        def build(con: object) -> None:
            holder["report"] = reconcile(self.store.con, self.config, states, now)
            self._publish_status(states)
            self.store.con.execute(
                "INSERT INTO pub.quarantine SELECT source, entity, record_id, reason, raw, "
                "quarantined_at FROM quarantine"
            )

        snapshot_id = self.publisher.publish_with(self.store.con, build)
        return snapshot_id, holder["report"]

    def _publish_status(self, states: dict[str, SourceState]) -> None:
        rows = []
        for s in self.config.sources:
            st = states.get(s.name) or SourceState(s.name, s.kind)
            stale = st.status != "ok"
            rows.append(
                (
                    s.name,
                    s.kind,
                    st.status,
                    st.last_sync_at,
                    st.last_success_at,
                    st.record_count,
                    stale,
                    st.error,
                )
            )
        self.store.con.executemany("INSERT INTO pub.source_status VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame({"record_id": pd.Series([], dtype=object)})
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
