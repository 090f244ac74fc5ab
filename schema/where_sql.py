"""The `where` tree (federation/model/where.py) → a SQL boolean with bound parameters, and
the one place a table reference gets the caller's row filter: `scope()`.

Every read of a table — lists, `_by_pk`, aggregates, relationship loads, relationship
filters, nested ordering joins, search and the provenance loaders — takes its FROM item and
row condition from `scope()`, so rows outside the role's filter do not exist for the
request: not in lists, totals or groups, not behind a relationship from a visible row, not
as a match of a nested filter. A request without an access (no role) reads nothing.
"""

from __future__ import annotations

import json
from typing import Any

from federation.access.policy import RoleAccess
from federation.model import Table
from federation.model.where import COMPARISON_PREFIX, And, Compare, Const, Node, Not, Or, Related
from schema.context import RequestContext
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
#: auxiliary tables → the capability that opens them
AUX_CAPABILITIES = {
    "quarantine": "quarantine",
    "ambiguities": "ambiguities",
    "source_status": "sources",
    "quality": "quarantine",
    "quality_summary": "quarantine",
}
#: per-entity auxiliary tables → the field of the entity that opens them
_PER_ENTITY = {"provenance": "provenance", "conflicts": "conflicts", "record_sources": "sources",
               "record_quality": "quality"}  # fmt: skip


def access_of(ctx: RequestContext) -> RoleAccess | None:
    return ctx.access


# ----------------------------------------------------------------------------- scope


def scope(table: str, alias: str, sql: Sql) -> tuple[str, str]:
    """(`FROM` item binding `alias`, boolean SQL over `alias`) for the rows of `table` this
    request may read. `table` is a model table or an auxiliary one (`quarantine`, ...)."""
    if table in sql.tables:
        sql.ctx.touched.add(table)
    from_sql = f"{quote(table)} AS {alias}"
    if sql.trusted:
        return from_sql, "TRUE"
    access = access_of(sql.ctx)
    if access is None:  # deny by default: no role, no rows
        return from_sql, "FALSE"
    return from_sql, row_condition(access, sql.ctx.actor, table, alias, sql)


def row_condition(access: RoleAccess, actor: dict[str, Any], table: str, alias: str, sql: Sql) -> str:
    """SQL over `alias` keeping the rows of `table` (model or auxiliary) the role may see."""
    if table in access.models:
        found = access.row_filter(table, actor)
        if found is None:
            return "TRUE"
        # relationships inside a role's own filter are not filtered again (as Hasura): the
        # filter is the administrator's, and it only ever removes rows of `table`
        with sql.trusting():
            return "(" + compile_where(found, access.models[table], alias, sql) + ")"
    if table in AUX_CAPABILITIES:
        return "TRUE" if AUX_CAPABILITIES[table] in access.capabilities else "FALSE"
    if table in _PER_ENTITY:
        return _history_condition(access, actor, table, alias, sql)
    return "FALSE"  # a table nobody told this module about: closed


def _history_condition(access: RoleAccess, actor: dict[str, Any], table: str, alias: str, sql: Sql) -> str:
    extra = _PER_ENTITY[table]
    ors = []
    for name in access.models:
        if not access.can_read(name, extra):
            continue
        conds = [f"{alias}.entity = {sql.bind(name)}"]
        if table != "record_sources":
            fields = provenance_fields(access, name)
            if table == "record_quality":
                # a note's value is the source's text, not a JSON object to project key by
                # key: on a column the role reads only some keys of, no note is shown
                fields -= set(access.keyed_of(name))
            conds.append(f'{alias}."field" IN (SELECT unnest({sql.bind(sorted(fields))}::VARCHAR[]))')
        if access.row_filter(name, actor) is not None:
            inner = sql.alias()
            cond = row_condition(access, actor, name, inner, sql)
            join = f"{inner}.id = {alias}.entity_id"
            conds.append(f"EXISTS (SELECT 1 FROM {quote(name)} AS {inner} WHERE {join} AND {cond})")
        ors.append("(" + " AND ".join(conds) + ")")
    return "(" + " OR ".join(ors) + ")" if ors else "FALSE"


def provenance_fields(access: RoleAccess, table: str) -> set[str]:
    """Fields whose provenance and conflicts the role may see: its readable columns, and a
    reference (`assigned_to`, whose recorded value is the person's email) only when the
    target is readable without a row filter on its matching columns."""
    model = access.models[table]
    out = {c for c in model.column_names if access.can_read(table, c)}
    for ref in model.references:
        target = access.tables.get(ref.target)
        keys = access.models[ref.target].column_names
        if (
            access.can_read(table, ref.name)
            and target is not None
            and target.filter is None
            and all(access.can_read(ref.target, f) for f in ref.match_on if f in keys)
        ):
            out.add(ref.name)
    return out


def json_view(sql: Sql, table: str, column: str, ref: str) -> str:
    """SQL for JSON `column` (at `ref`) as the request may see it: with only the readable keys
    when the role reads it key by key (not in the role's own filter: that is trusted)."""
    access = access_of(sql.ctx)
    if access is None or sql.trusted:
        return ref
    keys = access.json_keys(table, column)
    if keys is None:
        return ref
    # keys match ^[A-Za-z0-9_]+$ (checked at load), so the path literal is safe
    allowed = sql.bind(sorted(keys))
    return (
        "to_json(map_from_entries(list_transform("
        f"list_filter(json_keys({ref}), lambda k: list_contains({allowed}::VARCHAR[], k)), "
        f"lambda k: struct_pack(k := k, v := json_extract({ref}, '$.\"' || k || '\"')))))"
    )


# ----------------------------------------------------------------------------- where


def compile_where(node: Node | None, table: Table, alias: str, sql: Sql) -> str:
    if node is None:
        return "TRUE"
    if isinstance(node, Const):
        return "TRUE" if node.value else "FALSE"
    if isinstance(node, And):
        inner = [compile_where(i, table, alias, sql) for i in node.items]
        return "(" + " AND ".join(inner) + ")" if inner else "TRUE"
    if isinstance(node, Or):
        inner = [compile_where(i, table, alias, sql) for i in node.items]
        return "(" + " OR ".join(inner) + ")" if inner else "FALSE"
    if isinstance(node, Not):
        return f"NOT ({compile_where(node.item, table, alias, sql)})"
    if isinstance(node, Related):
        return relation_exists(table, node, alias, sql)
    return _compare(table, node, alias, sql)


def relation_exists(table: Table, node: Related, alias: str, sql: Sql) -> str:
    relation = table.relation(node.relation)
    target = sql.tables[relation.target]
    inner = sql.alias()
    from_sql, scope_sql = scope(target.name, inner, sql)
    join = f"{inner}.{quote(relation.remote)} = {alias}.{quote(relation.local)}"
    cond = compile_where(node.node, target, inner, sql)
    return f"EXISTS (SELECT 1 FROM {from_sql} WHERE {join} AND ({scope_sql}) AND {cond})"


def _compare(table: Table, node: Compare, alias: str, sql: Sql) -> str:
    column, op, value = node.column, node.op, node.value
    col_type = table.column(column).type
    ref = f"{alias}.{quote(column)}"
    if op == "_is_null":
        return f"{ref} IS NULL" if value else f"{ref} IS NOT NULL"
    if COMPARISON_PREFIX[col_type] == "jsonb":
        # a role that reads only some keys compares only those
        return _json_op(json_view(sql, table.name, column, ref), op, value, sql)
    if col_type == "string_list":
        placeholder = sql.bind(list(value))
        if op == "_contains":
            return f"list_has_all({ref}, {placeholder}::VARCHAR[])"
        return f"list_has_all({placeholder}::VARCHAR[], {ref})"
    if op in ("_in", "_nin"):
        if not value:
            return "FALSE" if op == "_in" else "TRUE"
        keyword = "IN" if op == "_in" else "NOT IN"
        return f"{ref} {keyword} ({', '.join(sql.bind(v) for v in value)})"
    return f"{ref} {_BINARY[op]} {sql.bind(value)}"


def _json_op(ref: str, op: str, value: Any, sql: Sql) -> str:
    if op == "_has_key":
        return f"list_contains(json_keys({ref}), {sql.bind(value)})"
    text = sql.bind(json.dumps(value))
    if op == "_contains":
        return f"json_contains({ref}, {text}::JSON)"
    compare = "=" if op == "_eq" else "<>"
    return f"json({ref}) {compare} json({text})"


def search_condition(
    term: str,
    columns: list[str],
    related: list[tuple[str, str, list[str]]],
    table: Table,
    alias: str,
    sql: Sql,
) -> str:
    """Case-insensitive substring match over `columns` and over columns of to-one relations
    (`related`: (relation, target table, columns))."""
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = sql.bind(f"%{escaped}%")
    ors = [f"{alias}.{quote(c)} ILIKE {pattern} ESCAPE '\\'" for c in columns]
    for name, target, rel_columns in related:
        if not rel_columns:
            continue
        relation = table.relation(name)
        inner = sql.alias()
        from_sql, scope_sql = scope(target, inner, sql)
        join = f"{inner}.{quote(relation.remote)} = {alias}.{quote(relation.local)}"
        match = " OR ".join(f"{inner}.{quote(c)} ILIKE {pattern} ESCAPE '\\'" for c in rel_columns)
        ors.append(f"EXISTS (SELECT 1 FROM {from_sql} WHERE {join} AND ({scope_sql}) AND ({match}))")
    return "(" + " OR ".join(ors) + ")" if ors else "FALSE"
