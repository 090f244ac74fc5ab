"""The query path of a root field: selection → plan → `authorize` (the one door) → one SQL
statement → the field's JSON, spliced into the response.

`CompiledExecution` is the graphql-core execution context of every schema `build_schema`
makes: graphql-core still parses, validates and coerces the variables (cached), but a root
field that names a `Root` in its metadata is answered here as one statement whose JSON text
goes into the response as an `orjson.Fragment`, without graphql-core resolving its fields
one by one. Root fields without one (the access log, introspection) resolve as usual and
pass the door in their own resolvers.
"""

from __future__ import annotations

import heapq
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from graphql import GraphQLObjectType
from graphql.execution.executor import to_nodes
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext

from federation.access.errors import QueryTooComplexError
from federation.model import Relation, Table
from schema.authorize import authorize, authorize_capability
from schema.compile import AUX_COLUMNS, Compiled, Flag, Limits, _needed, _struct, json_value
from schema.compile_aggregates import AggregateCompiler
from schema.context import RequestContext
from schema.history import fill_history, selects_history
from schema.plan import plan_aggregate, plan_object, prepared_args
from schema.selection import Selected, select
from schema.sql import quote
from schema.view import View
from schema.where_sql import scope

#: metadata key of a compiled root field
ROOT = "assetgraph_root"
#: auxiliary root fields: (table, capability, equality arguments, order, paged)
AUX_ROOTS: dict[str, tuple[str, str, tuple[str, ...], str, bool]] = {
    "sources": ("source_status", "sources", (), "name", False),
    "quarantine": ("quarantine", "quarantine", ("source",), "quarantined_at DESC, source, record_id", True),
    "ambiguities": ("ambiguities", "ambiguities", ("entity", "source"), "entity, source, record_id", True),
    # data-quality notes are about source records, as quarantine entries: the same capability
    "quality": ("quality", "quarantine", ("source", "entity", "field"), 'source, record_id, "field"', True),
    "quality_summary": (
        "quality_summary",
        "quarantine",
        ("source", "entity", "field"),
        'count DESC, source, entity, "field", reason',
        True,
    ),
}


@dataclass(frozen=True)
class Search:
    """A `search:` term and the readable columns (and to-one relations' columns) it looks in."""

    term: str
    columns: list[str]
    related: list[tuple[Relation, list[str]]]


@dataclass(frozen=True)
class Root:
    """What a root field answers: `list`, `by_pk` or `aggregate` of `table`, or `aux`."""

    kind: str
    table: str
    view: View
    #: answers the field instead of `run_root` (the mutations: schema/mutations.py)
    run: Callable[[RequestContext, Root, Selected], orjson.Fragment] | None = None


def search_of(ctx: RequestContext, view: View, table: Table, args: dict[str, Any]) -> Search | None:
    term = args.get("search")
    spec = view.search(table.name)
    if not term or spec is None:
        return None
    columns, related = spec
    access = ctx.access
    if access is not None:  # never match on a column the actor may not read
        columns = [c for c in columns if access.can_read(table.name, c)]
        related = [
            (r, [c for c in cs if access.can_read(r.target, c)])
            for r, cs in related
            if access.can_read(table.name, r.name)
        ]
    return Search(term, columns, related)


def compile_root(ctx: RequestContext, root: Root, sel: Selected) -> Compiled:
    """Plan, authorize and compile one root field."""
    view = root.view
    if root.kind == "aux":
        return _aux(ctx, view, sel)
    table = view.tables[root.table]
    compiler = AggregateCompiler(ctx, view)
    if root.kind == "aggregate":
        args = prepared_args(view, table, sel.args)
        authorize(ctx, plan_aggregate(view, table, sel.fields), args, sel.key)
        entries, joins, flags, counts = compiler.aggregate(
            table, sel, sel.key, search=search_of(ctx, view, table, args)
        )
        final = [f"to_json({_struct(entries)})::VARCHAR", f"{' + '.join(counts) or '0'}"]
        final += [expr for _, expr in flags]
        text = f"SELECT {', '.join(final)} FROM (SELECT 1) AS k {' '.join(joins)}"
        return compiler.statement(text, [f for f, _ in flags], "null")
    plan = plan_object(view, table, sel.fields)
    if root.kind == "by_pk":
        args = prepared_args(view, table, {"where": {"id": {"_eq": sel.args["id"]}}})
        authorize(ctx, plan, None, sel.key)
        limits = Limits(ctx, {"limit": 1}, default=None)
    else:
        args = prepared_args(view, table, sel.args)
        authorize(ctx, plan, args, sel.key)
        limits = Limits(ctx, args, default=ctx.server.default_limit)
    _budget(ctx, root, sel, limits.limit)
    search = search_of(ctx, view, table, args) if root.kind == "list" else None
    rows = compiler.rows(
        table,
        args,
        _needed(table, sel.fields),
        limit=limits.fetch,
        offset=limits.offset,
        search=search,
        numbered=limits.cut,  # the window numbers rows only to tell the probe row apart
    )
    level = compiler.list_level(rows, sel, limits, sel.key, keyed=False)
    flags = [f"l.{f.column}" for f in level.flags]
    value = "to_json(l.j)::VARCHAR" if root.kind == "list" else "to_json(l.j[1])::VARCHAR"
    text = f"SELECT {', '.join([value, 'l.n', *flags])} FROM {level.name} AS l"
    return compiler.statement(text, level.flags, "[]" if root.kind == "list" else "null")


def _aux(ctx: RequestContext, view: View, sel: Selected) -> Compiled:
    table, capability, filters, order, paged = AUX_ROOTS[sel.name]
    authorize_capability(ctx, sel.key, capability)
    compiler = AggregateCompiler(ctx, view)
    sql = compiler.sql
    limits = Limits(ctx, sel.args, default=ctx.server.default_limit) if paged else None
    from_sql, scope_sql = scope(table, "t", sql)
    conds = [f"({scope_sql})"] + [
        f"t.{quote(f)} = {sql.bind(sel.args[f])}" for f in filters if sel.args.get(f) is not None
    ]
    text = f"SELECT * FROM {from_sql} WHERE {' AND '.join(conds)} ORDER BY {order}"
    if limits is not None and limits.fetch is not None:
        text += f" LIMIT {int(limits.fetch)}"
    if limits is not None and limits.offset:
        text += f" OFFSET {int(limits.offset)}"
    rows = compiler.cte("r", f"SELECT *, row_number() OVER () AS _n FROM ({text})", materialized=True)
    types = AUX_COLUMNS[table]
    entries = [
        (
            f.key,
            sql.bind(f.type_name)
            if f.name == "__typename"
            else json_value(types[f.name], f"r.{quote(f.name)}"),
        )
        for f in sel.fields
    ]
    keep = limits.limit if limits is not None else None
    only = f" FILTER (WHERE r._n <= {int(keep)})" if keep is not None else ""
    select = [
        f"to_json(COALESCE(list({_struct(entries)} ORDER BY r._n){only}, []))::VARCHAR",
        f"count(*){only}",
    ]
    flags = []
    if limits is not None and limits.cut and keep is not None:
        flag_sql = f"COALESCE(max(r._n) > {int(keep)}, FALSE)"
        select.append(flag_sql)
        flags.append(Flag("_aux", sel.key, limits.message(ctx, sel.key)))
    return compiler.statement(f"SELECT {', '.join(select)} FROM {rows} AS r", flags, "[]")


def decoded(result: Any) -> Any:
    """An execution result whose `data` holds parsed values instead of JSON fragments (for
    Python callers of `schema.execute_sync`; the HTTP endpoint sends the fragments as they are)."""
    if result.data is not None:
        result.data = orjson.loads(orjson.dumps(result.data))
    return result


# ----------------------------------------------------------------------------- budget


def _estimate(view: View, table: Table, fields: list[Selected], many: int, cap: int) -> int:
    """Objects a selection may return below `many` parent rows, from its limits."""
    total = 0
    relations = {r.name: r for r in table.relations}
    for sel in fields:
        if sel.name in relations:
            relation = relations[sel.name]
            target = view.tables[relation.target]
            if relation.kind == "object":
                total += many + _estimate(view, target, sel.fields, many, cap)
            else:
                limit = min(sel.args.get("limit") or cap, cap)
                total += many * limit + _estimate(view, target, sel.fields, many * limit, cap)
        elif sel.name.endswith("_aggregate") and sel.name.removesuffix("_aggregate") in relations:
            target = view.tables[relations[sel.name.removesuffix("_aggregate")].target]
            for part in sel.fields:
                if part.name == "nodes":
                    limit = min(sel.args.get("limit") or cap, cap)
                    total += many * limit + _estimate(view, target, part.fields, many * limit, cap)
                elif part.name == "group_by":
                    total += many * cap
        elif sel.name in table.extras:
            total += many * EXTRA_ROWS
    return total


#: objects assumed per asset for `sources`, `provenance` or `conflicts` in the estimate
EXTRA_ROWS = 30


def _budget(ctx: RequestContext, root: Root, sel: Selected, limit: int | None) -> None:
    """Refuse up front a root field whose limits allow more objects than the server's budget."""
    cap = ctx.server.max_limit
    many = limit if limit is not None else cap
    table = root.view.tables[root.table]
    estimate = many + _estimate(root.view, table, sel.fields, many, cap)
    if estimate > ctx.server.max_rows:
        raise QueryTooComplexError(
            f"{sel.key} may return up to {estimate:,} objects, more than this server's budget of "
            f"{ctx.server.max_rows:,}: pass smaller limits to the lists it follows",
            estimate=estimate,
            budget=ctx.server.max_rows,
        )


# ----------------------------------------------------------------------------- execution


def run_root(ctx: RequestContext, root: Root, sel: Selected) -> orjson.Fragment:
    compiled = compile_root(ctx, root, sel)
    cursor = ctx.snapshot.cursor()
    row = _run(ctx, cursor, compiled)
    if row is None:
        return orjson.Fragment(compiled.default)
    text, count, *flags = row
    ctx.rows += int(count or 0)
    for flag, cut in zip(compiled.flags, flags, strict=True):
        if cut:
            ctx.warn("RESULT_TRUNCATED", flag.message, field=flag.path)
    table = root.view.tables.get(root.table)
    aggregate = root.kind == "aggregate"
    if text is not None and table is not None and selects_history(root.view, table, sel, aggregate=aggregate):
        text = fill_history(ctx, root.view, table, sel, text, aggregate=aggregate)
    return orjson.Fragment(text if text is not None else compiled.default)


class _Watchdog:
    """One thread for every statement's deadline (a thread per statement costs more than a
    small query): it interrupts a cursor whose statement runs past its deadline.

    A statement that ends in time only leaves its ticket's pending set: its heap entry is
    dropped when it reaches the head, and the thread is woken only by a deadline earlier than
    every one it waits for, so a statement costs no wake-up of the thread."""

    def __init__(self) -> None:
        self._due: list[tuple[float, int, Any]] = []
        self._pending: set[int] = set()
        self._fired: set[int] = set()
        self._next = 0
        self._wake = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, seconds: float, cursor: Any) -> int:
        with self._wake:
            self._next += 1
            entry = (time.monotonic() + seconds, self._next, cursor)
            heapq.heappush(self._due, entry)
            self._pending.add(self._next)
            if self._thread is None:
                self._thread = threading.Thread(target=self._loop, name="assetgraph-deadlines", daemon=True)
                self._thread.start()
            if self._due[0] is entry:  # earlier than what the thread waits for
                self._wake.notify()
            return self._next

    def done(self, ticket: int) -> bool:
        """Forget `ticket`; True if its deadline passed and its cursor was interrupted."""
        with self._wake:
            self._pending.discard(ticket)
            fired = ticket in self._fired
            self._fired.discard(ticket)
            return fired

    def _loop(self) -> None:
        with self._wake:
            while True:
                now = time.monotonic()
                while self._due and (self._due[0][1] not in self._pending or self._due[0][0] <= now):
                    _, ticket, cursor = heapq.heappop(self._due)
                    if ticket in self._pending:
                        self._pending.discard(ticket)
                        self._fired.add(ticket)
                        cursor.interrupt()
                self._wake.wait(self._due[0][0] - now if self._due else None)


_WATCHDOG = _Watchdog()


def _run(ctx: RequestContext, cursor: Any, compiled: Compiled) -> tuple[Any, ...] | None:
    """Execute with the request's deadline: past it DuckDB is interrupted."""
    deadline = ctx.server.deadline_seconds
    ticket = _WATCHDOG.watch(deadline, cursor) if deadline else None
    fired = False
    try:
        return cursor.execute(compiled.sql, compiled.params).fetchone()
    except Exception as exc:
        fired = ticket is not None and _WATCHDOG.done(ticket)
        ticket = None
        if fired and "INTERRUPT" in str(exc).upper():
            raise QueryTooComplexError(
                f"the query ran past this server's deadline of {deadline:g} s: ask for less"
            ) from None
        raise
    finally:
        if ticket is not None:
            _WATCHDOG.done(ticket)


class CompiledExecution(StrawberryGraphQLCoreExecutionContext):
    """graphql-core execution where compiled root fields are answered by `run_root`."""

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Any,
        position_context: Any = None,
    ) -> Any:  # type: ignore[override]
        if path.prev is None:
            field_def = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
            definition = (field_def.extensions or {}).get("strawberry-definition") if field_def else None
            root = getattr(definition, "metadata", {}).get(ROOT) if definition is not None else None
            if root is not None:
                try:
                    info = self.build_resolve_info(field_def, to_nodes(field_details_list), parent_type, path)
                    return (root.run or run_root)(info.context, root, select(info))
                except Exception as error:
                    self.handle_field_error(error, field_def.type, field_details_list, path)
                    return None
        return super().execute_field(parent_type, source, field_details_list, path, position_context)
