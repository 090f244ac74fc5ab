"""Mutations in the Hasura dialect: `update_T_by_pk` and `update_T`, through the same door.

    mutation { update_assets_by_pk(pk_columns: {id: "…"}, _set: {status: "in_repair"}) { id status } }

`insert_T_one`/`insert_T` and `delete_T_by_pk`/`delete_T` take the same path (an insert
must create rows inside the role's filter; a delete returns the rows as they were).

The path of one mutation root field: `authorize_write` (the door: the action, every column
set, and the fields its `where` reads) → the rows it targets, read from the caller's snapshot
through the role's row filter (a row the role cannot read cannot be written) → the rows as
they would be after it checked against that filter again (a role cannot move a row out of
its own filter) → federation/writes (route to the owning sources, conflict check, write,
read back, patch the served graph) → the `returning` selection compiled, like any query,
against the snapshot that now holds the write. A FORBIDDEN refusal (at the door, or a row
that would leave the filter) is kept in the change history: the fields asked, the values
sent, the row only where the role sees it (`record_forbidden`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import orjson

from federation.access.errors import ForbiddenError, UserInputError
from federation.model import DUCKDB_TYPES, Table
from federation.pipeline.store import Snapshot
from federation.writes import Caller, WriteError, Writer
from federation.writes.desk import Guard
from federation.writes.history import forbidden
from federation.writes.lifecycle import delete, insert
from federation.writes.values import model_value
from schema.authorize import authorize_write, require_access
from schema.context import RequestContext
from schema.execute import Root, run_root
from schema.plan import prepared_args
from schema.selection import Selected
from schema.sql import Sql, quote
from schema.where_sql import compile_where, row_condition, scope

#: the most rows one `update_T` may change
MAX_ROWS = 1000


class MutationError(UserInputError):
    """A write refused by federation/writes, with its own code (CONFLICT, …)."""

    def __init__(self, error: WriteError) -> None:
        super().__init__(error.message)
        self.extensions = error.extensions


def run_update(ctx: RequestContext, root: Root, sel: Selected) -> orjson.Fragment:
    view = root.view
    table = view.tables[root.table]
    values = {k: model_value(v, table.column(k).type) for k, v in (sel.args.get("_set") or {}).items()}
    by_pk = root.kind == "update_by_pk"
    where = {"id": {"_eq": (sel.args.get("pk_columns") or {}).get("id")}} if by_pk else sel.args.get("where")
    _names_rows(where, sel.key)
    args = prepared_args(view, table, {"where": where})
    asked = _asked_ids(ctx, table, where if by_pk else None)
    _door(ctx, table, "update", values, args, sel.key, asked)
    writer = _writer(ctx)
    ids = _targets(ctx, table, args)
    if values and ids:
        try:
            stays_visible(ctx, table, ids, values)
        except ForbiddenError as exc:
            record_forbidden(ctx, table.name, ids, [values], exc.message)
            raise
        try:
            done = writer.update(ctx.snapshot, table.name, ids, values, caller_of(ctx))
        except WriteError as exc:
            raise MutationError(exc) from None
        if done.snapshot_path is not None:
            ctx.snapshot = Snapshot(done.snapshot_id or "", done.snapshot_path)
    return _returning(ctx, root, sel, ids, by_pk)


def run_insert(ctx: RequestContext, root: Root, sel: Selected) -> orjson.Fragment:
    view = root.view
    table = view.tables[root.table]
    one = root.kind == "insert_one"
    given = [sel.args.get("object") or {}] if one else list(sel.args.get("objects") or [])
    rows = [{k: model_value(v, table.column(k).type) for k, v in row.items()} for row in given]
    _door(ctx, table, "insert", rows, None, sel.key, [])
    if not rows:
        return _returning(ctx, root, sel, [], one)
    if len(rows) > MAX_ROWS:
        raise UserInputError(f"at most {MAX_ROWS} objects per insert (got {len(rows)})")
    empty = [i for i, row in enumerate(rows) if not any(v is not None for v in row.values())]
    if empty:
        raise UserInputError(f"objects[{empty[0]}]: an insert needs at least one field")
    for row in rows:
        try:
            stays_visible(ctx, table, None, row)
        except ForbiddenError as exc:
            record_forbidden(ctx, table.name, [], rows, exc.message)
            raise
    try:
        done = insert(_writer(ctx), ctx.snapshot, table.name, rows, caller_of(ctx))
    except WriteError as exc:
        raise MutationError(exc) from None
    if done.snapshot_path is not None:
        ctx.snapshot = Snapshot(done.snapshot_id or "", done.snapshot_path)
    return _returning(ctx, root, sel, done.entity_ids, one)


def run_delete(ctx: RequestContext, root: Root, sel: Selected) -> orjson.Fragment:
    view = root.view
    table = view.tables[root.table]
    by_pk = root.kind == "delete_by_pk"
    where = {"id": {"_eq": sel.args.get("id")}} if by_pk else sel.args.get("where")
    _names_rows(where, sel.key)
    args = prepared_args(view, table, {"where": where})
    _door(ctx, table, "delete", {}, args, sel.key, _asked_ids(ctx, table, where if by_pk else None))
    writer = _writer(ctx)
    ids = _targets(ctx, table, args)
    # the rows as they were: what a delete returns
    answer = _returning(ctx, root, sel, ids, by_pk)
    if ids:
        try:
            done = delete(writer, ctx.snapshot, table.name, ids, caller_of(ctx))
        except WriteError as exc:
            raise MutationError(exc) from None
        if done.snapshot_path is not None:
            ctx.snapshot = Snapshot(done.snapshot_id or "", done.snapshot_path)
    return answer


def _names_rows(where: Any, root: str) -> None:
    """A bulk write must name its rows: a `where` that is empty, or whose operand is null
    (read as "no condition", as reads do — an unset variable), would touch every row the
    role sees. Refused, as Hasura does."""
    if where is None or where == {} or where == {"_and": []}:
        raise UserInputError(
            f"{root}: `where` names no rows; a write to every row must say so: {{id: {{_is_null: false}}}}"
        )

    def visit(node: Any, path: str) -> None:
        if isinstance(node, list):
            for i, item in enumerate(node):
                visit(item, f"{path}[{i}]")
        elif isinstance(node, dict):
            for key, value in node.items():
                if value is None or value == {}:
                    raise UserInputError(
                        f"{root}: {path}.{key} is null or empty; a write's `where` may not leave a "
                        "condition out (an unset variable would widen it to every row)"
                    )
                visit(value, f"{path}.{key}")

    visit(where, "where")


def _door(
    ctx: RequestContext,
    table: Table,
    action: str,
    values: Mapping[str, Any] | Sequence[Mapping[str, Any]],
    args: dict[str, Any] | None,
    root: str,
    entity_ids: list[str],
) -> None:
    """`authorize_write`; a FORBIDDEN refusal is kept in the change history too."""
    rows = [values] if isinstance(values, Mapping) else list(values)
    columns = sorted({c for row in rows for c in row})
    try:
        authorize_write(ctx, table, action, columns, args, root)
    except ForbiddenError as exc:
        record_forbidden(ctx, table.name, entity_ids, rows, exc.message)
        raise


def _asked_ids(ctx: RequestContext, table: Table, where: Any) -> list[str]:
    """The id a `by_pk` mutation names, for the history of its refusal: only where the role
    sees that row (a row it cannot see is not named in the history on its behalf)."""
    value = ((where or {}).get("id") or {}).get("_eq")
    try:
        entity_id = str(UUID(str(value)))
    except ValueError:
        return []
    return [entity_id] if ctx.access is not None and visible(ctx, table.name, entity_id) else []


def record_forbidden(
    ctx: RequestContext,
    entity: str,
    entity_ids: Sequence[str],
    rows: Sequence[Mapping[str, Any]],
    reason: str,
) -> None:
    """Keep a FORBIDDEN refusal in the change history: who, the entity, the fields asked with
    the values sent (nothing read from the graph). Not for a request without a role."""
    if ctx.writer is None or ctx.access is None:
        return
    caller = caller_of(ctx)
    changes = [c for row in rows or [{}] for c in forbidden(entity, entity_ids, row, caller, reason)]
    ctx.writer.record(changes)


def guard_of(ctx: RequestContext, table: Table) -> Guard:
    """The desk's guard (federation/writes/desk.py): the rule `update` applies, a write may not
    move a row out of the role's own filter (`stays_visible`); refused FORBIDDEN, recorded."""

    def guard(entity_id: str, values: Mapping[str, Any]) -> None:
        try:
            stays_visible(ctx, table, [entity_id], dict(values))
        except ForbiddenError as exc:
            record_forbidden(ctx, table.name, [entity_id], [values], exc.message)
            extra = {k: v for k, v in (exc.extensions or {}).items() if k != "code"}
            raise WriteError("FORBIDDEN", exc.message, **extra) from None

    return guard


def caller_of(ctx: RequestContext) -> Caller:
    """Who writes, as the change history names them: the actor's email, else its subject."""
    actor = ctx.actor.get("email") or ctx.actor.get("subject") or ctx.actor.get("role") or "?"
    return Caller(str(actor), ctx.access.role if ctx.access else "?", ctx.request_id)


def visible(ctx: RequestContext, table: str, entity_id: str) -> bool:
    """Whether the row of `table` with `entity_id` is one the request's role sees."""
    return entity_id in visible_ids(ctx, table, [entity_id])


def visible_ids(ctx: RequestContext, table: str, entity_ids: Sequence[str]) -> set[str]:
    """Those of `entity_ids` whose rows of `table` the request's role sees (one query)."""
    if ctx.access is None or table not in ctx.access.models or not entity_ids:
        return set()
    # every model the role reads: its row filter may go through a relation (assigned_to → people)
    sql = Sql(ctx, dict(ctx.access.models))
    from_sql, condition = scope(table, "t", sql)
    asked = sql.bind(list(dict.fromkeys(entity_ids)))
    _, rows = sql.run(
        f"SELECT t.id FROM {from_sql} WHERE ({condition}) AND t.id IN (SELECT unnest({asked}::VARCHAR[]))"
    )
    return {r[0] for r in rows}


def _writer(ctx: RequestContext) -> Writer:
    if ctx.writer is None:
        raise UserInputError("this server does not accept writes (no writer configured)")
    return ctx.writer


def _targets(ctx: RequestContext, table: Table, args: dict[str, Any]) -> list[str]:
    """Ids of the rows `where` picks among those the role may read (none: nothing written)."""
    sql = Sql(ctx, {table.name: table} | dict(ctx.access.models if ctx.access else {}))
    from_sql, visible = scope(table.name, "t", sql)
    condition = compile_where(args.get("where"), table, "t", sql) if args.get("where") is not None else "TRUE"
    text = (
        f"SELECT t.id FROM {from_sql} WHERE ({visible}) AND ({condition}) ORDER BY t.id LIMIT {MAX_ROWS + 1}"
    )
    _, rows = sql.run(text)
    if len(rows) > MAX_ROWS:
        raise UserInputError(f"the update matches more than {MAX_ROWS} rows; narrow its `where`")
    return [r[0] for r in rows]


def stays_visible(ctx: RequestContext, table: Table, ids: list[str] | None, values: dict[str, Any]) -> None:
    """Refuse a write that would move a row out of the role's own filter (`ids`: the rows
    updated; None: a new row made of `values`)."""
    access = require_access(ctx, table.name)
    if access.row_filter(table.name, ctx.actor) is None:
        return
    sql = Sql(ctx, dict(access.models))
    if ids is None:
        cells = ", ".join(
            f"CAST({sql.bind(values.get(c.name))} AS {DUCKDB_TYPES[c.type]}) AS {quote(c.name)}"
            for c in table.columns
        )
        rows_sql = f"(SELECT {cells}) AS t"
    else:
        # the rows were chosen among those the role sees (_targets): here only their new values
        replace = ", ".join(f"{sql.bind(v)} AS {quote(c)}" for c, v in values.items())
        rows_sql = (
            f"(SELECT * REPLACE ({replace}) FROM {quote(table.name)} AS s "
            f"WHERE s.id IN (SELECT unnest({sql.bind(ids)}::VARCHAR[]))) AS t"
        )
    moved = (
        f"SELECT t.id FROM {rows_sql} "
        f"WHERE NOT coalesce(({row_condition(access, ctx.actor, table.name, 't', sql)}), FALSE) LIMIT 1"
    )
    _, rows = sql.run(moved)
    if rows:
        what = "this insert would create a row" if ids is None else f"this update would move {rows[0][0]}"
        raise ForbiddenError(
            f"{what} out of the {table.name} role `{access.role}` may see; it is not allowed",
            type=table.name,
            role=access.role,
        )


def _returning(
    ctx: RequestContext, root: Root, sel: Selected, ids: list[str], by_pk: bool
) -> orjson.Fragment:
    """The selection, read like a query from the snapshot that holds the write."""
    view = root.view
    if by_pk:
        if not ids:
            return orjson.Fragment(b"null")
        read = Selected(root.table, sel.key, {"id": ids[0]}, sel.fields, sel.type_name)
        return run_root(ctx, Root("by_pk", root.table, view), read)
    out: list[bytes] = [b"{"]
    parts = []
    for field in sel.fields:
        if field.name == "affected_rows":
            parts.append(orjson.dumps(field.key) + b":" + str(len(ids)).encode())
        elif field.name == "returning":
            args = {"where": {"id": {"_in": ids}}, "limit": max(len(ids), 1), "order_by": [{"id": "asc"}]}
            listed = Selected(root.table, sel.key, args, field.fields, field.type_name)
            value = run_root(ctx, Root("list", root.table, view), listed) if ids else orjson.Fragment(b"[]")
            parts.append(orjson.dumps(field.key) + b":" + orjson.dumps(value))
        elif field.name == "__typename":
            parts.append(orjson.dumps(field.key) + b":" + orjson.dumps(field.type_name))
    out.append(b",".join(parts))
    out.append(b"}")
    return orjson.Fragment(b"".join(out))
