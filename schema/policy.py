"""What one role may read: the single place the resolvers and `scope()` ask.

`RoleAccess.allowed(action, table, field)` answers every question (datasette's `allowed`);
`ensure_readable` raises FORBIDDEN (its `ensure_permission`). Three users:

- `schema.scope.scope()` adds the role's row filter to every table read (`row_condition`);
- the resolvers in `schema.build` pass each plan and its arguments through `guard()` before
  loading and the loaded rows through `strip()` after: no value of a field the role may not
  read leaves a resolver, even if a schema wider than the role's were serving it;
- `schema.roles` builds each role's schema from `visible()`.

`access is None` (on a plain `RequestContext`) means unrestricted: the schema tests and the
single-schema mode of `create_app` run that way.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import orjson

from federation.access.variables import MISSING, freeze, substitute
from federation.model import TABLES, Table
from schema.context import RequestContext
from schema.errors import ForbiddenError
from schema.sql import Sql, quote

#: fields beyond columns and relations (kept in step with schema.view.EXTRA_FIELDS)
EXTRAS: dict[str, tuple[str, ...]] = {"assets": ("sources", "provenance", "conflicts")}
#: auxiliary tables → the capability that opens them
AUX_CAPABILITIES = {"quarantine": "quarantine", "ambiguities": "ambiguities", "source_status": "sources"}


def all_fields(table: Table) -> frozenset[str]:
    return frozenset([*table.column_names, *(r.name for r in table.relations), *EXTRAS.get(table.name, ())])


@dataclass(frozen=True)
class TableAccess:
    #: readable columns, relations and extras (`id` always)
    fields: frozenset[str]
    #: JSON columns readable key by key (`attributes.ram_gb` grants): column → its readable
    #: top-level keys. A column not here is read whole (if it is in `fields`)
    json_keys: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: row filter in the `where` syntax with X-Actor-* variables; None: every row
    filter: dict[str, Any] | None = None
    aggregations: bool = False
    #: aggregations limited to counts (no sum/avg/min/max, no group_by)
    count_only: bool = False
    actions: frozenset[str] = frozenset()


@dataclass(frozen=True)
class RoleAccess:
    role: str
    tables: Mapping[str, TableAccess]
    capabilities: frozenset[str] = frozenset()
    #: actor attributes the role's filters read (part of the result cache key)
    variables: frozenset[str] = frozenset()
    models: Mapping[str, Table] = field(default_factory=lambda: TABLES)

    # ------------------------------------------------------------------ questions
    def allowed(self, action: str, table: str | None = None, field: str | None = None) -> bool:
        """`read` a type or one of its fields, `aggregate` a type, a capability (`quarantine`,
        `access_log`…), or an action on a type (`checkout`…)."""
        if table is None:
            return action in self.capabilities
        access = self.tables.get(table)
        if access is None:
            return False
        if action == "read":
            return field is None or field in access.fields
        if action == "aggregate":
            return access.aggregations
        return action in access.actions

    def exposed(self, table: str) -> bool:
        return table in self.tables

    def can_read(self, table: str, field: str) -> bool:
        access = self.tables.get(table)
        return access is not None and field in access.fields

    def ensure_readable(self, table: str, field: str | None = None) -> None:
        if field is None and not self.exposed(table):
            raise ForbiddenError(
                f"type `{table}` is not readable by role `{self.role}`", type=table, role=self.role
            )
        if field is not None and not self.can_read(table, field):
            raise ForbiddenError(
                f"field `{field}` of `{table}` is not readable by role `{self.role}`",
                type=table,
                field=field,
                role=self.role,
            )

    # ------------------------------------------------------------------ JSON keys
    def json_keys(self, table: str, column: str) -> frozenset[str] | None:
        """The keys of JSON `column` the role may read; None: all of them (or not JSON)."""
        access = self.tables.get(table)
        return None if access is None else access.json_keys.get(column)

    def keyed_columns(self) -> dict[str, set[str]]:
        """table → its JSON columns readable only key by key (never sorted or grouped)."""
        return {t: set(a.json_keys) for t, a in self.tables.items() if a.json_keys}

    def ensure_json_key(self, table: str, column: str, key: Any) -> None:
        keys = self.json_keys(table, column)
        if keys is not None and key not in keys:
            name = f"{column}.{key}"
            raise ForbiddenError(
                f"field `{name}` of `{table}` is not readable by role `{self.role}`",
                type=table,
                field=name,
                role=self.role,
            )

    def ensure_whole(self, table: str, column: str) -> None:
        """Sorting, grouping, distinct_on and distinct counts use the whole JSON value, which
        would reveal keys the role may not read: refused when the role reads only some keys."""
        keys = self.json_keys(table, column)
        if keys is not None:
            raise ForbiddenError(
                f"field `{column}` of `{table}` is readable by role `{self.role}` only key by key "
                f"({', '.join(f'{column}.{k}' for k in sorted(keys))}): it cannot be sorted, "
                "grouped or used by distinct_on or count(columns:)",
                type=table,
                field=column,
                role=self.role,
            )

    def project(self, table: str, column: str, value: Any) -> Any:
        """`value` of JSON `column` with only the keys the role may read (a non-object: {})."""
        keys = self.json_keys(table, column)
        if keys is None or value is None:
            return value
        if isinstance(value, str):  # JSON text not decoded yet
            try:
                value = orjson.loads(value)
            except orjson.JSONDecodeError:
                return {}
        if not isinstance(value, dict):
            return {}
        return {k: v for k, v in value.items() if k in keys}

    def ensure_aggregate(self, table: str) -> None:
        if not self.allowed("aggregate", table):
            raise ForbiddenError(
                f"aggregations over `{table}` are not allowed for role `{self.role}`",
                type=table,
                role=self.role,
            )

    # ------------------------------------------------------------------ schema
    def visible(self) -> dict[str, set[str]]:
        """`build_schema(visible=…)` for this role."""
        out: dict[str, set[str]] = {t: set(a.fields) for t, a in self.tables.items()}
        for capability in ("sources", "quarantine", "ambiguities"):
            if capability in self.capabilities:
                out[capability] = {"*"}
        return out

    def aggregations(self) -> dict[str, bool]:
        return {t: a.aggregations for t, a in self.tables.items()}

    def count_only(self) -> set[str]:
        return {t for t, a in self.tables.items() if a.aggregations and a.count_only}

    def ensure_statistics(self, table: str) -> None:
        """Sums, averages, extremes and groups need more than a count-only grant."""
        self.ensure_aggregate(table)
        if self.tables[table].count_only:
            raise ForbiddenError(
                f"only counts over `{table}` are allowed for role `{self.role}`", type=table, role=self.role
            )

    # ------------------------------------------------------------------ rows
    def row_filter(self, table: str, actor: Mapping[str, Any]) -> dict[str, Any] | bool | None:
        """The table's filter with the actor's values: None (every row), False (no row: not
        exposed, or a variable the actor has no value for) or a `where` dict."""
        access = self.tables.get(table)
        if access is None:
            return False
        if access.filter is None:
            return None
        found = substitute(access.filter, actor)
        return False if found is MISSING else found

    def cache_key(self, actor: Mapping[str, Any]) -> tuple[Any, ...]:
        """What of the actor a result depends on: the role and the variables its filters read."""
        return (self.role, *((v, freeze(actor.get(v))) for v in sorted(self.variables)))


@dataclass
class AuthorizedContext(RequestContext):
    """A request context that carries the actor's access (the endpoint makes these)."""

    access: RoleAccess | None = None


def access_of(ctx: Any) -> RoleAccess | None:
    return getattr(ctx, "access", None)


# ----------------------------------------------------------------------------- scope


def row_condition(access: RoleAccess, actor: Mapping[str, Any], table: str, alias: str, sql: Sql) -> str:
    """SQL over `alias` keeping the rows of `table` (model or auxiliary) the role may see."""
    from schema.filters import compile_where

    if table in access.models:
        found = access.row_filter(table, actor)
        if found is False:
            return "FALSE"
        if found is None:
            return "TRUE"
        # relationships inside a role's own filter are not filtered again (as Hasura): the
        # filter is the administrator's, and it only ever removes rows of `table`
        depth = getattr(sql, "_policy_depth", 0)
        sql._policy_depth = depth + 1  # type: ignore[attr-defined]
        try:
            return "(" + compile_where(found, access.models[table], alias, sql) + ")"
        finally:
            sql._policy_depth = depth  # type: ignore[attr-defined]
    if table in AUX_CAPABILITIES:
        return "TRUE" if AUX_CAPABILITIES[table] in access.capabilities else "FALSE"
    if table in ("provenance", "conflicts", "record_sources"):
        extra = "sources" if table == "record_sources" else table
        ors = []
        for name in access.models:
            if not access.can_read(name, extra):
                continue
            conds = [f"{alias}.entity = {sql.bind(name)}"]
            if table != "record_sources":
                fields = provenance_fields(access, name)
                conds.append(f'{alias}."field" IN (SELECT unnest({sql.bind(sorted(fields))}::VARCHAR[]))')
            if access.row_filter(name, actor) is not None:
                inner = sql.alias()
                cond = row_condition(access, actor, name, inner, sql)
                conds.append(
                    f"EXISTS (SELECT 1 FROM {quote(name)} AS {inner} "
                    f"WHERE {inner}.id = {alias}.entity_id AND {cond})"
                )
            ors.append("(" + " AND ".join(conds) + ")")
        return "(" + " OR ".join(ors) + ")" if ors else "FALSE"
    return "FALSE"  # a table nobody told this module about: closed


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


def trusted(sql: Sql) -> bool:
    """True while compiling a role's own filter (see `row_condition`)."""
    return getattr(sql, "_policy_depth", 0) > 0


# ----------------------------------------------------------------------------- resolvers


def guard(ctx: Any, plan: Any, args: Mapping[str, Any] | None = None) -> None:
    """Refuse (FORBIDDEN) a plan or arguments that read a field the actor may not read.

    `plan`: an `ObjectPlan` or `AggregatePlan` (schema.plan); `args`: the list arguments."""
    access = access_of(ctx)
    if access is None:
        return
    from schema.plan import AggregatePlan

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
            guard(ctx, plan.nodes)
        return
    for column in sorted(plan.columns):
        access.ensure_readable(table, column)
    for extra in sorted(plan.extras):
        access.ensure_readable(table, extra)
    for name, sub in plan.objects.items():
        access.ensure_readable(table, name)
        guard(ctx, sub)
    for relation, sub_args, sub in plan.arrays.values():
        access.ensure_readable(table, relation.name)
        guard(ctx, sub, sub_args)
    for relation, sub_args, agg in plan.aggregates.values():
        access.ensure_readable(table, relation.name)
        guard(ctx, agg, sub_args)


def guard_args(access: RoleAccess, table: Table, args: Mapping[str, Any]) -> None:
    _guard_where(access, table, args.get("where"))
    for item in args.get("order_by") or []:
        _guard_order(access, table, item)
    for column in args.get("distinct_on") or []:
        access.ensure_readable(table.name, getattr(column, "value", column))
        access.ensure_whole(table.name, getattr(column, "value", column))


def _guard_where(access: RoleAccess, table: Table, exp: Any) -> None:
    if not isinstance(exp, Mapping):
        return
    relations = {r.name: r for r in table.relations}
    for key, value in exp.items():
        if value is None:
            continue
        if key in ("_and", "_or"):
            for item in value:
                _guard_where(access, table, item)
        elif key == "_not":
            _guard_where(access, table, value)
        else:
            access.ensure_readable(table.name, key)
            if key in relations:
                target = access.models[relations[key].target]
                access.ensure_readable(target.name)
                _guard_where(access, target, value)
            elif access.json_keys(table.name, key) is not None and isinstance(value, Mapping):
                _guard_json(access, table.name, key, value)


def _guard_json(access: RoleAccess, table: str, column: str, ops: Mapping[str, Any]) -> None:
    """A JSON column the role reads key by key: a filter may name only readable keys
    (`_has_key`, the keys of a `_contains`/`_eq`/`_neq` object). The comparison itself runs
    on the readable projection (`json_view`), so nothing about the other keys is inferred."""
    for op, operand in ops.items():
        if operand is None:
            continue
        if op == "_has_key":
            access.ensure_json_key(table, column, operand)
        elif op in ("_contains", "_eq", "_neq") and isinstance(operand, Mapping):
            for key in operand:
                access.ensure_json_key(table, column, key)


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


def strip(ctx: Any, plan: Any, rows: Iterable[dict[str, Any]] | dict[str, Any] | None) -> None:
    """Drop, from loaded rows, every column the actor may not read (join keys loaded for a
    relationship, say), at every level of the plan."""
    access = access_of(ctx)
    if access is None or rows is None:
        return
    from schema.plan import AggregatePlan

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


def json_view(sql: Sql, table: str, column: str, ref: str) -> str:
    """SQL for JSON `column` (at `ref`) as the request may see it: with only the readable keys
    when the role reads it key by key (not in the role's own filter: that is trusted)."""
    access = access_of(sql.ctx)
    if access is None or trusted(sql):
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
