"""A write, from authorized values to the owning sources and back into the served graph.

    writer = Writer(config, workflow_store)
    done = writer.update(snapshot, "assets", [asset_id], {"status": "in_repair"}, caller)
    each = writer.each(snapshot, "assets", [[(a, {"status": "in_use"})], [(b, {…})]], caller)

For each entity: every column is routed to the source that owns it (routing.py); the values
are mapped back into each source's columns and vocabulary (transforms/reverse.py); the
source's record is fetched and mapped forward, and if it no longer holds the value the
caller's snapshot showed, the write is refused with CONFLICT (nothing written). A value
sent equal to the snapshot's is checked the same way (the snapshot may be stale) and
dropped only where the source still holds it. Only when
every source involved has passed those checks is anything written, each write conditional
on the record still holding what was fetched (the connector checks it with the write). A
source that refuses after another was written has that other write undone. Each written
record is read back, mapped forward, and patched into the published snapshot at once
(Publisher.patch); every field, accepted or refused, goes into the change history (a
refusal's reason on the fields it concerns: history.py).

`update` is one such write of all its entities; `each` is several, each all or nothing on
its own (a bulk check-out: one per scan). Either way the stages run once for the whole call
(steps.py: one load, one fetch per source, one mapping pass per source), and the call
publishes one snapshot and records its history in one insert.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.base import Connector
from connectors.registry import connector_class
from federation.config.settings import Config
from federation.model import TABLES, Table
from federation.pipeline.patches import Patch
from federation.pipeline.store import Publisher, Snapshot, StoreReader
from federation.pipeline.sync import transform_context
from federation.workflow import Change, WorkflowStore
from federation.writes.errors import WriteError
from federation.writes.history import Caller, refused
from federation.writes.references import Keys
from federation.writes.routing import field_of
from federation.writes.steps import Unit, run
from transforms.reverse import writable_fields


@dataclass
class Written:
    """What an accepted write did: the entities written and the snapshot that shows them."""

    entity_ids: list[str]
    snapshot_id: str | None
    changes: list[Change]

    #: the published file of `snapshot_id`
    snapshot_path: Path | None = None


@dataclass
class Batch:
    """Patches of the writes in a `Writer.batch()` block; the snapshot they made once it ended."""

    patches: list[Patch] = field(default_factory=list)
    snapshot_id: str | None = None
    snapshot_path: Path | None = None


class Writer:
    def __init__(self, config: Config, workflow: WorkflowStore | None = None) -> None:
        self.config = config
        self.workflow = workflow
        root = config.resolve(config.settings.store.path)
        self.publisher = Publisher(root, keep=config.settings.store.keep, clean=False)
        self._reader = StoreReader(root)
        self.ctx = transform_context(config)
        self._connectors: dict[str, Connector] = {}
        #: one write at a time in this process (sources see conditional writes anyway)
        self.lock = threading.RLock()
        #: patches held back by `batch()` in this thread, published when it ends
        self._held = threading.local()

    def close(self) -> None:
        for connector in self._connectors.values():
            connector.close()
        self._connectors.clear()

    # ------------------------------------------------------------------ what can be written
    def latest(self, snapshot: Snapshot) -> Snapshot:
        """The newest published snapshot (with the writes made since `snapshot`, the caller's)."""
        return self._reader.current() or snapshot

    def connector(self, source: str) -> Connector:
        found = self._connectors.get(source)
        if found is None:
            config = self.config.source(source)
            found = connector_class(config.kind)(config, base_dir=self.config.base_dir)
            self._connectors[source] = found
        return found

    def can_write(self, source: str, entity: str, name: str) -> str | None:
        """None when `source` can write field `name` of `entity`, else why not."""
        config = self.config.source(source)
        if not connector_class(config.kind).writable:
            return f"is read-only ({config.kind})"
        stream = config.entities.get(entity)
        if stream is None or name not in stream.fields:
            return f"does not map `{name}` of {entity}"
        reason = writable_fields(stream, entity).get(name)
        return None if reason is None else f"maps it one way only ({reason})"

    def can_delete(self, source: str, entity: str) -> str | None:
        """None when `source` can delete records of `entity`, else why not."""
        config = self.config.source(source)
        if not connector_class(config.kind).writable:
            return f"is read-only ({config.kind})"
        return None if entity in config.entities else f"does not hold {entity}"

    def insertable_columns(self, entity: str) -> set[str]:
        """Columns of `entity` its home source can be given on insert (none: no home)."""
        home = self.config.rules(entity).home
        if home is None or not connector_class(self.config.source(home).kind).writable:
            return set()
        stream = self.config.source(home).entities.get(entity)
        if stream is None:
            return set()
        fields = {f for f, why in writable_fields(stream, entity, for_insert=True).items() if why is None}
        table = TABLES[entity]
        return {c for c in table.column_names if c != "id" and field_of(table, c) in fields}

    def deletable(self, entity: str) -> bool:
        """Whether some source of `entity` can delete its records."""
        return any(
            entity in s.entities and self.can_delete(s.name, entity) is None
            for s in self.config.sources
            if s.enabled
        )

    def writable_columns(self, entity: str) -> set[str]:
        """Columns of `entity` that at least one configured source could write."""
        table = TABLES[entity]
        out: set[str] = set()
        for column in table.column_names:
            name = field_of(table, column)
            if column == "id":
                continue
            if any(self.can_write(s.name, entity, name) is None for s in self.config.sources if s.enabled):
                out.add(column)
        return out

    @contextmanager
    def batch(self) -> Iterator[Batch]:
        """Writes in the block publish their patches once, when it ends (a bulk check-out of
        100 scans makes one snapshot, not 100). Each write still goes to its source at once."""
        if getattr(self._held, "batch", None) is not None:
            raise RuntimeError("batches do not nest")
        batch = Batch()
        self._held.batch = batch
        try:
            yield batch
        finally:
            self._held.batch = None
            if batch.patches:
                batch.snapshot_id = self.publisher.patch(batch.patches)
                if batch.snapshot_id:
                    batch.snapshot_path = self.publisher.dir / f"{batch.snapshot_id}.duckdb"

    # ------------------------------------------------------------------ update
    def update(
        self,
        snapshot: Snapshot,
        entity: str,
        entity_ids: Sequence[str],
        values: Mapping[str, Any],
        caller: Caller,
    ) -> Written:
        """Set `values` (column → model value) on each entity; all or nothing."""
        (done,) = self.each(snapshot, entity, [[(i, values) for i in entity_ids]], caller)
        if isinstance(done, WriteError):
            raise done
        return done

    def each(
        self,
        snapshot: Snapshot,
        entity: str,
        writes: Sequence[Sequence[tuple[str, Mapping[str, Any]]]],
        caller: Caller,
    ) -> list[Written | WriteError]:
        """Several writes in one call, each all or nothing on its own: `writes` holds, per
        write, (entity id, column → model value) pairs. One write's refusal neither stops nor
        undoes another's; each has its own history rows, accepted or refused. The stages run
        once for all of them (steps.py) and they publish one snapshot together."""
        table = TABLES[entity]
        units = [Unit([(i, v) for i, v in pairs]) for pairs in writes]
        with self.lock:
            run(self, snapshot, table, units, Keys(snapshot))
            patches = [p for u in units if u.error is None for p in u.patches]
            snapshot_id, path = self.publish(patches) if patches else (None, None)
            changes: list[Change] = []
            for unit in units:
                changes += (
                    self._refused(table, unit, caller) if unit.error else self._accepted(table, unit, caller)
                )
            recorded = iter(self.record(changes))
        out: list[Written | WriteError] = []
        for unit in units:
            rows = [next(recorded) for _ in range(self._rows(unit))]
            out.append(unit.error or Written(unit.entity_ids, snapshot_id, rows, path))
        return out

    def publish(self, patches: list[Patch]) -> tuple[str | None, Path | None]:
        """Patch the served graph now, or at the end of the thread's `batch()`."""
        batch: Batch | None = getattr(self._held, "batch", None)
        if batch is not None:
            batch.patches += patches
            return None, None
        snapshot_id = self.publisher.patch(patches)
        return snapshot_id, self.publisher.dir / f"{snapshot_id}.duckdb" if snapshot_id else None

    def record(self, changes: list[Change]) -> list[Change]:
        """Keep `changes` in the history (returned with their ids and times)."""
        return self.workflow.record_changes(changes) if self.workflow is not None else changes

    # ------------------------------------------------------------------ history
    @staticmethod
    def _rows(unit: Unit) -> int:
        """How many history rows a unit has (accepted: one per column written; refused: one
        per column asked of each entity found)."""
        if unit.error is None:
            return sum(len(s.columns) for s in unit.steps)
        return sum(len(values) for i, values in unit.writes if i in unit.holdings)

    @staticmethod
    def _accepted(table: Table, unit: Unit, caller: Caller) -> list[Change]:
        return [
            Change(
                entity=table.name,
                entity_id=step.holding.entity_id,
                field=column,
                before=step.holding.row.get(column),
                after=value,
                outcome="accepted",
                actor=caller.actor,
                role=caller.role,
                source=step.route.source,
                record_id=step.route.record_id,
                request_id=caller.request_id,
            )
            for step in unit.steps
            for column, value in step.columns.items()
        ]

    @staticmethod
    def _refused(table: Table, unit: Unit, caller: Caller) -> list[Change]:
        assert unit.error is not None
        fields = [
            (entity_id, column, unit.holdings[entity_id].row.get(column), value)
            for entity_id, values in unit.writes
            if entity_id in unit.holdings
            for column, value in values.items()
        ]
        return refused(table.name, fields, caller, unit.error)
