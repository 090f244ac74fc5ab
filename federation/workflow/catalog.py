"""The workflow tables described in the unified model's terms (`federation.model.Table`).

With these, a `where` argument over `changes`, `checkouts` or `maintenance` is parsed by the
same grammar as every other filter (`where.parse(exp, "changes", tables=WORKFLOW_TABLES)`),
and the GraphQL layer builds their types, comparison inputs and ordering from them. They
are read off the SQLAlchemy tables, so the two cannot drift apart.
"""

from __future__ import annotations

import sqlalchemy as sa

from federation.model import Column, ColumnType, Table
from federation.workflow.tables import JSON_VALUE, TABLES, UtcDateTime

_DESCRIPTIONS = {
    "changes": "Every mutation the gateway was asked for, accepted or refused, one row per field.",
    "checkouts": "Who or where an asset was checked out to, and when it came back.",
    "maintenance": "Repairs, upgrades and inspections of an asset; an open record keeps it in repair.",
    "requests": "Requests of an item through a form: submitted, approved or rejected, then fulfilled "
    "or cancelled.",
}


def model_type(column: sa.Column[object]) -> ColumnType:
    """The model's column type (hence the `where` operators) of a workflow table column."""
    kind = column.type
    if isinstance(kind, UtcDateTime):
        return "timestamptz"
    if kind is JSON_VALUE or isinstance(kind, sa.JSON):
        return "jsonb"
    if isinstance(kind, sa.Uuid):
        return "uuid"
    if isinstance(kind, sa.Integer):
        return "int"
    if isinstance(kind, sa.Numeric):
        return "numeric"
    if isinstance(kind, sa.Boolean):
        return "boolean"
    if isinstance(kind, sa.String):  # Text is a String
        return "string"
    raise TypeError(f"{column.table.name}.{column.name}: no model type for {kind!r}")


def describe(table: sa.Table) -> Table:
    return Table(
        name=table.name,
        description=_DESCRIPTIONS.get(table.name, ""),
        columns=tuple(Column(c.name, model_type(c), c.comment or "", mapped=False) for c in table.columns),
        sort_keys=("id",),
    )


WORKFLOW_TABLES: dict[str, Table] = {name: describe(table) for name, table in TABLES.items()}
