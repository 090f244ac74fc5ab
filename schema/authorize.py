"""The door: every root field passes `authorize()` before anything is read, and every loaded
row passes `strip()` before it leaves a resolver.

`authorize(ctx, plan, args)` refuses (FORBIDDEN, naming the field) a plan or arguments that
read, filter, sort, group or aggregate on a field the actor's role may not read; a context
without an access is refused outright (deny by default). The row filters themselves are
applied at every table reference by `schema.where_sql.scope()`. `strip()` drops from loaded
rows every column the role may not read (join keys loaded for a relationship) and projects
JSON columns read key by key: no value leaves a resolver unless the role may read it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from federation.access.errors import ForbiddenError
from federation.access.policy import RoleAccess
from federation.model import Table
from federation.model.where import Compare, Node, Related, walk
from schema.context import RequestContext
from schema.plan import AggregatePlan, ObjectPlan


def require_access(ctx: RequestContext, root: str) -> RoleAccess:
    """The caller's access, or FORBIDDEN: nothing is read without a role."""
    if ctx.access is None:
        raise ForbiddenError(f"`{root}` needs a role: send a token or an API key")
    return ctx.access


def authorize_capability(ctx: RequestContext, root: str, capability: str) -> None:
    """The door for root fields over the gateway's own tables (`sources`, `quarantine`…)."""
    access = require_access(ctx, root)
    if not access.allowed(capability):
        raise ForbiddenError(f"`{root}` is not readable by role `{access.role}`", role=access.role)
    ctx.authorized.add(root)


def authorize(
    ctx: RequestContext, plan: ObjectPlan | AggregatePlan, args: Mapping[str, Any] | None, root: str
) -> None:
    """The door of a root field over a model table: refuse (FORBIDDEN) the whole field if its
    plan or arguments use a field the role may not read. `root`: the response key."""
    access = require_access(ctx, root)
    _check(access, plan, args)
    ctx.authorized.add(root)


def _check(access: RoleAccess, plan: ObjectPlan | AggregatePlan, args: Mapping[str, Any] | None) -> None:
    table = plan.table.name
    access.ensure_readable(table)
    if args:
        guard_args(access, plan.table, args)
    if isinstance(plan, AggregatePlan):
        access.ensure_aggregate(table)
        if plan.groups or (plan.stats is not None and plan.stats.functions):
            access.ensure_statistics(table)
        stats = [plan.stats] if plan.stats is not None else []
        for columns, group_stats in plan.groups.values():
            for column in columns:
                access.ensure_readable(table, column)
                access.ensure_whole(table, column)
            stats.append(group_stats)
        for s in stats:
            for column in sorted(s.columns()):
                access.ensure_readable(table, column)
                access.ensure_whole(table, column)
        if plan.nodes is not None:
            _check(access, plan.nodes, None)
        return
    for column in sorted(plan.columns):
        access.ensure_readable(table, column)
    for extra in sorted(plan.extras):
        access.ensure_readable(table, extra)
    for name, sub in plan.objects.items():
        access.ensure_readable(table, name)
        _check(access, sub, None)
    for relation, sub_args, sub in plan.arrays.values():
        access.ensure_readable(table, relation.name)
        _check(access, sub, sub_args)
    for relation, sub_args, agg in plan.aggregates.values():
        access.ensure_readable(table, relation.name)
        _check(access, agg, sub_args)


def guard_args(access: RoleAccess, table: Table, args: Mapping[str, Any]) -> None:
    _guard_where(access, table, args.get("where"))
    for item in args.get("order_by") or []:
        _guard_order(access, table, item)
    for column in args.get("distinct_on") or []:
        access.ensure_readable(table.name, getattr(column, "value", column))
        access.ensure_whole(table.name, getattr(column, "value", column))


def _guard_where(access: RoleAccess, table: Table, node: Node | None) -> None:
    """Every field a filter reads must be readable; on a JSON column the role reads key by key,
    a filter may name only readable keys (`_has_key`, the keys of a `_contains`/`_eq`/`_neq`
    object) — the comparison itself runs on the readable projection (`json_view`)."""
    if node is None:
        return
    for at, item in walk(node, table.name):
        if isinstance(item, Compare):
            access.ensure_readable(at, item.column)
            if access.json_keys(at, item.column) is not None:
                _guard_json(access, at, item)
        elif isinstance(item, Related):
            access.ensure_readable(at, item.relation)
            access.ensure_readable(item.target)


def _guard_json(access: RoleAccess, table: str, item: Compare) -> None:
    if item.op == "_has_key":
        access.ensure_json_key(table, item.column, item.value)
    elif item.op in ("_contains", "_eq", "_neq") and isinstance(item.value, Mapping):
        for key in item.value:
            access.ensure_json_key(table, item.column, key)


def _guard_order(access: RoleAccess, table: Table, item: Any) -> None:
    if not isinstance(item, Mapping):
        return
    relations = {r.name: r for r in table.relations}
    for key, value in item.items():
        if value is None:
            continue
        access.ensure_readable(table.name, key)
        access.ensure_whole(table.name, key)
        if key in relations:
            target = access.models[relations[key].target]
            access.ensure_readable(target.name)
            _guard_order(access, target, value)


def strip(ctx: RequestContext, plan: Any, rows: Iterable[dict[str, Any]] | dict[str, Any] | None) -> None:
    """Drop, from loaded rows, every column the actor may not read (join keys loaded for a
    relationship, say), at every level of the plan."""
    access = ctx.access
    if access is None or rows is None:
        return

    if isinstance(plan, AggregatePlan):
        if isinstance(rows, dict) and plan.nodes is not None:
            strip(ctx, plan.nodes, rows.get("nodes"))
        return
    table = plan.table
    keyed = access.tables[table.name].json_keys if table.name in access.tables else {}
    for row in [rows] if isinstance(rows, dict) else rows:
        for key in [k for k in row if k in table.column_names or k == "_key"]:
            if key == "_key" or not access.can_read(table.name, key):
                del row[key]
            elif key in keyed:
                row[key] = access.project(table.name, key, row[key])
        if keyed:
            _strip_json_history(access, table.name, row)
        for name, sub in plan.objects.items():
            strip(ctx, sub, row.get(name))
        for key, (_, _, sub) in plan.arrays.items():
            strip(ctx, sub, row.get("@" + key))
        for key, (_, _, agg) in plan.aggregates.items():
            strip(ctx, agg, row.get("@" + key))


def _strip_json_history(access: RoleAccess, table: str, row: dict[str, Any]) -> None:
    """Provenance and conflicts of a JSON column read key by key carry only readable keys;
    a conflict whose sources agree on those keys is no conflict for the role (it would show
    that they differ on keys it may not read)."""
    keyed = access.tables[table].json_keys
    for item in row.get("provenance") or []:
        if item.get("field") in keyed:
            item["value"] = access.project(table, item["field"], item["value"])
    conflicts = row.get("conflicts")
    if not conflicts:
        return
    kept = []
    for conflict in conflicts:
        if conflict.get("field") in keyed:
            for value in conflict["values"]:
                value["value"] = access.project(table, conflict["field"], value["value"])
            distinct = {orjson.dumps(v["value"], option=orjson.OPT_SORT_KEYS) for v in conflict["values"]}
            if len(distinct) < 2:
                continue
        kept.append(conflict)
    row["conflicts"] = kept
