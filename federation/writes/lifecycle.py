"""Creating and deleting entities through their sources.

    ids = insert(writer, snapshot, "assets", [{"asset_tag": "A-9", "status": "in_stock"}], caller)
    delete(writer, snapshot, "assets", [asset_id], caller)

An insert creates the record in the entity's home source (`reconcile.<entity>.home` in the
config), reads it back, and adds the new entity to the served graph at once, under the id
the next reconciliation will give it (derived from the home source and record id). A row
whose identity fields name an entity the graph already has (checked under the writer's lock
against the newest snapshot), or another row of the same insert, is refused: update that one.

A delete removes every record the entity is made of, from every source that holds one; an
entity that a read-only source also holds cannot be deleted through the gateway (it would
come back at the next sync), and is refused before anything is removed. Each record is
removed only if it still holds what the caller's snapshot showed (CONFLICT, checked at every
record before any is removed). A refusal part way cannot be undone: what was removed before
is patched out of the graph and recorded, and the error names it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from connectors.base import SourceError, WriteRefused
from federation.model import TABLES, Table
from federation.pipeline.patches import Patch
from federation.pipeline.reconcile import record_uuid
from federation.pipeline.store import Snapshot
from federation.workflow import Change
from federation.writes.errors import WriteError
from federation.writes.history import NO_ENTITY, Caller, refused
from federation.writes.references import changed, id_of, key_of, reference_of
from federation.writes.routing import Holding, field_of, load
from federation.writes.steps import refusal
from federation.writes.values import UnreadableRecord, map_record
from federation.writes.writer import Writer, Written
from transforms.reverse import NotReversible, to_source


def insert(
    writer: Writer, snapshot: Snapshot, entity: str, rows: Sequence[Mapping[str, Any]], caller: Caller
) -> Written:
    """Create one entity per row (column → model value); all rows or none. A refusal is kept
    in the change history too, its reason on the row and field it concerns."""
    try:
        return _insert(writer, snapshot, entity, rows, caller)
    except WriteError as exc:
        fields = [(f"objects[{i}]", c, None, v) for i, row in enumerate(rows) for c, v in row.items()]
        changes = refused(entity, fields, caller, exc)
        writer.record([replace(c, entity_id=NO_ENTITY) for c in changes])
        raise


def delete(
    writer: Writer, snapshot: Snapshot, entity: str, entity_ids: Sequence[str], caller: Caller
) -> Written:
    """Remove each entity's records from every source holding one, each conditional on the
    record still holding what the caller's snapshot showed (else CONFLICT, nothing removed);
    refused up front when one of them cannot be removed. Should a source refuse part way, the
    entities removed before are published and recorded (a delete cannot be undone), and the
    refusal says which. Every refusal is kept in the change history too."""
    done = _Deleted()
    try:
        return _delete(writer, snapshot, entity, entity_ids, caller, done)
    except WriteError as exc:
        left = [i for i in entity_ids if i not in done.entity_ids]
        writer.record(refused(entity, [(i, "id", i, None) for i in left], caller, exc))
        raise


def _insert(
    writer: Writer, snapshot: Snapshot, entity: str, rows: Sequence[Mapping[str, Any]], caller: Caller
) -> Written:
    table = TABLES[entity]
    home = writer.config.rules(entity).home
    if home is None:
        raise WriteError(
            "BAD_USER_INPUT", f"{entity} cannot be created here: no `reconcile.{entity}.home` source is set"
        )
    stream = writer.config.source(home).entities[entity]
    sample = _sample(writer, snapshot, entity, home)
    planned = []
    for i, row in enumerate(rows):
        unified = {field_of(table, c): _key(snapshot, table, c, v) for c, v in row.items() if v is not None}
        try:
            raw = to_source(stream, entity, unified, writer.ctx, for_insert=True, sample=sample)
        except NotReversible as exc:
            raise WriteError("BAD_USER_INPUT", f"objects[{i}]: {exc}", field=exc.field, source=home).about(
                str(i)
            ) from None
        except ValueError as exc:
            raise WriteError("BAD_USER_INPUT", f"objects[{i}]: source `{home}`: {exc}", source=home).about(
                str(i)
            ) from None
        planned.append(raw)
    _distinct(writer, table, rows)
    created: list[tuple[str, dict[str, Any]]] = []
    connector = writer.connector(home)
    with writer.lock:
        # under the lock, against the newest snapshot: of two inserts of one serial, the
        # second sees the first's entity
        latest = writer.latest(snapshot)
        for i, row in enumerate(rows):
            _not_there_yet(writer, latest, table, row, i)
        for i, raw in enumerate(planned):
            try:
                back = connector.insert(entity, raw)
            except (WriteRefused, SourceError) as exc:
                undone = _undo_inserts(writer, home, entity, created)
                raise refusal(exc, home, f"objects[{i}]: ", undone).about(f"objects[{i}]") from None
            record_id = "|".join(str(back.get(c)) for c in stream.id_columns)
            created.append((record_id, back))
        patches, changes = [], []
        for record_id, back in created:
            entity_id = record_uuid(entity, home, record_id)
            values = _served(writer, snapshot, table, stream, back, home)
            patches.append(Patch(Patch.now(), home, entity, entity_id, record_id, values, action="insert"))
            changes += [
                Change(
                    entity=entity,
                    entity_id=entity_id,
                    field=column,
                    before=None,
                    after=value,
                    outcome="accepted",
                    actor=caller.actor,
                    role=caller.role,
                    source=home,
                    record_id=record_id,
                    request_id=caller.request_id,
                )
                for column, value in values.items()
            ]
        snapshot_id, path = writer.publish(patches)
        recorded = writer.record(changes)
    return Written([p.entity_id for p in patches], snapshot_id, recorded, path)


@dataclass
class _Deleted:
    """What a delete removed: the entities gone, and each record removed (entity, source, record)."""

    entity_ids: list[str] = field(default_factory=list)
    records: list[tuple[str, str, str]] = field(default_factory=list)


def _delete(
    writer: Writer,
    snapshot: Snapshot,
    entity: str,
    entity_ids: Sequence[str],
    caller: Caller,
    done: _Deleted,
) -> Written:
    table = TABLES[entity]
    holdings = load(snapshot, entity, entity_ids, [c for c in table.column_names if c != "id"])
    for entity_id in entity_ids:
        holding = holdings.get(entity_id)
        if holding is None:
            raise WriteError("CONFLICT", f"{entity} {entity_id} is no longer in the graph").about(entity_id)
        holding.final(entity)
        for source in holding.records:
            why = writer.can_delete(source, entity)
            if why is not None:
                raise WriteError(
                    "BAD_USER_INPUT",
                    f"{entity} {entity_id} is also held by source `{source}`, which {why}: deleting it "
                    "through the gateway would not remove it (it would come back at the next sync)",
                    source=source,
                ).about(entity_id)
    records = [
        (entity_id, source, record_id)
        for entity_id in entity_ids
        for source, record_ids in sorted(holdings[entity_id].records.items())
        for record_id in record_ids
    ]
    with writer.lock:
        # every record checked before any is removed: a delete is conditional, like an update
        expected = {(e, s, r): _unchanged(writer, snapshot, table, holdings[e], s, r) for e, s, r in records}
        try:
            for entity_id in entity_ids:
                for source, record_ids in sorted(holdings[entity_id].records.items()):
                    for record_id in record_ids:
                        held = expected[(entity_id, source, record_id)]
                        _remove(writer, entity, entity_id, source, record_id, held)
                        done.records.append((entity_id, source, record_id))
                done.entity_ids.append(entity_id)
        except WriteError as exc:
            if done.records:
                exc.message += "; " + _removed_before(entity, done)
                exc.args = (exc.message,)
                _publish_deleted(writer, table, holdings, done, caller)
            raise
        snapshot_id, path, recorded = _publish_deleted(writer, table, holdings, done, caller)
    return Written(list(entity_ids), snapshot_id, recorded, path)


def _unchanged(
    writer: Writer, snapshot: Snapshot, table: Table, holding: Holding, source: str, record_id: str
) -> dict[str, Any] | None:
    """The raw values a record must still hold to be removed (those of the fields the caller's
    snapshot shows from it); CONFLICT where it no longer holds them. None: it is gone already."""
    try:
        current = writer.connector(source).fetch(table.name, record_id)
        # the columns the source's write can name (a query's computed column is not one)
        computed = writer.connector(source).read_only_columns(table.name) if current is not None else {}
    except SourceError as exc:
        raise WriteError("SOURCE_UNAVAILABLE", f"source `{source}`: {exc}", source=source).about(
            holding.entity_id
        ) from None
    if current is None:
        return None
    stream = writer.config.source(source).entities[table.name]
    names = sorted(
        f for f, owner in holding.provenance.items() if owner == (source, record_id) and f in stream.fields
    )
    try:
        now = map_record(current, table.name, stream, writer.ctx, source=source, fields=names)
    except UnreadableRecord as exc:
        raise WriteError(
            "CONFLICT", f"record {record_id} of source `{source}` now reads as invalid: {exc}", source=source
        ).about(holding.entity_id) from None
    for name in names:
        column = f"{name}_id" if reference_of(table, f"{name}_id") is not None else name
        if column not in holding.row:
            continue
        differs = changed(snapshot, table, column, holding.row[column], now)
        if differs is not None:
            seen, held = differs
            error = WriteError(
                "CONFLICT",
                f"`{column}` of {table.name} {holding.entity_id} changed at source `{source}` since the "
                f"graph you read was published: you saw {seen!r}, it now holds {held!r}; read it again "
                "and retry the delete",
                field=column, seen=seen, current=held, source=source,
            )  # fmt: skip
            error.columns = ("id",)  # what the history of a delete names
            raise error.about(holding.entity_id)
    return {
        c: current[c]
        for n in names
        for c in stream.fields[n].value_columns
        if c in current and c not in computed
    }


def _remove(
    writer: Writer, entity: str, entity_id: str, source: str, record_id: str, expected: dict[str, Any] | None
) -> None:
    if expected is None:
        return  # gone already: what was asked
    try:
        writer.connector(source).delete(entity, record_id, expected or None)
    except WriteRefused as exc:
        if exc.kind != "not_found":
            raise refusal(exc, source, "", None).about(entity_id, ["id"]) from None
    except SourceError as exc:
        raise refusal(exc, source, "", None).about(entity_id, ["id"]) from None


def _removed_before(entity: str, done: _Deleted) -> str:
    gone = ", ".join(done.entity_ids) or "none"
    partly = sorted({e for e, _, _ in done.records} - set(done.entity_ids))
    text = f"{entity} removed before the refusal (a delete cannot be undone): {gone}"
    if partly:
        records = ", ".join(f"`{s}` {r}" for e, s, r in done.records if e in partly)
        text += f"; partly removed (record {records}), served until the next sync: {', '.join(partly)}"
    return text


def _publish_deleted(
    writer: Writer, table: Table, holdings: Mapping[str, Holding], done: _Deleted, caller: Caller
) -> tuple[str | None, Path | None, list[Change]]:
    """Patch the removed entities out of the served graph and record every record removed."""
    patches = []
    for entity_id in done.entity_ids:
        records = sorted(holdings[entity_id].records.items())
        first_source, first_ids = records[0] if records else ("", [""])
        patches.append(
            Patch(Patch.now(), first_source, table.name, entity_id, first_ids[0], {}, action="delete")
        )
    changes = [
        Change(
            entity=table.name,
            entity_id=entity_id,
            field="id",
            before=entity_id,
            after=None,
            outcome="accepted",
            actor=caller.actor,
            role=caller.role,
            source=source,
            record_id=record_id,
            request_id=caller.request_id,
        )
        for entity_id, source, record_id in done.records
    ]
    snapshot_id, path = writer.publish(patches) if patches else (None, None)
    return snapshot_id, path, writer.record(changes)


def _sample(writer: Writer, snapshot: Snapshot, entity: str, source: str) -> dict[str, Any] | None:
    """A record the source holds already: the words of its vocabulary for a new one (a CMDB
    that stores status codes gets a code)."""
    rows = snapshot.query(
        "SELECT record_id FROM record_sources WHERE entity = ? AND source = ? ORDER BY record_id LIMIT 1",
        [entity, source],
    )
    if not rows:
        return None
    try:
        return writer.connector(source).fetch(entity, rows[0][0])
    except SourceError:
        return None


def _not_there_yet(writer: Writer, snapshot: Snapshot, table: Table, row: Mapping[str, Any], i: int) -> None:
    """Refuse a row whose identity (a serial, a tag, an email…) names an entity already served."""
    for rule in writer.config.rules(table.name).identity or []:
        if not all(f in table.column_names and row.get(f) not in (None, "", []) for f in rule):
            continue
        condition = " AND ".join(f'lower("{f}"::VARCHAR) = lower(?::VARCHAR)' for f in rule)
        found = snapshot.query(
            f'SELECT id FROM "{table.name}" WHERE {condition} LIMIT 1', [str(row[f]) for f in rule]
        )
        if found:  # its id is not named: the caller's role may not see that row
            named = ", ".join(f"{f} {row[f]!r}" for f in rule)
            raise WriteError(
                "BAD_USER_INPUT",
                f"objects[{i}]: a {table.name} record with {named} exists already: update it instead",
                field=rule[0],
            ).about(f"objects[{i}]")


def _distinct(writer: Writer, table: Table, rows: Sequence[Mapping[str, Any]]) -> None:
    """Refuse two rows of one insert with the same identity (a serial, a tag…)."""
    for rule in writer.config.rules(table.name).identity or []:
        seen: dict[tuple[str, ...], int] = {}
        for i, row in enumerate(rows):
            if not all(f in table.column_names and row.get(f) not in (None, "", []) for f in rule):
                continue
            key = tuple(str(row[f]).casefold() for f in rule)
            if key in seen:
                named = ", ".join(f"{f} {row[f]!r}" for f in rule)
                raise WriteError(
                    "BAD_USER_INPUT",
                    f"objects[{i}]: {named} is given to objects[{seen[key]}] too: one record each",
                    field=rule[0],
                ).about(f"objects[{i}]")
            seen[key] = i


def _key(snapshot: Snapshot, table: Table, column: str, value: Any) -> Any:
    ref = reference_of(table, column)
    if ref is None:
        return value
    key = key_of(snapshot, ref, value)
    if key is None:
        raise WriteError("BAD_USER_INPUT", f"`{column}`: no {ref.target} with id {value}", field=column)
    return key


def _served(
    writer: Writer,
    snapshot: Snapshot,
    table: Table,
    stream: Any,
    back: dict[str, Any],
    source: str,
) -> dict[str, Any]:
    """The new entity's columns as the source stored them (mapped forward)."""
    try:
        mapped = map_record(back, table.name, stream, writer.ctx, source=source)
    except UnreadableRecord:
        mapped = {}
    out: dict[str, Any] = {}
    for name, value in mapped.items():
        if name.endswith("_key"):
            ref = reference_of(table, f"{name.removesuffix('_key')}_id")
            if ref is not None and value is not None:
                out[f"{ref.name}_id"] = id_of(snapshot, ref, value)
        elif name in table.column_names and value is not None:
            out[name] = value
    return out


def _undo_inserts(writer: Writer, source: str, entity: str, created: list[tuple[str, dict[str, Any]]]) -> str:
    failed = []
    for record_id, _ in reversed(created):
        try:
            writer.connector(source).delete(entity, record_id)
        except SourceError as exc:
            failed.append(f"{record_id} ({exc})")
    if not created:
        return ""
    if failed:
        return f"the {len(created)} records created before could NOT all be removed: {', '.join(failed)}"
    return f"the {len(created)} records created before were removed again"
