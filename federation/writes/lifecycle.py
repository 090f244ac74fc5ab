"""Creating and deleting entities through their sources.

    ids = insert(writer, snapshot, "assets", [{"asset_tag": "A-9", "status": "in_stock"}], caller)
    delete(writer, snapshot, "assets", [asset_id], caller)

An insert creates the record in the entity's home source (`reconcile.<entity>.home` in the
config), reads it back, and adds the new entity to the served graph at once, under the id
the next reconciliation will give it (derived from the home source and record id). A row
whose identity fields name an entity the graph already has is refused: update that one.

A delete removes every record the entity is made of, from every source that holds one; an
entity that a read-only source also holds cannot be deleted through the gateway (it would
come back at the next sync), and is refused before anything is removed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from connectors.base import SourceError, WriteRefused
from federation.model import TABLES, Table
from federation.pipeline.patches import Patch
from federation.pipeline.reconcile import record_uuid
from federation.pipeline.store import Snapshot
from federation.workflow import Change
from federation.writes.errors import WriteError
from federation.writes.references import id_of, key_of, reference_of
from federation.writes.routing import field_of, load
from federation.writes.values import UnreadableRecord, map_record
from federation.writes.writer import Caller, Writer, Written, refusal
from transforms.reverse import NotReversible, to_source


def insert(
    writer: Writer, snapshot: Snapshot, entity: str, rows: Sequence[Mapping[str, Any]], caller: Caller
) -> Written:
    """Create one entity per row (column → model value); all rows or none. A refusal is kept
    in the change history too."""
    try:
        return _insert(writer, snapshot, entity, rows, caller)
    except WriteError as exc:
        refused = [
            _change(entity, "", column, None, value, caller, exc)
            for row in rows
            for column, value in row.items()
        ]
        writer.record(refused)
        raise


def delete(
    writer: Writer, snapshot: Snapshot, entity: str, entity_ids: Sequence[str], caller: Caller
) -> Written:
    """Remove each entity's records from every source holding one; refused up front when one
    of them cannot (nothing removed then). A refusal is kept in the change history too."""
    try:
        return _delete(writer, snapshot, entity, entity_ids, caller)
    except WriteError as exc:
        writer.record([_change(entity, i, "id", i, None, caller, exc) for i in entity_ids])
        raise


def _change(
    entity: str, entity_id: str, field: str, before: Any, after: Any, caller: Caller, exc: WriteError
) -> Change:
    return Change(
        entity=entity, entity_id=entity_id or "00000000-0000-0000-0000-000000000000", field=field,
        before=before, after=after, outcome="conflict" if exc.code == "CONFLICT" else "refused",
        actor=caller.actor, role=caller.role, reason=f"{exc.code}: {exc.message}",
        source=exc.extra.get("source"), request_id=caller.request_id,
    )  # fmt: skip


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
        _not_there_yet(writer, snapshot, table, row, i)
        unified = {field_of(table, c): _key(snapshot, table, c, v) for c, v in row.items() if v is not None}
        try:
            raw = to_source(stream, entity, unified, writer.ctx, for_insert=True, sample=sample)
        except NotReversible as exc:
            raise WriteError("BAD_USER_INPUT", f"objects[{i}]: {exc}", field=exc.field, source=home) from None
        except ValueError as exc:
            raise WriteError("BAD_USER_INPUT", f"objects[{i}]: source `{home}`: {exc}", source=home) from None
        planned.append((row, raw))
    created: list[tuple[str, dict[str, Any]]] = []
    connector = writer.connector(home)
    with writer.lock:
        for i, (_, raw) in enumerate(planned):
            try:
                back = connector.insert(entity, raw)
            except (WriteRefused, SourceError) as exc:
                undone = _undo_inserts(writer, home, entity, created)
                raise refusal(exc, home, f"objects[{i}]: ", undone) from None
            record_id = "|".join(str(back.get(c)) for c in stream.id_columns)
            created.append((record_id, back))
        patches, changes = [], []
        for (_, _), (record_id, back) in zip(planned, created, strict=True):
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


def _delete(
    writer: Writer, snapshot: Snapshot, entity: str, entity_ids: Sequence[str], caller: Caller
) -> Written:
    holdings = load(snapshot, entity, entity_ids, [])
    for entity_id in entity_ids:
        holding = holdings.get(entity_id)
        if holding is None:
            raise WriteError("CONFLICT", f"{entity} {entity_id} is no longer in the graph")
        for source in holding.records:
            why = writer.can_delete(source, entity)
            if why is not None:
                raise WriteError(
                    "BAD_USER_INPUT",
                    f"{entity} {entity_id} is also held by source `{source}`, which {why}: deleting it "
                    "through the gateway would not remove it (it would come back at the next sync)",
                    source=source,
                )
    patches, changes = [], []
    with writer.lock:
        for entity_id in entity_ids:
            holding = holdings[entity_id]
            for source, record_ids in sorted(holding.records.items()):
                for record_id in record_ids:
                    try:
                        writer.connector(source).delete(entity, record_id)
                    except WriteRefused as exc:
                        if exc.kind != "not_found":  # already gone: what was asked
                            raise refusal(exc, source, "", None) from None
                    except SourceError as exc:
                        raise refusal(exc, source, "", None) from None
            first_source, first_ids = sorted(holding.records.items())[0] if holding.records else ("", [""])
            patches.append(
                Patch(Patch.now(), first_source, entity, entity_id, first_ids[0], {}, action="delete")
            )
            changes.append(
                Change(
                    entity=entity,
                    entity_id=entity_id,
                    field="id",
                    before=entity_id,
                    after=None,
                    outcome="accepted",
                    actor=caller.actor,
                    role=caller.role,
                    source=",".join(sorted(holding.records)) or None,
                    request_id=caller.request_id,
                )
            )
        snapshot_id, path = writer.publish(patches)
        recorded = writer.record(changes)
    return Written(list(entity_ids), snapshot_id, recorded, path)


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
        if found:
            named = ", ".join(f"{f} {row[f]!r}" for f in rule)
            raise WriteError(
                "BAD_USER_INPUT",
                f"objects[{i}]: the {table.name} with {named} exists already (id {found[0][0]}): update it",
                field=rule[0],
            )


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
