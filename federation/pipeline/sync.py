"""Sync: read sources through their connectors, normalise, snapshot, reconcile, publish.

One process syncs at a time (it holds the store's sync lock). Within a round, sources are
read side by side (`sync.concurrency`, each within its `deadline`) and written one at a time
by the calling thread. A source that fails keeps its last good snapshot and is reported stale
with its error; a read that breaks the source's `guard` is held the same way until it passes
or is accepted; the others are published anyway.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from connectors.base import SourceConfig, SourceError
from federation.config.settings import Config
from federation.model import TABLES
from federation.pipeline import delta
from federation.pipeline.guard import guard_breaches, held_reason
from federation.pipeline.log_context import about_source
from federation.pipeline.patches import Journal, publish_lock
from federation.pipeline.reading import (
    Baseline,
    Hooks,
    Outcome,
    Progress,
    ReadResult,
    ReadRound,
    SyncEvent,
    deadline_message,
    failure_message,
    read_source,
)
from federation.pipeline.reconcile import ReconcileReport, identity_rules, reconcile
from federation.pipeline.stacking import stack_all, stale_by_entity
from federation.pipeline.store import Built, Publisher, SourceState, SourceStore, snapshot_table
from transforms.context import TransformContext
from transforms.mapping import MappingError

log = logging.getLogger("assetgraph.sync")

__all__ = ["Progress", "SourceResult", "SyncEvent", "SyncReport", "Syncer", "transform_context"]


@dataclass
class SourceResult:
    source: str
    ok: bool
    records: int = 0
    quarantined: int = 0
    #: values blanked in published records (quality notes)
    noted: int = 0
    seconds: float = 0.0
    error: str | None = None
    incremental: list[str] = field(default_factory=list)
    #: ok | failed | held (the read broke the source's guard; its last snapshot stays)
    status: str = "failed"


@dataclass
class SyncReport:
    sources: list[SourceResult]
    snapshot_id: str | None = None
    reconcile: ReconcileReport | None = None
    #: the round's steps in the order they happened
    events: list[SyncEvent] = field(default_factory=list)
    #: the pid of the process that ran it when it was requested of another (None: this one)
    served_by: int | None = None

    @property
    def failed(self) -> list[SourceResult]:
        return [s for s in self.sources if not s.ok]


#: a reason with its quoted values (`'31/31/24'`, `"O'Neil"`) as `…`: the summary's grouping.
#: A value's opening quote follows the start, a space or a bracket, never a letter (`field's`)
REASON_PATTERN = r"""regexp_replace(reason, '(^|[\s(\[])("[^"]*"|''[^'']*'')', '\1…', 'g')"""

#: published tables rebuilt whole even by an incremental publish
REPLACED_WHOLE = ("quarantine", "quality", "record_quality", "quality_summary", "source_status")
#: the quality notes into the snapshot being published: as kept (`quality`), by the entity
#: each record merged into (`record_quality`, for assets.quality), and counted
QUALITY_PUBLISH = (
    "INSERT INTO pub.quality SELECT source, entity, record_id, field, value, reason, noted_at FROM quality",
    "INSERT INTO pub.record_quality SELECT q.entity, r.entity_id, q.field, q.source, q.record_id, "
    "q.value, q.reason FROM quality AS q JOIN pub.record_sources AS r "
    "ON r.entity = q.entity AND r.source = q.source AND r.record_id = q.record_id",
    f"INSERT INTO pub.quality_summary SELECT source, entity, field, {REASON_PATTERN} AS reason, "
    "count(*) FROM quality GROUP BY ALL",
)


def transform_context(config: Config) -> TransformContext:
    s = config.settings
    return TransformContext(
        base_currency=s.currency.base,
        rates=dict(s.currency.rates),
        categories=tuple(s.vocabularies.categories),
        category_aliases=dict(s.vocabularies.category_aliases),
        status_aliases=dict(s.vocabularies.status_aliases),
        manufacturer_aliases=dict(s.vocabularies.manufacturer_aliases),
        identity={e: tuple(tuple(rule) for rule in config.rules(e).identity or ()) for e in TABLES},
    )


def _now() -> datetime:
    return datetime.now(UTC)


class Syncer:
    """Owns the source snapshots; call only while holding the store's SyncLock, from one
    thread (the reads run on their own threads; every write happens on the caller's)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        root = config.resolve(config.settings.store.path)
        self.store = SourceStore(root, config.settings.store.memory_limit)
        self.publisher = Publisher(root, keep=config.settings.store.keep)
        self.ctx = transform_context(config)
        self.reads = ReadRound(config.settings.sync.concurrency)

    def close(self) -> None:
        self.store.close()

    # sources ---------------------------------------------------------------------------
    def sync_source(
        self, source: SourceConfig, progress: Progress | None = None, *, accept: bool = False
    ) -> SourceResult:
        """Read and write one source (not published: see `run`)."""
        return self.sync_sources([source], progress, accept={source.name} if accept else set())[0][0]

    def sync_sources(
        self,
        sources: list[SourceConfig],
        progress: Progress | None = None,
        *,
        accept: set[str] | frozenset[str] = frozenset(),
        publish: bool = False,
    ) -> tuple[list[SourceResult], list[SyncEvent]]:
        """Read the sources side by side, write each as its read arrives (guard permitting:
        the sources in `accept` skip their guard once); results in the order given. With
        `publish`, what has been written is published while slow reads go on."""
        results: dict[str, SourceResult] = {}
        events: list[SyncEvent] = []
        clocks: dict[str, float] = {}
        baselines: dict[str, Baseline] = {}
        ready: list[SourceConfig] = []
        for source in sources:
            clocks[source.name] = time.perf_counter()
            if self.reads.still_running(source.name):
                error = (
                    "its previous read, abandoned at its deadline, has not ended yet; the last "
                    "good snapshot stays until a read ends in time"
                )
                results[source.name] = self._fail(source, error, clocks, events)
                continue
            baselines[source.name] = self._baseline(source)
            ready.append(source)

        def read(source: SourceConfig, cancelled: threading.Event) -> ReadResult:
            return read_source(
                source,
                baselines[source.name],
                self.ctx,
                base_dir=self.config.base_dir,
                started=_now(),
                progress=progress,
                cancelled=cancelled,
            )

        def started(source: SourceConfig) -> None:
            clocks[source.name] = time.perf_counter()
            events.append(SyncEvent(source.name, "started"))

        def finished(source: SourceConfig, outcome: Outcome) -> None:
            baseline, accepted = baselines[source.name], source.name in accept
            results[source.name] = self._write(source, outcome, baseline, accepted, clocks, events)

        def abandoned(source: SourceConfig) -> None:
            results[source.name] = self._fail(source, deadline_message(source), clocks, events, "abandoned")

        published_count = 0

        def idle() -> None:
            # the finished sources need not wait for the slowest read: publish them now
            nonlocal published_count
            if publish and len(results) > published_count:
                published_count = len(results)
                self.publish(remember=False)  # ids of new records are fixed by the round's end
                events.append(SyncEvent("", "published"))

        self.reads.run(ready, read, Hooks(finished, abandoned, started, idle))
        return [results[s.name] for s in sources], events

    def _baseline(self, source: SourceConfig) -> Baseline:
        previous = self.store.state(source.name)
        tables = self.store.tables()
        columns: dict[str, list[str] | None] = {}
        counts: dict[str, int] = {}
        for entity in source.entities:
            name = snapshot_table(source.name, entity)
            columns[entity] = self.store.columns(source.name, entity) if name in tables else None
            if name in tables:
                counts[entity] = self.store.con.execute(f'SELECT count(*) FROM "{name}"').fetchall()[0][0]
        cursors = dict((previous.cursors or {}) if previous else {})
        return Baseline(cursors=cursors, columns=columns, counts=counts)

    def _write(
        self,
        source: SourceConfig,
        outcome: Outcome,
        baseline: Baseline,
        accepted: bool,
        clocks: dict[str, float],
        events: list[SyncEvent],
    ) -> SourceResult:
        if isinstance(outcome, BaseException):
            if not isinstance(outcome, SourceError | MappingError):
                with about_source(source.name):
                    log.error("sync of %s failed unexpectedly", source.name, exc_info=outcome)
            return self._fail(source, failure_message(outcome), clocks, events)
        breaches = guard_breaches(source, outcome.frames, outcome.incremental, baseline.counts)
        if breaches and not accepted:
            return self._fail(source, held_reason(source.name, breaches), clocks, events, "held")
        if breaches:
            with about_source(source.name):
                reasons = "; ".join(breaches)
                log.warning("source %s: read accepted despite its guard: %s", source.name, reasons)
        try:
            state = self.store.replace_source(
                source.name,
                source.kind,
                outcome.frames,
                outcome.quarantine,
                outcome.cursors,
                incremental=outcome.incremental,
                started_at=outcome.started,
                quality=outcome.quality,
            )
        except Exception as exc:
            log.exception("writing the snapshot of %s failed", source.name)
            return self._fail(source, failure_message(exc), clocks, events)
        events.append(SyncEvent(source.name, "written"))
        return SourceResult(
            source=source.name,
            ok=True,
            status="ok",
            records=state.record_count,
            quarantined=len(outcome.quarantine),
            noted=len(outcome.quality),
            incremental=sorted(outcome.incremental),
            seconds=time.perf_counter() - clocks[source.name],
        )

    def _fail(
        self,
        source: SourceConfig,
        error: str,
        clocks: dict[str, float],
        events: list[SyncEvent],
        what: str = "failed",
    ) -> SourceResult:
        status = "held" if what == "held" else "failed"
        self.store.record_failure(source.name, source.kind, error, status=status)
        with about_source(source.name):  # log lines name the source they concern
            log.warning("source %s %s: %s", source.name, status, error)
        events.append(SyncEvent(source.name, what))
        return SourceResult(
            source=source.name,
            ok=False,
            status=status,
            error=error,
            seconds=time.perf_counter() - clocks[source.name],
        )

    # everything -------------------------------------------------------------------------
    def run(
        self,
        names: Iterable[str] | None = None,
        progress: Progress | None = None,
        *,
        accept: Iterable[str] = (),
    ) -> SyncReport:
        """Sync the named sources, then publish a new snapshot. Without names: every enabled
        source, or only the accepted ones when `accept` names any. Sources in `accept` are
        written even if their read breaks their guard (an admin has looked at it)."""
        accepted = set(accept)
        wanted = None if names is None and not accepted else {*(names or ()), *accepted}
        chosen = [
            s
            for s in self.config.sources
            if (wanted is None and s.enabled) or (wanted is not None and s.name in wanted)
        ]
        results, events = self.sync_sources(chosen, progress, accept=accepted, publish=True)
        report = SyncReport(sources=results, events=events)
        report.snapshot_id, report.reconcile = self.publish()
        events.append(SyncEvent("", "published"))
        return report

    def publish(self, *, remember: bool = True) -> tuple[str, ReconcileReport]:
        """Reconcile the source snapshots into a new published snapshot: merging everything,
        or into a copy of the last one only what changed (federation/pipeline/delta.py);
        `remember=False` for a publish made while reads go on (see `reconcile`)."""
        configured = {s.name for s in self.config.sources}
        for state in self.store.states():
            if state.source not in configured:
                self.store.drop_source(state.source)
        states = {s.source: s for s in self.store.states()}
        con = self.store.con
        stale = stale_by_entity(self.config, states, _now())
        fields = stack_all(con, self.config)
        rules = {e: identity_rules(self.config, TABLES[e], f) for e, f in fields.items()}
        with publish_lock(self.publisher.root):  # a writer appends to the journal under it
            patched = [(p.entity, p.entity_id) for p in Journal(self.publisher.root).entries()]
        base = self.publisher.current_path()
        plan = delta.plan(con, self.config, rules, fields, stale, patched, base_exists=base is not None)
        holder: dict[str, ReconcileReport] = {}

        def build(_: object) -> Built:
            if plan.incremental and not delta.carries(con, plan.token):
                delta.clear_all(con)
                plan.fall_back("the published file is not the last publish's")
            elif plan.incremental:
                for aux in REPLACED_WHOLE:
                    con.execute(f"DELETE FROM pub.{aux}")
            if not plan.incremental and base is not None:
                log.info("merging every record: %s", plan.reason)
            holder["report"] = reconcile(con, self.config, plan, fields, stale, remember=remember)
            self._publish_status(states)
            con.execute(
                "INSERT INTO pub.quarantine SELECT source, entity, record_id, reason, raw, "
                "quarantined_at FROM quarantine"
            )
            for statement in QUALITY_PUBLISH:
                con.execute(statement)
            delta.publish_provisional(con)
            return Built(token=delta.remember(con, plan), regroup=not plan.incremental)

        # values written back since a source's last read stay patched in (patches.py)
        read_started = {name: state.last_success_at for name, state in states.items()}
        try:
            snapshot_id = self.publisher.publish_with(
                con, build, read_started=read_started, base=base if plan.incremental else None
            )
        finally:
            delta.drop_scratch(con)
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
