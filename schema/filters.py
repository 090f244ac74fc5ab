"""`T_bool_exp` → a SQL boolean expression with bound parameters.

Semantics (as Hasura): fields of one object are ANDed; `_and: []` is true, `_or: []` is
false; a relationship matches when a related row (object or array relationship alike)
satisfies the nested expression: `EXISTS (SELECT 1 FROM <scoped target> WHERE join AND …)`.
An operator or field given as explicit `null` is ignored (Hasura's default, so `{_eq: null}`
matches every row); use `_is_null` to test for null.
"""

from __future__ import annotations

import json
from typing import Any

from federation.model import Relation, Table
from schema.errors import UserInputError
from schema.inputs import COLUMN_SCALARS, OPERATORS
from schema.policy import json_view
from schema.scope import scope
from schema.sql import Sql, quote

_BINARY = {
    "_eq": "=",
    "_neq": "<>",
    "_gt": ">",
    "_gte": ">=",
    "_lt": "<",
    "_lte": "<=",
    "_like": "LIKE",
    "_nlike": "NOT LIKE",
    "_ilike": "ILIKE",
    "_nilike": "NOT ILIKE",
}


def compile_where(exp: dict[str, Any] | None, table: Table, alias: str, sql: Sql) -> str:
    if not exp:
        return "TRUE"
    parts: list[str] = []
    for key, value in exp.items():
        if value is None:
            continue
        if key == "_and":
            inner = [compile_where(e, table, alias, sql) for e in value]
            parts.append("(" + " AND ".join(inner) + ")" if inner else "TRUE")
        elif key == "_or":
            inner = [compile_where(e, table, alias, sql) for e in value]
            parts.append("(" + " OR ".join(inner) + ")" if inner else "FALSE")
        elif key == "_not":
            parts.append(f"NOT ({compile_where(value, table, alias, sql)})")
        elif key in table.column_names:
            parts.extend(_compare(table, key, value, alias, sql))
        else:
            relation = _relation(table, key)
            parts.append(relation_exists(relation, value, alias, sql))
    return " AND ".join(parts) if parts else "TRUE"


def _relation(table: Table, name: str) -> Relation:
    for relation in table.relations:
        if relation.name == name:
            return relation
    allowed = ", ".join([*table.column_names, *(r.name for r in table.relations)])
    raise UserInputError(
        f"{table.name}_bool_exp has no field {name!r}; expected _and, _or, _not or one of {allowed}"
    )


def relation_exists(relation: Relation, exp: dict[str, Any], alias: str, sql: Sql) -> str:
    target = sql.tables[relation.target]
    inner = sql.alias()
    from_sql, scope_sql = scope(target.name, inner, sql)
    join = f"{inner}.{quote(relation.remote)} = {alias}.{quote(relation.local)}"
    cond = compile_where(exp, target, inner, sql)
    return f"EXISTS (SELECT 1 FROM {from_sql} WHERE {join} AND ({scope_sql}) AND {cond})"


def _compare(table: Table, column: str, ops: dict[str, Any], alias: str, sql: Sql) -> list[str]:
    col_type = table.column(column).type
    prefix = COLUMN_SCALARS[col_type][0]
    ref = f"{alias}.{quote(column)}"
    out: list[str] = []
    for op, value in ops.items():
        if value is None:
            continue
        if op not in OPERATORS[prefix]:
            raise UserInputError(
                f"{op} does not apply to {table.name}.{column} ({prefix}); expected one of "
                + ", ".join(OPERATORS[prefix])
            )
        if op == "_is_null":
            out.append(f"{ref} IS NULL" if value else f"{ref} IS NOT NULL")
        elif col_type == "jsonb":
            # a role that reads only some keys compares only those (schema.policy.json_view)
            out.append(_json_op(json_view(sql, table.name, column, ref), op, value, sql))
        elif col_type == "string_list":
            placeholder = sql.bind(list(value))
            if op == "_contains":
                out.append(f"list_has_all({ref}, {placeholder}::VARCHAR[])")
            else:
                out.append(f"list_has_all({placeholder}::VARCHAR[], {ref})")
        elif op in ("_in", "_nin"):
            if not value:
                out.append("FALSE" if op == "_in" else "TRUE")
            else:
                keyword = "IN" if op == "_in" else "NOT IN"
                out.append(f"{ref} {keyword} ({', '.join(sql.bind(v) for v in value)})")
        else:
            out.append(f"{ref} {_BINARY[op]} {sql.bind(value)}")
    return out


def _json_op(ref: str, op: str, value: Any, sql: Sql) -> str:
    if op == "_has_key":
        return f"list_contains(json_keys({ref}), {sql.bind(value)})"
    text = sql.bind(json.dumps(value))
    if op == "_contains":
        return f"json_contains({ref}, {text}::JSON)"
    compare = "=" if op == "_eq" else "<>"
    return f"json({ref}) {compare} json({text})"


def search_condition(
    term: str, columns: list[str], related: list[tuple[Relation, list[str]]], alias: str, sql: Sql
) -> str:
    """Case-insensitive substring match over `columns` and columns of to-one relations."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = sql.bind(f"%{escaped}%")
    ors = [f"{alias}.{quote(c)} ILIKE {pattern} ESCAPE '\\'" for c in columns]
    for relation, rel_columns in related:
        if not rel_columns:
            continue
        inner = sql.alias()
        from_sql, scope_sql = scope(relation.target, inner, sql)
        join = f"{inner}.{quote(relation.remote)} = {alias}.{quote(relation.local)}"
        match = " OR ".join(f"{inner}.{quote(c)} ILIKE {pattern} ESCAPE '\\'" for c in rel_columns)
        ors.append(f"EXISTS (SELECT 1 FROM {from_sql} WHERE {join} AND ({scope_sql}) AND ({match}))")
    return "(" + " OR ".join(ors) + ")" if ors else "FALSE"
