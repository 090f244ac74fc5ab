"""A write, from authorized values to the owning sources and back into the served graph.

    writer = Writer(config, workflow_store)
    done = writer.update(snapshot, "assets", [asset_id], {"status": "in_repair"}, caller)

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
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from connectors.base import Connector, SourceError, StreamConfig, WriteRefused
from connectors.registry import connector_class
from federation.config.settings import Config
from federation.model import TABLES, Table
from federation.pipeline.patches import Patch
from federation.pipeline.store import Publisher, Snapshot, StoreReader
from federation.pipeline.sync import transform_context
from federation.workflow import Change, WorkflowStore
from federation.writes.errors import Code, WriteError
from federation.writes.history import Caller, refused
from federation.writes.references import changed, id_of, key_of, reference_of
from federation.writes.routing import Holding, Route, field_of, load, route
from federation.writes.values import UnreadableRecord, map_record, same
from transforms.reverse import NotReversible, to_source, writable_fields

#: WriteRefused.kind → the error code the caller sees
_CODES: dict[str, Code] = {
    "invalid": "BAD_USER_INPUT",
    "forbidden": "FORBIDDEN",
    "not_found": "CONFLICT",
    "conflict": "CONFLICT",
}


@dataclass
class _Step:
    """The write of one record at one source."""

    holding: Holding
    route: Route
    stream: StreamConfig
    #: column → new value (model form); the mapped fields' values (a reference's key, not
    #: its id); and the raw columns they become at the source
    columns: dict[str, Any]
    unified: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict)
    #: the record as fetched before writing (raw), and what the write read back
    before: dict[str, Any] = field(default_factory=dict)
    after: dict[str, Any] | None = None
    #: columns sent with the value the caller's snapshot shows: written only where the
    #: source no longer holds it (then it is a CONFLICT, as for any other column)
    unchanged: set[str] = field(default_factory=set)


@dataclass
class Written:
    """What an accepted write did: the entities written and the snapshot that shows them."""

    entity_ids: list[str]
    snapshot_id: str | None
    changes: list[Change]

    #: the published file of `snapshot_id`
    snapshot_path: Path | None = None


def refusal(exc: SourceError, source: str, prefix: str, undone: str | None) -> WriteError:
    """A source's refusal (or absence) as the caller's error; `undone`: what was rolled back."""
    code: Code = _CODES[exc.kind] if isinstance(exc, WriteRefused) else "SOURCE_UNAVAILABLE"
    extra: dict[str, Any] = {"source": source}
    if isinstance(exc, WriteRefused) and exc.fields:
        extra["fields"] = exc.fields
    verb = "refused the write" if isinstance(exc, WriteRefused) else "could not be written"
    message = f"{prefix}source `{source}` {verb}: {exc}"
    if undone:
        message += "; " + undone
    return WriteError(code, message, **extra)


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
        table = TABLES[entity]
        with self.lock:
            holdings = load(snapshot, entity, entity_ids, list(values))
            steps: list[_Step] = []
            try:
                for entity_id in entity_ids:
                    holding = holdings.get(entity_id)
                    if holding is None:
                        raise WriteError("CONFLICT", f"{entity} {entity_id} is no longer in the graph").about(
                            entity_id
                        )
                    try:
                        steps += self._plan(snapshot, table, holding, values)
                    except WriteError as exc:
                        raise exc.about(entity_id) from None
                for step in steps:
                    try:
                        self._check(snapshot, table, step)
                    except WriteError as exc:
                        raise exc.about(step.holding.entity_id, step.columns) from None
                steps = [s for s in steps if s.columns]  # all held already at the source
                self._apply(table, steps)
            except WriteError as exc:
                self._record_refusal(table, holdings, values, caller, exc)
                raise
            patches = [self._patch(snapshot, table, step) for step in steps]
            snapshot_id, path = self.publish(patches) if patches else (None, None)
            changes = self._record(table, steps, caller)
        return Written(list(entity_ids), snapshot_id, changes, path)

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

    def _plan(
        self, snapshot: Snapshot, table: Table, holding: Holding, values: Mapping[str, Any]
    ) -> list[_Step]:
        by_route: dict[Route, dict[str, Any]] = {}
        held: dict[Route, set[str]] = {}
        types = {c.name: c.type for c in table.columns}
        for column, value in values.items():
            # the value the snapshot shows (clients send whole records): written only if the
            # source no longer holds it; where no writable source owns it, nothing to ask
            unchanged = same(value, holding.row.get(column), types[column])
            try:
                target = route(self.config, table, holding, column, self.can_write)
            except WriteError:
                if unchanged:
                    continue
                raise
            by_route.setdefault(target, {})[column] = value
            if unchanged:
                held.setdefault(target, set()).add(column)
        steps = []
        for target, columns in by_route.items():
            stream = self.config.source(target.source).entities[table.name]
            unified = {field_of(table, c): self._unified(snapshot, table, c, v) for c, v in columns.items()}
            steps.append(_Step(holding, target, stream, columns, unified, unchanged=held.get(target, set())))
        return steps

    def _unified(self, snapshot: Snapshot, table: Table, column: str, value: Any) -> Any:
        """A column's value as the mapping's field takes it: a reference's key, not its id."""
        ref = reference_of(table, column)
        if ref is None or value is None:
            return value
        key = key_of(snapshot, ref, value)
        if key is None:
            raise WriteError("BAD_USER_INPUT", f"`{column}`: no {ref.target} with id {value}", field=column)
        return key

    def _check(self, snapshot: Snapshot, table: Table, step: _Step) -> None:
        """Fetch the record; refuse with CONFLICT where it no longer holds what the caller saw."""
        source, record_id = step.route.source, step.route.record_id
        try:
            current = self.connector(source).fetch(table.name, record_id)
        except SourceError as exc:
            raise WriteError("SOURCE_UNAVAILABLE", f"source `{source}`: {exc}", source=source) from None
        if current is None:
            raise WriteError(
                "CONFLICT",
                f"record {record_id} of source `{source}` is gone since the graph was published",
                source=source,
                record_id=record_id,
            )
        step.before = current
        try:
            now = map_record(current, table.name, step.stream, self.ctx, source=source, fields=step.unified)
        except UnreadableRecord as exc:
            raise WriteError(
                "CONFLICT",
                f"record {record_id} of source `{source}` now reads as invalid: {exc}",
                source=source,
            ) from None
        for column in step.columns:
            differs = changed(snapshot, table, column, step.holding.row.get(column), now)
            if differs is not None:
                seen, held = differs
                raise WriteError(
                    "CONFLICT",
                    f"`{column}` changed at source `{source}` since the graph you read was published: "
                    f"you saw {seen!r}, it now holds {held!r}; read it again and retry",
                    field=column,
                    seen=seen,
                    current=held,
                    source=source,
                )
        for column in step.unchanged:  # the source holds what the caller sends: nothing to write
            step.columns.pop(column, None)
            step.unified.pop(field_of(table, column), None)
        if not step.columns:
            return
        try:
            step.raw = to_source(step.stream, table.name, step.unified, self.ctx, current=current)
        except NotReversible as exc:
            raise WriteError("BAD_USER_INPUT", str(exc), field=exc.field, source=source) from None
        except ValueError as exc:
            raise WriteError("BAD_USER_INPUT", f"source `{source}`: {exc}", source=source) from None

    def _apply(self, table: Table, steps: list[_Step]) -> None:
        done: list[_Step] = []
        for step in steps:
            source = step.route.source
            expected = {c: step.before.get(c) for c in step.raw}
            try:
                step.after = self.connector(source).update(
                    table.name, step.route.record_id, step.raw, expected
                )
            except (WriteRefused, SourceError) as exc:
                error = refusal(exc, source, "", self._undo(table, done) if done else None)
                raise error.about(step.holding.entity_id, step.columns) from None
            done.append(step)

    def _undo(self, table: Table, done: list[_Step]) -> str:
        """Write back what the earlier sources held; say what was undone (or could not be)."""
        failed = []
        for step in reversed(done):
            old = {c: step.before.get(c) for c in step.raw}
            try:
                self.connector(step.route.source).update(table.name, step.route.record_id, old, None)
            except SourceError as exc:
                failed.append(f"`{step.route.source}` ({exc})")
        names = ", ".join(f"`{s.route.source}`" for s in done)
        if failed:
            return f"the write to {names} could NOT be undone at {', '.join(failed)}: check those records"
        return f"the write already made to {names} was undone"

    # ------------------------------------------------------------------ after the write
    def _patch(self, snapshot: Snapshot, table: Table, step: _Step) -> Patch:
        source = step.route.source
        try:
            now = map_record(
                step.after or {}, table.name, step.stream, self.ctx, source=source, fields=step.unified
            )
        except UnreadableRecord:
            now = {}
        values: dict[str, Any] = {}
        for column, sent in step.columns.items():
            ref = reference_of(table, column)
            if ref is None:
                values[column] = now.get(column, sent)
                continue
            key = now.get(f"{ref.name}_key")
            sent_key = key_of(snapshot, ref, sent) if sent is not None else None
            if key is None or (sent_key or "").casefold() == key.casefold():
                values[column] = sent if key is not None else None
            else:
                values[column] = id_of(snapshot, ref, key)
        step.columns = values
        return Patch(Patch.now(), source, table.name, step.holding.entity_id, step.route.record_id, values)

    def _record(self, table: Table, steps: list[_Step], caller: Caller) -> list[Change]:
        changes = [
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
            for step in steps
            for column, value in step.columns.items()
        ]
        return self.record(changes)

    def _record_refusal(
        self,
        table: Table,
        holdings: Mapping[str, Holding],
        values: Mapping[str, Any],
        caller: Caller,
        error: WriteError,
    ) -> None:
        fields = [
            (entity_id, column, holding.row.get(column), value)
            for entity_id, holding in holdings.items()
            for column, value in values.items()
        ]
        self.record(refused(table.name, fields, caller, error))
