"""A write, from authorized values to the owning sources and back into the served graph.

    writer = Writer(config, workflow_store)
    done = writer.update(snapshot, "assets", [asset_id], {"status": "in_repair"}, caller)

For each entity: every column is routed to the source that owns it (routing.py); the values
are mapped back into each source's columns and vocabulary (transforms/reverse.py); the
source's record is fetched and mapped forward, and if it no longer holds the value the
caller's snapshot showed, the write is refused with CONFLICT (nothing written). Only when
every source involved has passed those checks is anything written, each write conditional
on the record still holding what was fetched (the connector checks it with the write). A
source that refuses after another was written has that other write undone. Each written
record is read back, mapped forward, and journaled for the served graph at once
(Publisher.patch; readers lay it over the published file); every field, accepted or
refused, goes into the change history.
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
from federation.pipeline.store import Publisher, Snapshot
from federation.pipeline.sync import transform_context
from federation.workflow import Change, WorkflowStore
from federation.writes.errors import Code, WriteError
from federation.writes.references import id_of, key_of, reference_of
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


@dataclass(frozen=True)
class Caller:
    """Who writes, for the change history."""

    actor: str
    role: str
    request_id: str | None = None


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


@dataclass
class Written:
    """What an accepted write did: the entities written and the snapshot that shows them."""

    entity_ids: list[str]
    snapshot_id: str | None
    changes: list[Change]

    #: the published file `snapshot_id` lays the write over (`Snapshot.shared(path)` shows it)
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
                    batch.snapshot_path = self.publisher.current_path()

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
                        raise WriteError("CONFLICT", f"{entity} {entity_id} is no longer in the graph")
                    steps += self._plan(snapshot, table, holding, values)
                for step in steps:
                    self._check(snapshot, table, step)
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
        return snapshot_id, self.publisher.current_path() if snapshot_id else None

    def record(self, changes: list[Change]) -> list[Change]:
        """Keep `changes` in the history (returned with their ids and times)."""
        return self.workflow.record_changes(changes) if self.workflow is not None else changes

    def _plan(
        self, snapshot: Snapshot, table: Table, holding: Holding, values: Mapping[str, Any]
    ) -> list[_Step]:
        by_route: dict[Route, dict[str, Any]] = {}
        types = {c.name: c.type for c in table.columns}
        for column, value in values.items():
            if same(value, holding.row.get(column), types[column]):
                continue  # the value it has already (clients send whole records): nothing to write
            target = route(self.config, table, holding, column, self.can_write)
            by_route.setdefault(target, {})[column] = value
        steps = []
        for target, columns in by_route.items():
            stream = self.config.source(target.source).entities[table.name]
            unified = {field_of(table, c): self._unified(snapshot, table, c, v) for c, v in columns.items()}
            steps.append(_Step(holding, target, stream, columns, unified))
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
        types = {c.name: c.type for c in table.columns}
        for column in step.columns:
            seen = step.holding.row.get(column)
            ref = reference_of(table, column)
            if ref is not None:
                held = now.get(f"{ref.name}_key")
                seen_key = key_of(snapshot, ref, seen) if seen is not None else None
                differs = (held or "").casefold() != (seen_key or "").casefold()
                seen, held = seen_key, held
            else:
                held = now.get(column)
                differs = not same(held, seen, types[column])
            if differs:
                raise WriteError(
                    "CONFLICT",
                    f"`{column}` changed at source `{source}` since the graph you read was published: "
                    f"you saw {seen!r}, it now holds {held!r}; read it again and retry",
                    field=column,
                    seen=seen,
                    current=held,
                    source=source,
                )
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
                raise refusal(exc, source, "", self._undo(table, done) if done else None) from None
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
        if self.workflow is None:
            return
        outcome = "conflict" if error.code == "CONFLICT" else "refused"
        self.workflow.record_changes(
            Change(
                entity=table.name,
                entity_id=entity_id,
                field=column,
                before=holding.row.get(column),
                after=value,
                outcome=outcome,
                actor=caller.actor,
                role=caller.role,
                reason=f"{error.code}: {error.message}",
                source=error.extra.get("source"),
                request_id=caller.request_id,
            )
            for entity_id, holding in holdings.items()
            for column, value in values.items()
        )
