"""The door: every root field passes `authorize()` before anything is read.

`authorize(ctx, plan, args)` refuses (FORBIDDEN, naming the field) a plan or arguments that
read, filter, sort, group or aggregate on a field the actor's role may not read; a context
without an access is refused outright (deny by default). The row filters themselves are
applied at every table reference by `schema.where_sql.scope()`, JSON columns read key by key
are projected in SQL (`json_view`), and the compiler checks every column it emits against
the role once more (schema/compile.py): no value leaves unless the role may read it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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


def authorize_history(ctx: RequestContext, root: str) -> RoleAccess:
    """The door of the change history: the `changes` capability; what of it the role reads
    (types, fields, rows) is decided by the caller from the access returned."""
    authorize_capability(ctx, root, "changes")
    ctx.reads.add("changes")
    return require_access(ctx, root)


def authorize_action(ctx: RequestContext, table: str, action: str, root: str) -> RoleAccess:
    """The door of a mutation that is an action (`checkout`, `checkin`…) on `table`, not an
    edit: the role holds the action; which rows it may act on is its row filter's business
    (the caller checks the row is one the role sees)."""
    access = require_access(ctx, root)
    ctx.reads.add(table)
    if not access.allowed(action, table):
        raise ForbiddenError(f"role `{access.role}` may not {action} `{table}`", type=table, role=access.role)
    ctx.authorized.add(root)
    return access


def authorize_loans(ctx: RequestContext, root: str) -> RoleAccess:
    """The door of `checkouts`: roles that check assets out or in."""
    access = require_access(ctx, root)
    ctx.reads.add("checkouts")
    if not (access.allowed("checkout", "assets") or access.allowed("checkin", "assets")):
        raise ForbiddenError(f"`{root}` is not readable by role `{access.role}`", role=access.role)
    ctx.authorized.add(root)
    return access


def authorize_catalog(ctx: RequestContext, root: str, fields: set[str]) -> RoleAccess:
    """The door of `catalog`: the role holds a catalog grant (config: `roles.R.catalog`), and
    every catalog field the query names (selected, filtered or sorted on) is one it shows:
    prices only with `prices`, an asset's field only if listed in the grant's `columns`."""
    access = require_access(ctx, root)
    ctx.reads.add("catalog")
    grant = access.catalog
    if grant is None:
        raise ForbiddenError(f"`{root}` is not readable by role `{access.role}`", role=access.role)
    for name in sorted(fields):
        ctx.reads.add(f"catalog.{name}")
        if not catalog_field_allowed(access, name):
            shown = name.removeprefix("assets.")
            raise ForbiddenError(
                f"field `{shown}` of `catalog` is not readable by role `{access.role}`",
                type="catalog",
                field=name,
                role=access.role,
            )
    ctx.authorized.add(root)
    return access


#: the catalog entry fields that are prices
CATALOG_PRICES = ("price_min", "price_max")


def catalog_field_allowed(access: RoleAccess, name: str) -> bool:
    """`name`: an entry field (`in_stock`, `price_min`) or `assets.<column>`."""
    grant = access.catalog
    if grant is None:
        return False
    if name.startswith("assets."):
        return name.removeprefix("assets.") in grant.columns
    if name == "assets":  # the ids of the assets at least
        return True
    return grant.prices or name not in CATALOG_PRICES


#: the actions of the request workflow, on `assets`
REQUEST_ACTIONS = ("request", "approve", "fulfil")


def authorize_requests(
    ctx: RequestContext, root: str, actions: tuple[str, ...] = REQUEST_ACTIONS
) -> RoleAccess:
    """The door of the request workflow (`request_form`, `requests`, `submit_request`,
    `approve_request`…): the role holds one of `actions` on assets. Which requests it sees or
    acts on is the workflow's rule (its own, and those waiting on it or its role)."""
    access = require_access(ctx, root)
    ctx.reads.add("requests")
    if not any(access.allowed(action, "assets") for action in actions):
        raise ForbiddenError(
            f"`{root}` needs the {' or '.join(actions)} action on assets, which role `{access.role}` lacks",
            role=access.role,
        )
    ctx.authorized.add(root)
    return access


def authorize_nothing(ctx: RequestContext, root: str) -> None:
    """The door for a root field that reads nothing at all (`no_access`'s fixed message)."""
    ctx.authorized.add(root)


def authorize(
    ctx: RequestContext, plan: ObjectPlan | AggregatePlan, args: Mapping[str, Any] | None, root: str
) -> None:
    """The door of a root field over a model table: refuse (FORBIDDEN) the whole field if its
    plan or arguments use a field the role may not read. `root`: the response key."""
    access = require_access(ctx, root)
    _check(_Recording(access, ctx.reads), plan, args)  # type: ignore[arg-type]
    ctx.authorized.add(root)


def authorize_write(
    ctx: RequestContext,
    table: Table,
    action: str,
    columns: list[str],
    args: Mapping[str, Any] | None,
    root: str,
) -> None:
    """The door of a mutation: the role holds `action` on `table`, may set every column in
    `columns`, and may read every field its `where` names (the rows it may write are those
    it may read: the row filter is applied where the targets are chosen)."""
    access = require_access(ctx, root)
    recording = _Recording(access, ctx.reads)
    recording.ensure_readable(table.name)
    if not access.allowed(action, table.name):
        raise ForbiddenError(
            f"role `{access.role}` may not {action} `{table.name}`", type=table.name, role=access.role
        )
    allowed = access.writable_columns(table.name, action)
    for column in columns:
        ctx.reads.add(f"{table.name}.{column}")
        if column not in allowed:
            raise ForbiddenError(
                f"field `{column}` of `{table.name}` is not writable by role `{access.role}`",
                type=table.name,
                field=column,
                role=access.role,
            )
    if args:
        guard_args(recording, table, args)  # type: ignore[arg-type]
    ctx.authorized.add(root)


class _Recording:
    """The role's access, noting every type and field a plan asks for (the access log's
    record of what was read, variables included), refused or not."""

    def __init__(self, access: RoleAccess, reads: set[str]) -> None:
        self._access = access
        self._reads = reads

    def ensure_readable(self, table: str, field: str | None = None) -> None:
        self._reads.add(table if field is None else f"{table}.{field}")
        self._access.ensure_readable(table, field)

    def ensure_json_key(self, table: str, column: str, key: Any) -> None:
        self._reads.add(f"{table}.{column}.{key}")
        self._access.ensure_json_key(table, column, key)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._access, name)


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
