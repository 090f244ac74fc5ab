"""Loads what a plan asks for, level by level: one statement for the page, then one per
selected relationship for all parent rows at once (never one per row), then one per
provenance kind. Rows come back as dicts ready for the default resolver.

`T_aggregate`: count / sum / avg / min / max and `group_by`, computed in SQL over the same
scoped, filtered, ordered and limited row set as the list (as Hasura: `limit` applies to the
rows aggregated). Without `limit` the whole filtered set is aggregated; `nodes` still obey the
default page size. All stats of one `aggregate` come from one statement; each `group_by` is one
statement. A `partition` computes the same per parent row of a relationship."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime
from typing import Any

import orjson

from federation.access.errors import UserInputError
from federation.model import Table
from schema.context import RequestContext
from schema.plan import AggregatePlan, ObjectPlan, Stats
from schema.rowsets import Partition, Search, rowset_sql
from schema.scalars import serialize_date, serialize_timestamptz
from schema.sql import Sql, quote
from schema.view import View
from schema.where_sql import scope


class Limits:
    """Validated limit/offset of one list; `cut` when the server's default or cap applied."""

    def __init__(self, ctx: RequestContext, args: dict[str, Any], *, default: int | None) -> None:
        limit, offset = args.get("limit"), args.get("offset")
        if limit is not None and limit < 0:
            raise UserInputError(f"limit must be 0 or more (got {limit})")
        if offset is not None and offset < 0:
            raise UserInputError(f"offset must be 0 or more (got {offset})")
        cap = ctx.server.max_limit
        self.offset = offset or 0
        self.cut = False
        self.reason = ""
        if limit is None:
            self.limit = default
            self.cut = default is not None
            self.reason = f"the default limit of {default}"
        elif limit > cap:
            self.limit, self.cut = cap, True
            self.reason = f"the maximum limit of {cap}"
        else:
            self.limit = limit

    @property
    def fetch(self) -> int | None:
        """Rows to ask for: one more than the limit when a cut must be detected."""
        return self.limit + 1 if self.cut and self.limit is not None else self.limit

    def warn(self, ctx: RequestContext, where: str) -> None:
        ctx.warn(
            "RESULT_TRUNCATED",
            f"{where}: only the first {self.limit} rows were returned ({self.reason}); "
            f"pass limit (at most {ctx.server.max_limit}) and offset to page through the rest",
            field=where,
        )


def to_dicts(table: Table, names: list[str], tuples: list[tuple[Any, ...]]) -> list[dict[str, Any]]:
    rows = [dict(zip(names, t, strict=True)) for t in tuples]
    json_cols = [n for n in names if n in table.column_names and table.column(n).type == "jsonb"]
    for name in json_cols:
        for row in rows:
            if isinstance(row[name], str):
                row[name] = orjson.loads(row[name])
    return rows


def load_rows(
    ctx: RequestContext,
    view: View,
    plan: ObjectPlan,
    args: dict[str, Any],
    *,
    limits: Limits | None,
    where: str,
    partition: Partition | None = None,
    search: Search | None = None,
    ordered: bool = True,
) -> list[dict[str, Any]]:
    sql = Sql(ctx, view.tables)
    fetch = limits.fetch if limits else None
    text = rowset_sql(
        sql,
        plan.table,
        args,
        plan.needed_columns(),
        limit=fetch,
        offset=limits.offset if limits else 0,
        partition=partition,
        ordered=ordered,
        search=search,
    )
    names, tuples = sql.run(text)
    rows = to_dicts(plan.table, names, tuples)
    if limits and limits.cut and limits.limit is not None:
        if partition is None:
            if len(rows) > limits.limit:
                del rows[limits.limit :]
                limits.warn(ctx, where)
        else:
            rows = _trim_per_key(rows, limits, ctx, where)
    attach(ctx, view, plan, rows, where)
    return rows


def _trim_per_key(
    rows: list[dict[str, Any]], limits: Limits, ctx: RequestContext, where: str
) -> list[dict[str, Any]]:
    counts: dict[Any, int] = defaultdict(int)
    kept = []
    for row in rows:
        counts[row["_key"]] += 1
        if counts[row["_key"]] <= (limits.limit or 0):
            kept.append(row)
    if len(kept) < len(rows):
        limits.warn(ctx, where)
    return kept


def _unique(rows: list[dict[str, Any]], column: str) -> list[Any]:
    return list(dict.fromkeys(r[column] for r in rows if r[column] is not None))


def attach(ctx: RequestContext, view: View, plan: ObjectPlan, rows: list[dict[str, Any]], where: str) -> None:
    """Load the plan's relationships for all `rows` and put them into the row dicts."""
    if not rows:
        return
    relations = {r.name: r for r in plan.table.relations}
    for name, sub in plan.objects.items():
        relation = relations[name]
        keys = _unique(rows, relation.local)
        found: dict[Any, dict[str, Any]] = {}
        if keys:
            targets = load_rows(
                ctx,
                view,
                sub,
                {},
                limits=None,
                where=f"{where}.{name}",
                partition=Partition(relation.remote, keys),
                ordered=False,
            )
            found = {t["_key"]: t for t in targets}
        for row in rows:
            row[name] = found.get(row[relation.local])
    for key, (relation, args, sub) in plan.arrays.items():
        keys = _unique(rows, relation.local)
        groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        if keys:
            limits = Limits(ctx, args, default=ctx.server.max_limit)
            children = load_rows(
                ctx,
                view,
                sub,
                args,
                limits=limits,
                where=f"{where}.{key}",
                partition=Partition(relation.remote, keys),
            )
            for child in children:
                groups[child["_key"]].append(child)
        for row in rows:
            row["@" + key] = groups.get(row[relation.local], [])
    if plan.aggregates:
        for key, (relation, args, agg) in plan.aggregates.items():
            keys = _unique(rows, relation.local)
            results = run_aggregate(
                ctx,
                view,
                agg,
                args,
                where=f"{where}.{key}",
                partition=Partition(relation.remote, keys),
            )
            for row in rows:
                row["@" + key] = results.get(row[relation.local]) or results[None]
    for extra in plan.extras:
        EXTRA_LOADERS[extra](ctx, view, plan.table, rows)


# ----------------------------------------------------------------------------- provenance


def _aux(
    ctx: RequestContext,
    view: View,
    aux: str,
    table: Table,
    columns: str,
    ids: list[Any],
    *,
    order: str,
    only_visible: bool,
) -> tuple[list[str], list[tuple[Any, ...]]]:
    sql = Sql(ctx, view.tables)
    alias = sql.alias()
    from_sql, scope_sql = scope(aux, alias, sql)
    conds = [
        scope_sql,
        f"{alias}.entity = {sql.bind(table.name)}",
        f"{alias}.entity_id IN (SELECT unnest({sql.bind(ids)}::VARCHAR[]))",
    ]
    if only_visible:
        readable = sorted(view.fields.get(table.name, ()))
        conds.append(f"{alias}.{quote('field')} IN (SELECT unnest({sql.bind(readable)}::VARCHAR[]))")
    return sql.run(f"SELECT {columns} FROM {from_sql} WHERE {' AND '.join(conds)} ORDER BY {order}")


def _json(value: Any) -> Any:
    return orjson.loads(value) if isinstance(value, str) else value


def load_sources(ctx: RequestContext, view: View, table: Table, rows: list[dict[str, Any]]) -> None:
    _, found = _aux(
        ctx,
        view,
        "record_sources",
        table,
        "entity_id, source, record_id, fetched_at",
        _unique(rows, "id"),
        order="entity_id, source, record_id",
        only_visible=False,
    )
    by_id: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for entity_id, source, record_id, fetched_at in found:
        by_id[entity_id].append({"source": source, "record_id": record_id, "fetched_at": fetched_at})
    for row in rows:
        row["sources"] = by_id.get(row["id"], [])


def load_provenance(ctx: RequestContext, view: View, table: Table, rows: list[dict[str, Any]]) -> None:
    _, found = _aux(
        ctx,
        view,
        "provenance",
        table,
        'entity_id, "field", source, record_id, "value", fetched_at',
        _unique(rows, "id"),
        order='entity_id, "field", source, record_id',
        only_visible=True,
    )
    by_id: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for entity_id, field, source, record_id, value, fetched_at in found:
        by_id[entity_id].append(
            {
                "field": field,
                "source": source,
                "record_id": record_id,
                "value": _json(value),
                "fetched_at": fetched_at,
            }
        )
    for row in rows:
        row["provenance"] = by_id.get(row["id"], [])


def load_conflicts(ctx: RequestContext, view: View, table: Table, rows: list[dict[str, Any]]) -> None:
    _, found = _aux(
        ctx,
        view,
        "conflicts",
        table,
        'entity_id, "field", source, record_id, "value"',
        _unique(rows, "id"),
        order='entity_id, "field", source, record_id',
        only_visible=True,
    )
    by_id: dict[Any, dict[str, dict[str, Any]]] = defaultdict(dict)
    for entity_id, field, source, record_id, value in found:
        conflict = by_id[entity_id].setdefault(field, {"field": field, "values": []})
        conflict["values"].append({"source": source, "record_id": record_id, "value": _json(value)})
    for row in rows:
        row["conflicts"] = list(by_id.get(row["id"], {}).values())


EXTRA_LOADERS = {
    "sources": load_sources,
    "provenance": load_provenance,
    "conflicts": load_conflicts,
}


# ----------------------------------------------------------------------------- aggregates


def _stat_exprs(stats: Stats) -> list[tuple[str, tuple[str, ...]]]:
    out: list[tuple[str, tuple[str, ...]]] = []
    for key, (columns, distinct) in stats.counts.items():
        prefix = "DISTINCT " if distinct else ""
        if not columns:
            expr = "count(*)"
        elif len(columns) == 1:
            expr = f"count({prefix}{quote(columns[0])})"
        else:
            expr = f"count({prefix}({', '.join(quote(c) for c in columns)}))"
        out.append((expr, (key,)))
    for function, columns in sorted(stats.functions.items()):
        for column in sorted(columns):
            out.append((f"{function}({quote(column)})", (function, column)))
    return out


def _empty_stats(stats: Stats) -> dict[str, Any]:
    out: dict[str, Any] = {key: 0 for key in stats.counts}
    for function, columns in stats.functions.items():
        out[function] = {c: None for c in columns}
    return out


def _fill(exprs: list[tuple[str, tuple[str, ...]]], values: tuple[Any, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for (_, path), value in zip(exprs, values, strict=True):
        if len(path) == 1:
            out[path[0]] = value
        else:
            out.setdefault(path[0], {})[path[1]] = value
    return out


def _json_value(value: Any, column_type: str) -> Any:
    if isinstance(value, datetime):
        return serialize_timestamptz(value)
    if isinstance(value, date):
        return serialize_date(value)
    if column_type == "jsonb" and isinstance(value, str):
        return orjson.loads(value)
    return value


def run_aggregate(
    ctx: RequestContext,
    view: View,
    plan: AggregatePlan,
    args: dict[str, Any],
    *,
    where: str,
    partition: Partition | None = None,
    search: Search | None = None,
) -> dict[Any, dict[str, Any]]:
    """key of the partition (None without one) → the `T_aggregate` result dict; a key with no
    rows is missing and reads as `result[None]`, the empty result."""
    table = plan.table
    stats_limits = Limits(ctx, args, default=None)
    stats_limit = args.get("limit")  # stats are one row: the server's cap does not apply
    empty: dict[str, Any] = {"nodes": []}
    if plan.stats is not None:
        empty["aggregate"] = _empty_stats(plan.stats)
    for key in plan.groups:
        empty["@" + key] = []
    results: dict[Any, dict[str, Any]] = {None: empty}
    if partition is not None and not partition.keys:
        return results

    def result(key: Any) -> dict[str, Any]:
        if key not in results:
            results[key] = {k: (dict(v) if isinstance(v, dict) else list(v)) for k, v in empty.items()}
        return results[key]

    keyed = partition is not None
    paged = stats_limit is not None or stats_limits.offset > 0 or bool(args.get("distinct_on"))

    def statement(stats: Stats, group: tuple[str, ...]) -> tuple[Sql, str, list[tuple[str, tuple[str, ...]]]]:
        sql = Sql(ctx, view.tables)
        columns = [c for c in table.column_names if c in stats.columns() or c in group]
        inner = rowset_sql(
            sql,
            table,
            args,
            columns,
            limit=stats_limit,
            offset=stats_limits.offset,
            partition=partition,
            ordered=paged,
            search=search,
        )
        exprs = _stat_exprs(stats)
        keys = (["_key"] if keyed else []) + [quote(c) for c in group]
        select = ", ".join(keys + [e for e, _ in exprs]) or "count(*)"
        text = f"SELECT {select} FROM ({inner}) AS r"
        if keys:
            text += f" GROUP BY {', '.join(keys)} ORDER BY " + ", ".join(f"{k} ASC NULLS LAST" for k in keys)
        return sql, text, exprs

    if plan.stats is not None:
        sql, text, exprs = statement(plan.stats, ())
        _, rows = sql.run(text)
        for row in rows:
            key = row[0] if keyed else None
            result(key)["aggregate"] = _fill(exprs, row[1:] if keyed else row)

    for gkey, (group, stats) in plan.groups.items():
        sql, text, exprs = statement(stats, group)
        _, rows = sql.run(text)
        types = [table.column(c).type for c in group]
        for row in rows:
            key = row[0] if keyed else None
            values = row[1:] if keyed else row
            entry = _fill(exprs, values[len(group) :])
            entry["keys"] = {
                c: _json_value(v, t) for c, v, t in zip(group, values[: len(group)], types, strict=True)
            }
            result(key)["@" + gkey].append(entry)

    if plan.nodes is not None:
        default = ctx.server.default_limit if partition is None else ctx.server.max_limit
        nodes = load_rows(
            ctx,
            view,
            plan.nodes,
            args,
            limits=Limits(ctx, args, default=default),
            where=f"{where}.nodes",
            partition=partition,
            search=search,
        )
        for node in nodes:
            result(node["_key"] if keyed else None)["nodes"].append(node)
    return results
