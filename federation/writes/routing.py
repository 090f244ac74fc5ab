"""Where a write goes: each field to the source that owns it for that entity.

The owner of a field of one entity is the source its served value came from (provenance);
where no source gave it a value, the first source in the field's precedence list that holds
a record of the entity and maps the field. The write goes there if that source's connector
can write and its mapping can be read backwards for the field; otherwise the field is
read-only for that entity and the write is refused, naming the source and why (writing a
lower-ranked source would change nothing the gateway serves).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from federation.config.settings import Config
from federation.model import TABLES, Table
from federation.pipeline.store import Snapshot
from federation.writes.errors import WriteError
from federation.writes.values import model_value


@dataclass
class Holding:
    """One entity as the snapshot the caller read shows it."""

    entity_id: str
    #: column → served value (model form), for the columns asked
    row: dict[str, Any]
    #: source → record ids of that source merged into the entity
    records: dict[str, list[str]] = field(default_factory=dict)
    #: field → (source, record id) its value came from
    provenance: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: given by a publish made while a sync round still read: the round's end may change it
    provisional: bool = False

    def final(self, entity: str) -> None:
        """Raise CONFLICT where the entity's id may still change (a write by it could vanish)."""
        if self.provisional:
            raise WriteError(
                "CONFLICT",
                f"{entity} {self.entity_id} was published while a sync round still read its sources, "
                "and its id may change when the round ends: read it again once the round is "
                "published (`sources` shows when), then retry",
            ).about(self.entity_id)


@dataclass(frozen=True)
class Route:
    source: str
    record_id: str


def field_of(table: Table, column: str) -> str:
    """The mapped field behind a column: `location_id` → `location`; others are themselves."""
    for ref in table.references:
        if column == f"{ref.name}_id":
            return ref.name
    return column


def load(
    snapshot: Snapshot, entity: str, entity_ids: Sequence[str], columns: Sequence[str]
) -> dict[str, Holding]:
    """The entities by id (those the snapshot lacks are absent), with the provenance of the
    fields behind `columns`."""
    table = TABLES[entity]
    types = {c.name: c.type for c in table.columns}
    wanted = ["id", *[c for c in dict.fromkeys(columns) if c != "id"]]
    select = ", ".join(f'"{c}"' for c in wanted)
    rows = snapshot.query(
        f'SELECT {select} FROM "{entity}" WHERE id IN (SELECT unnest(?::VARCHAR[]))', [list(entity_ids)]
    )
    out = {
        r[0]: Holding(r[0], {c: model_value(v, types[c]) for c, v in zip(wanted, r, strict=True)})
        for r in rows
    }
    if not out:
        return out
    ids = list(out)
    for entity_id, source, record_id in snapshot.query(
        "SELECT entity_id, source, record_id FROM record_sources WHERE entity = ? AND "
        "entity_id IN (SELECT unnest(?::VARCHAR[])) ORDER BY source, record_id",
        [entity, ids],
    ):
        out[entity_id].records.setdefault(source, []).append(record_id)
    # only the fields asked: provenance is stored field by field, so the filter on `field`
    # skips the rest of it (at 100k assets, most of the cost of a write's load)
    fields = sorted({field_of(table, c) for c in wanted})
    for entity_id, name, source, record_id in snapshot.query(
        "SELECT entity_id, field, source, record_id FROM provenance WHERE entity = ? AND "
        "field IN (SELECT unnest(?::VARCHAR[])) AND entity_id IN (SELECT unnest(?::VARCHAR[]))",
        [entity, fields, ids],
    ):
        out[entity_id].provenance[name] = (source, record_id)
    kept = snapshot.query("SELECT 1 FROM duckdb_tables() WHERE table_name = 'provisional_ids'")
    if kept:  # (a snapshot published before they were kept has none)
        for (entity_id,) in snapshot.query(
            "SELECT entity_id FROM provisional_ids WHERE entity = ? AND "
            "entity_id IN (SELECT unnest(?::VARCHAR[]))",
            [entity, ids],
        ):
            out[entity_id].provisional = True
    return out


#: source name → (None when it can write `field`, else why not)
CanWrite = Callable[[str, str, str], str | None]


def route(config: Config, table: Table, holding: Holding, column: str, can_write: CanWrite) -> Route:
    """The source and record a column of one entity is written to, or WriteError."""
    name = field_of(table, column)
    owner = holding.provenance.get(name)
    if owner is None:
        for source in config.precedence(table.name, name):
            if holding.records.get(source) and _maps(config, source, table.name, name):
                owner = (source, holding.records[source][0])
                break
    if owner is None:
        held = ", ".join(sorted(holding.records)) or "no source"
        raise WriteError(
            "BAD_USER_INPUT",
            f"`{column}` of {table.name} {holding.entity_id} cannot be written: no source that holds "
            f"it ({held}) maps `{name}`",
            field=column,
        )
    source, record_id = owner
    why = can_write(source, table.name, name)
    if why is not None:
        raise WriteError(
            "BAD_USER_INPUT",
            f"`{column}` of {table.name} {holding.entity_id} comes from source `{source}`, which "
            f"ranks first for it and {why}; it is read-only through the gateway",
            field=column,
            source=source,
        )
    return Route(source, record_id)


def _maps(config: Config, source: str, entity: str, name: str) -> bool:
    try:
        stream = config.source(source).entities.get(entity)
    except KeyError:
        return False
    return stream is not None and name in stream.fields
