"""`order_by` and `distinct_on` → SQL ORDER BY terms, with LEFT JOINs for nested
object-relationship ordering (`assigned_to: {name: asc}`)."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any

from federation.access.errors import UserInputError
from federation.model import Table
from schema.inputs import ORDER_SQL
from schema.sql import Sql, quote
from schema.where_sql import scope


def enum_value(value: Any) -> str:
    return value.value if isinstance(value, enum.Enum) else str(value)


@dataclass
class Ordering:
    #: (SQL expression, "ASC NULLS LAST" …) in order
    terms: list[tuple[str, str]] = field(default_factory=list)
    #: LEFT JOIN clauses the terms need
    joins: list[str] = field(default_factory=list)
    #: the top-level column of each term, None for a term through a relationship
    columns: list[str | None] = field(default_factory=list)

    def sql(self) -> str:
        return ", ".join(f"{expr} {direction}" for expr, direction in self.terms)


def compile_order(order_by: list[dict[str, Any]] | None, table: Table, alias: str, sql: Sql) -> Ordering:
    ordering = Ordering()
    joined: dict[tuple[str, str], str] = {}
    for item in order_by or []:
        _add(item, table, alias, sql, ordering, joined, top=True)
    return ordering


def _add(
    item: dict[str, Any],
    table: Table,
    alias: str,
    sql: Sql,
    ordering: Ordering,
    joined: dict[tuple[str, str], str],
    *,
    top: bool,
) -> None:
    for key, value in item.items():
        if value is None:
            continue
        if key in table.column_names:
            ordering.terms.append((f"{alias}.{quote(key)}", ORDER_SQL[enum_value(value)]))
            ordering.columns.append(key if top else None)
            continue
        relation = next((r for r in table.relations if r.name == key), None)
        if relation is None or relation.kind != "object":
            raise UserInputError(
                f"{table.name}_order_by has no field {key!r}; expected a column or a to-one relationship"
            )
        target = sql.tables[relation.target]
        inner = joined.get((alias, key))
        if inner is None:
            inner = sql.alias()
            joined[(alias, key)] = inner
            from_sql, scope_sql = scope(target.name, inner, sql)
            ordering.joins.append(
                f"LEFT JOIN {from_sql} ON {inner}.{quote(relation.remote)} = "
                f"{alias}.{quote(relation.local)} AND ({scope_sql})"
            )
        _add(value, target, inner, sql, ordering, joined, top=False)


def distinct_columns(distinct_on: list[Any] | None, ordering: Ordering, table: Table) -> list[str]:
    """The distinct_on columns, checked against Hasura's rule: when order_by is given it must
    start with exactly the distinct_on columns."""
    columns = list(dict.fromkeys(enum_value(c) for c in distinct_on or []))
    if not columns or not ordering.terms:
        return columns
    head = ordering.columns[: len(columns)]
    if len(head) < len(columns) or set(head) != set(columns):
        raise UserInputError(
            f"{table.name}: distinct_on ({', '.join(columns)}) must match the first order_by "
            f"columns; start order_by with {', '.join(columns)} (in any order)"
        )
    return columns
