"""A reference column (`location_id`, `assigned_to_id`) on the write path: sources name the
referenced entity by its key (a location's name, a person's email), the graph by its id."""

from __future__ import annotations

from federation.model import TABLES, Reference, Table
from federation.pipeline.store import Snapshot


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
