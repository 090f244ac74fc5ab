"""Root fields over the gateway's own tables, queried like any table and authorized like the
rows they are about:

    changes(where: changes_bool_exp, order_by: [changes_order_by!], limit: Int, offset: Int): [changes!]!
    checkouts(where: checkouts_bool_exp, order_by: [...], limit, offset, overdue: Boolean): [checkouts!]!

A row of `changes` is one field of one mutation; the role sees those about the types and
fields it may read (a role that cannot read `cost` sees no cost changes, and no field it
reads only key by key), about rows its filter lets it see in the current snapshot. A row
of `checkouts` is one loan; roles that check assets out or in see the loans of the assets
they see. The rows live in the workflow store (SQLite or PostgreSQL); the same `where`
tree filters them there.

No `from __future__ import annotations` here: the types are built at run time.
"""

from collections.abc import Callable
from dataclasses import fields as record_fields
from datetime import UTC, datetime
from typing import Any

import strawberry

from federation.access.errors import UserInputError
from federation.access.policy import RoleAccess
from federation.model import Table
from federation.model.where import FALSE, And, Compare, Node, WhereError, conjoin, disjoin
from federation.model.where import parse as parse_where
from federation.workflow import WORKFLOW_TABLES, Actor, WorkflowStore, WorkflowStoreError
from federation.workflow.requests import visibility
from schema.authorize import REQUEST_ACTIONS, authorize_history, authorize_loans
from schema.auxiliary import Change, CheckoutRecord
from schema.context import RequestContext
from schema.inputs import TableInputs
from schema.ordering import enum_value
from schema.selection import root_selection
from schema.sql import Sql
from schema.where_sql import scope

UNSET: Any = strawberry.UNSET
#: the most rows one query returns
MAX_ROWS = 1000
#: the most entities of one filtered type whose rows a role is shown at once
MAX_VISIBLE = 20_000

#: (ctx, access) → the `where` tree of the rows the role may read
Visible = Callable[[RequestContext, RoleAccess], Node]


def visible_ids(ctx: RequestContext, table: Table) -> list[str]:
    """Ids of the rows of `table` the request's role may see in the current snapshot."""
    # every model table: a row filter may go through a relationship (`assigned_to: {email: …}`)
    models = dict(ctx.access.models) if ctx.access is not None else {}
    sql = Sql(ctx, {**models, table.name: table})
    from_sql, condition = scope(table.name, "t", sql)
    _, rows = sql.run(f"SELECT t.id FROM {from_sql} WHERE {condition} LIMIT {MAX_VISIBLE + 1}")
    if len(rows) > MAX_VISIBLE:
        raise UserInputError(
            f"the rows about more than {MAX_VISIBLE:,} {table.name} your role may see cannot be searched "
            "at once; filter by id"
        )
    return [r[0] for r in rows]


def actor_of(ctx: RequestContext, access: RoleAccess) -> Actor:
    """The caller as the request workflow knows it (email, role, approves, fulfils)."""
    email = str(ctx.actor.get("email") or "").strip().lower()
    return Actor(
        email=email,
        role=access.role,
        approves=access.allowed("approve", "assets"),
        fulfils=access.allowed("fulfil", "assets"),
        request_id=ctx.request_id,
    )


def visible_requests(store: WorkflowStore, ctx: RequestContext, access: RoleAccess) -> Node | None:
    """The changes of the requests the role sees by the workflow's rule (its own, those
    waiting on it or its role), for a role holding a request action; None: none of them."""
    if not any(access.allowed(action, "assets") for action in REQUEST_ACTIONS):
        return None
    rows = store.query("requests", where=visibility(actor_of(ctx, access)), limit=MAX_VISIBLE + 1)
    if len(rows) > MAX_VISIBLE:
        raise UserInputError(
            f"the changes of more than {MAX_VISIBLE:,} requests you see cannot be searched at once; "
            "filter by entity_id"
        )
    if not rows:
        return None
    return And((Compare("entity", "_eq", "requests"), Compare("entity_id", "_in", [r.id for r in rows])))


def visible_changes(ctx: RequestContext, access: RoleAccess, requests: Node | None = None) -> Node:
    """The `where` tree of the changes the role sees: of the types and fields it reads, of
    rows it sees; and `requests`, those of the requests it sees."""
    parts: list[Node] = [requests] if requests is not None else []
    for name in sorted(access.tables):
        if name not in access.models:
            continue
        fields = sorted(
            f
            for f in access.tables[name].fields
            if f in access.models[name].column_names and access.json_keys(name, f) is None
        )
        if not fields:
            continue
        part: list[Node] = [Compare("entity", "_eq", name), Compare("field", "_in", fields)]
        if access.row_filter(name, ctx.actor) is not None:
            part.append(Compare("entity_id", "_in", visible_ids(ctx, access.models[name])))
        parts.append(And(tuple(part)))
    return disjoin(parts) if parts else FALSE


def visible_loans(ctx: RequestContext, access: RoleAccess) -> Node:
    if access.row_filter("assets", ctx.actor) is None:
        return Compare("asset_id", "_is_null", False)
    return Compare("asset_id", "_in", visible_ids(ctx, access.models["assets"]))


def _order(order_by: Any, default: list[tuple[str, str]]) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for item in order_by or []:
        for column, direction in (item or {}).items():
            if direction is not None:
                out.append((column, enum_value(direction)))
    return out or default


def _rows(
    store: WorkflowStore,
    ctx: RequestContext,
    table: str,
    args: dict[str, Any],
    visible: Node,
    default_order: list[tuple[str, str]],
    extra: Node | None = None,
) -> list[dict[str, Any]]:
    try:
        exp = args.get("where")
        node = parse_where(exp, table, tables=WORKFLOW_TABLES) if exp else None
    except WhereError as exc:
        raise UserInputError("; ".join(exc.problems)) from None
    limit = args.get("limit")
    limit = ctx.server.default_limit if limit is None else limit
    if not 0 <= limit <= MAX_ROWS or (args.get("offset") or 0) < 0:
        raise UserInputError(f"limit must be between 0 and {MAX_ROWS}, offset 0 or more")
    try:
        rows = store.query(
            table,
            where=conjoin(node, extra, visible),
            order_by=_order(args.get("order_by"), default_order),
            limit=limit,
            offset=args.get("offset") or 0,
        )
    except (WhereError, WorkflowStoreError) as exc:
        raise UserInputError(str(exc)) from None
    ctx.rows += len(rows)
    ctx.cacheable = False  # the workflow store changes without a new snapshot
    return [{f.name: getattr(r, f.name) for f in record_fields(r)} for r in rows]


def _inputs(table: str) -> TableInputs:
    model = WORKFLOW_TABLES[table]
    inputs = TableInputs(model, model.column_names)
    inputs.fill(object_relations={}, filter_relations={})
    return inputs


def changes_field(store: WorkflowStore) -> dict[str, Any]:
    """{"changes": field} over `store`, for RoleSchemas.root_fields."""
    inputs = _inputs("changes")
    bool_exp, order_by = inputs.bool_exp, inputs.order_by

    def resolve(
        info: strawberry.Info,
        where: bool_exp | None = UNSET,
        order_by: list[order_by] | None = UNSET,
        limit: int | None = UNSET,
        offset: int | None = UNSET,
    ) -> list[Change]:
        ctx: RequestContext = info.context
        access = authorize_history(ctx, info.path.key)
        args = root_selection(info).args
        visible = visible_changes(ctx, access, visible_requests(store, ctx, access))
        return _rows(store, ctx, "changes", args, visible, [("at", "desc"), ("id", "desc")])  # type: ignore[return-value]

    return {
        "changes": strawberry.field(
            resolver=resolve,
            name="changes",
            description="Every field of every mutation, accepted or refused, newest first: what the role "
            "may read of it.",
        )
    }


def checkouts_field(store: WorkflowStore) -> dict[str, Any]:
    """{"checkouts": field} over `store`, for the roles that check assets out or in."""
    inputs = _inputs("checkouts")
    bool_exp, order_by = inputs.bool_exp, inputs.order_by

    def resolve(
        info: strawberry.Info,
        where: bool_exp | None = UNSET,
        order_by: list[order_by] | None = UNSET,
        limit: int | None = UNSET,
        offset: int | None = UNSET,
        overdue: bool | None = UNSET,
    ) -> list[CheckoutRecord]:
        ctx: RequestContext = info.context
        access = authorize_loans(ctx, info.path.key)
        args = root_selection(info).args
        extra = None
        if args.get("overdue"):
            now = datetime.now(UTC).isoformat()
            extra = And((Compare("checked_in_at", "_is_null", True), Compare("expected_checkin", "_lt", now)))
        visible = visible_loans(ctx, access)
        order = [("checked_out_at", "desc"), ("id", "asc")]
        return _rows(store, ctx, "checkouts", args, visible, order, extra)  # type: ignore[return-value]

    return {
        "checkouts": strawberry.field(
            resolver=resolve,
            name="checkouts",
            description="Loans of assets, newest first; `overdue: true`: those past their expected "
            "check-in and not back.",
        )
    }
