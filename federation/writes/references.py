"""A reference column (`location_id`, `assigned_to_id`) on the write path: sources name the
referenced entity by its key (a location's name, a person's email), the graph by its id."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from federation.model import TABLES, Reference, Table
from federation.pipeline.store import Snapshot
from federation.writes.values import same


def reference_of(table: Table, column: str) -> Reference | None:
    return next((r for r in table.references if column == f"{r.name}_id"), None)


def key_column(ref: Reference) -> str:
    """The published column of the target that a reference's key names (hidden keys are not
    published: a person is named by email)."""
    target = TABLES[ref.target]
    return next(k for k in ref.match_on if k in target.column_names)


def key_of(snapshot: Snapshot, ref: Reference, entity_id: str) -> str | None:
    rows = snapshot.query(f'SELECT "{key_column(ref)}" FROM "{ref.target}" WHERE id = ?', [entity_id])
    return rows[0][0] if rows and rows[0][0] is not None else None


def id_of(snapshot: Snapshot, ref: Reference, key: str) -> str | None:
    rows = snapshot.query(
        f'SELECT id FROM "{ref.target}" WHERE lower("{key_column(ref)}") = lower(?) ORDER BY id LIMIT 1',
        [key],
    )
    return rows[0][0] if rows else None


class Keys:
    """`key_of` and `id_of` of one snapshot, each asked once per call (a bulk check-out to one
    person names that person a hundred times)."""

    def __init__(self, snapshot: Snapshot) -> None:
        self.snapshot = snapshot
        self._keys: dict[tuple[str, str], str | None] = {}
        self._ids: dict[tuple[str, str], str | None] = {}

    def key(self, ref: Reference, entity_id: str) -> str | None:
        at = (ref.name, entity_id)
        if at not in self._keys:
            self._keys[at] = key_of(self.snapshot, ref, entity_id)
        return self._keys[at]

    def id(self, ref: Reference, key: str) -> str | None:
        at = (ref.name, key)
        if at not in self._ids:
            self._ids[at] = id_of(self.snapshot, ref, key)
        return self._ids[at]


def changed(
    snapshot: Snapshot | Keys, table: Table, column: str, seen: Any, now: Mapping[str, Any]
) -> tuple[Any, Any] | None:
    """(what the caller saw, what the source holds) where a column's value at the source (`now`:
    its record mapped forward, references as `<name>_key`) is no longer the one the caller's
    snapshot showed (`seen`); None where it still is. A reference compares by its key."""
    ref = reference_of(table, column)
    if ref is not None:
        held = now.get(f"{ref.name}_key")
        keys = snapshot if isinstance(snapshot, Keys) else Keys(snapshot)
        seen_key = keys.key(ref, seen) if seen is not None else None
        return None if (held or "").casefold() == (seen_key or "").casefold() else (seen_key, held)
    held = now.get(column)
    return None if same(held, seen, table.column(column).type) else (seen, held)
