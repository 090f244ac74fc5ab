"""The row set of one table access as SQL: scope, `where`, `search`, `order_by`,
`distinct_on`, `limit`/`offset`, optionally partitioned by a key column so that one
statement serves every parent of a relationship (per-parent limits via window functions).

Output columns: the requested columns under their own names, plus `_key` when partitioned.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from federation.model import DUCKDB_TYPES, Relation, Table
from schema.ordering import compile_order, distinct_columns
from schema.sql import Sql, quote
from schema.where_sql import compile_where, scope, search_condition


@dataclass(frozen=True)
class Search:
    term: str
    columns: list[str]
    related: list[tuple[Relation, list[str]]]


@dataclass(frozen=True)
class Partition:
    """Rows whose `column` is one of `keys`; limits and distinct_on apply per key."""

    column: str
    keys: list[Any]


def rowset_sql(
    sql: Sql,
    table: Table,
    args: dict[str, Any],
    columns: list[str],
    *,
    limit: int | None = None,
    offset: int = 0,
    partition: Partition | None = None,
    ordered: bool = True,
    search: Search | None = None,
) -> str:
    alias = sql.alias()
    from_sql, scope_sql = scope(table.name, alias, sql)
    conds = [f"({scope_sql})" if scope_sql != "TRUE" else "TRUE"]
    where = compile_where(args.get("where"), table, alias, sql)
    if where != "TRUE":
        conds.append(where)
    if search is not None and search.term.strip():
        related = [(r.name, r.target, cols) for r, cols in search.related]
        conds.append(search_condition(search.term, search.columns, related, table, alias, sql))
    if partition is not None:
        col_type = DUCKDB_TYPES[table.column(partition.column).type]
        keys = sql.bind(list(partition.keys))
        conds.append(f"{alias}.{quote(partition.column)} IN (SELECT unnest({keys}::{col_type}[]))")

    ordering = compile_order(args.get("order_by"), table, alias, sql)
    distinct = distinct_columns(args.get("distinct_on"), ordering, table)
    if distinct and not ordering.terms:
        for column in distinct:
            ordering.terms.append((f"{alias}.{quote(column)}", "ASC NULLS LAST"))
            ordering.columns.append(column)
    if "id" in table.column_names and "id" not in ordering.columns:
        ordering.terms.append((f"{alias}.{quote('id')}", "ASC NULLS LAST"))  # stable pages
        ordering.columns.append("id")

    proj = [f"{alias}.{quote(c)} AS {quote(c)}" for c in columns] or ["1 AS _one"]
    out_cols = [quote(c) for c in columns] or ["_one"]
    if partition is not None:
        proj.append(f"{alias}.{quote(partition.column)} AS _key")
        out_cols.append("_key")
    body = f"FROM {from_sql} {' '.join(ordering.joins)} WHERE {' AND '.join(conds)}"
    paged = limit is not None or offset > 0

    if not distinct and not (partition is not None and paged):
        text = f"SELECT {', '.join(proj)} {body}"
        if partition is not None:
            if ordered:
                text += f" ORDER BY _key, {ordering.sql()}"
        elif ordered or paged:
            text += f" ORDER BY {ordering.sql()}" + _limit_sql(limit, offset)
        return text

    # window path: order values travel as _o0.._oN through the subqueries
    order_names = [f"_o{i}" for i in range(len(ordering.terms))]
    proj += [f"{expr} AS {name}" for (expr, _), name in zip(ordering.terms, order_names, strict=True)]
    outer_order = ", ".join(
        f"{name} {direction}" for (_, direction), name in zip(ordering.terms, order_names, strict=True)
    )
    if distinct:
        part = ([f"{alias}.{quote(partition.column)}"] if partition else []) + [
            f"{alias}.{quote(c)}" for c in distinct
        ]
        proj.append(f"row_number() OVER (PARTITION BY {', '.join(part)} ORDER BY {ordering.sql()}) AS _d")
    text = f"SELECT {', '.join(proj)} {body}"
    if distinct:
        text = f"SELECT * FROM ({text}) WHERE _d = 1"
    outs = ", ".join(out_cols)
    if partition is None:
        return f"SELECT {outs} FROM ({text}) ORDER BY {outer_order}" + _limit_sql(limit, offset)
    if not paged:
        return f"SELECT {outs} FROM ({text}) ORDER BY _key, {outer_order}"
    text = f"SELECT *, row_number() OVER (PARTITION BY _key ORDER BY {outer_order}) AS _rn FROM ({text})"
    bounds = f"_rn > {int(offset)}"
    if limit is not None:
        bounds += f" AND _rn <= {int(offset) + int(limit)}"
    return f"SELECT {outs} FROM ({text}) WHERE {bounds} ORDER BY _key, _rn"


def _limit_sql(limit: int | None, offset: int) -> str:
    out = f" LIMIT {int(limit)}" if limit is not None else ""
    return out + (f" OFFSET {int(offset)}" if offset else "")
