"""`T_aggregate`: count / sum / avg / min / max and `group_by`, computed in SQL over the same
scoped, filtered, ordered and limited row set as the list (as Hasura: `limit` applies to the
rows aggregated). Without `limit` the whole filtered set is aggregated; `nodes` still obey the
default page size. All stats of one `aggregate` come from one statement; each `group_by` is one
statement. A `partition` computes the same per parent row of a relationship."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import orjson

from schema.context import RequestContext
from schema.loader import Limits, load_rows
from schema.plan import AggregatePlan, Stats
from schema.rowsets import Partition, Search, rowset_sql
from schema.scalars import serialize_date, serialize_timestamptz
from schema.sql import Sql, quote
from schema.view import View


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
