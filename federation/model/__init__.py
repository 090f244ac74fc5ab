"""The unified model: the bottom floor of the house. It imports nothing of ours; every layer
above reads its tables, columns, relations and per-entity facts from here."""

from federation.model.tables import (
    ASSET_STATUSES,
    DEFAULT_CATEGORIES,
    DUCKDB_TYPES,
    EMPLOYMENT_STATUSES,
    TABLES,
    Column,
    ColumnType,
    Reference,
    Relation,
    Table,
    quote,
    reconcile_order,
)

__all__ = [
    "ASSET_STATUSES",
    "DEFAULT_CATEGORIES",
    "DUCKDB_TYPES",
    "EMPLOYMENT_STATUSES",
    "TABLES",
    "Column",
    "ColumnType",
    "Reference",
    "Relation",
    "Table",
    "quote",
    "reconcile_order",
]
