"""An authorized root field → one DuckDB statement that returns the field's JSON.

The selection (response keys, aliases, order, `__typename`) is compiled into nested
`struct_pack`s that DuckDB turns into JSON text; the text is spliced into the response as it
is, so graphql-core never resolves the fields one by one (schema/execute.py).

Shape of a statement: one `rows` CTE per table reference (scoped by the role's row filter,
filtered, searched, ordered, distinct, paged — per parent key for relationships), one
`level` CTE per relationship assembling its JSON per parent key, and a final SELECT that
assembles the root. Each level also carries a flag per truncated list below it (the
RESULT_TRUNCATED warnings) and a count of the objects it returns (the access log).

The compiler only reads the plan's columns: every column it emits is checked once more
against the role's readable fields (`_emit`), so a field that did not pass `authorize` cannot
leave the store even if a caller built a wider schema.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from federation.access.errors import ForbiddenError, UserInputError
from federation.model import Relation, Table
from federation.pipeline.store import AUX_TABLES
from schema.context import RequestContext
from schema.ordering import compile_order, distinct_columns
from schema.plan import prepared_args
from schema.selection import Selected
from schema.sql import Sql, quote
from schema.view import View
from schema.where_sql import compile_where, json_view, provenance_fields, scope, search_condition

#: column type of the auxiliary published tables, read from their DDL
_AUX_TYPES = {"TIMESTAMPTZ": "timestamptz", "JSON": "jsonb", "VARCHAR[]": "string_list", "BIGINT": "int"}
AUX_COLUMNS: dict[str, dict[str, str]] = {
    name: {
        part.split()[0]: _AUX_TYPES.get(part.split()[1], "string")
        for part in (p.strip() for p in ddl.split(","))
    }
    for name, ddl in AUX_TABLES.items()
}
_TS = "%Y-%m-%dT%H:%M:%S"


def json_value(col_type: str, expr: str) -> str:
    """SQL for a value as the GraphQL scalar serialises it (numeric as a float, timestamps in
    UTC ISO 8601 with microseconds only when there are some, as Python's isoformat)."""
    if col_type == "numeric":
        return f"CAST({expr} AS DOUBLE)"
    if col_type == "timestamptz":
        # one strftime with microseconds, which are dropped when there are none: `.000000+`
        # can only be that (a CASE choosing between two formats cost a page 6% more)
        return f"replace(strftime(timezone('UTC', {expr}), '{_TS}.%f+00:00'), '.000000+', '+')"
    return expr


class Limits:
    """Validated limit/offset of one list; `cut` when the server's default or cap applied."""

    def __init__(self, ctx: RequestContext, args: dict[str, Any], *, default: int | None) -> None:
        limit, offset = args.get("limit"), args.get("offset")
        if limit is not None and limit < 0:
            raise UserInputError(f"limit must be 0 or more (got {limit})")
        if offset is not None and offset < 0:
            raise UserInputError(f"offset must be 0 or more (got {offset})")
        cap = ctx.server.max_limit
        self.offset: int = offset or 0
        self.cut = False
        self.reason = ""
        self.limit: int | None
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

    def message(self, ctx: RequestContext, where: str) -> str:
        return (
            f"{where}: only the first {self.limit} rows were returned ({self.reason}); "
            f"pass limit (at most {ctx.server.max_limit}) and offset to page through the rest"
        )


@dataclass
class Flag:
    """A list that may have been cut: its column in the level CTEs and its warning."""

    column: str
    path: str
    message: str


@dataclass
class Level:
    """A CTE with `_k` (the parent key), `j` (the JSON of that key), `n` (objects) and flags."""

    name: str
    flags: list[Flag] = field(default_factory=list)


@dataclass
class Rows:
    """A CTE of one table reference: requested columns, `_k` when keyed, `_n` (1-based order,
    after the offset) unless `numbered` is False (a root page: ordered by `order`, its
    `_o` columns, instead)."""

    name: str
    table: Table
    limit: int | None
    keyed: bool
    numbered: bool = True
    #: the ORDER BY of a list of these rows aliased `r`
    order: str = "r._n"


@dataclass
class Compiled:
    sql: str
    params: dict[str, Any]
    flags: list[Flag]
    default: str


class Compiler:
    def __init__(self, ctx: RequestContext, view: View) -> None:
        self.ctx = ctx
        self.view = view
        self.tables = view.tables
        self.sql = Sql(ctx, view.tables)
        self.ctes: list[str] = []
        self._names = 0

    # ------------------------------------------------------------------ plumbing
    def _name(self, prefix: str) -> str:
        self._names += 1
        return f"{prefix}{self._names}"

    def cte(self, prefix: str, body: str, *, materialized: bool = False) -> str:
        name = self._name(prefix)
        self.ctes.append(f"{name} AS {'MATERIALIZED ' if materialized else ''}({body})")
        return name

    def statement(self, final: str, flags: list[Flag], default: str) -> Compiled:
        text = ("WITH " + ",\n".join(self.ctes) + "\n" if self.ctes else "") + final
        return Compiled(text, self.sql.params, flags, default)

    def _emit(self, table: str, column: str) -> None:
        """The compiler's own check: nothing leaves unless the role may read it."""
        access = self.ctx.access
        if access is None or (table in access.models and not access.can_read(table, column)):
            raise ForbiddenError(f"field `{column}` of `{table}` is not readable")

    # ------------------------------------------------------------------ row sets
    def rows(
        self,
        table: Table,
        args: dict[str, Any],
        columns: list[str],
        *,
        limit: int | None,
        offset: int,
        parent: tuple[str, str] | None = None,
        search: Any = None,
        ordered: bool = True,
        numbered: bool = True,
    ) -> Rows:
        """`parent`: (this table's key column, SQL `col FROM cte WHERE …` of the parent keys).
        `ordered=False` (statistics without limit, offset or distinct_on): the rows in no
        order, without `_n`, computed where they are used instead of stored.
        `numbered=False` (a root page that fetches no row past its limit): the page without
        the `_n` window; its list is ordered by the page's `_o` columns."""
        sql = self.sql
        alias = sql.alias()
        from_sql, scope_sql = scope(table.name, alias, sql)
        conds = [f"({scope_sql})"]
        where = compile_where(args.get("where"), table, alias, sql)
        if where != "TRUE":
            conds.append(where)
        if search is not None and search.term.strip():
            related = [(r.name, r.target, cols) for r, cols in search.related]
            conds.append(search_condition(search.term, search.columns, related, table, alias, sql))
        if parent is not None:
            conds.append(f"{alias}.{quote(parent[0])} IN (SELECT {parent[1]})")
        ordering = compile_order(args.get("order_by"), table, alias, sql)
        distinct = distinct_columns(args.get("distinct_on"), ordering, table)
        if distinct and not ordering.terms:
            for column in distinct:
                ordering.terms.append((f"{alias}.{quote(column)}", "ASC NULLS LAST"))
                ordering.columns.append(column)
        if "id" in table.column_names and "id" not in ordering.columns:
            ordering.terms.append((f"{alias}.{quote('id')}", "ASC NULLS LAST"))  # stable pages
            ordering.columns.append("id")
        names = [f"_o{i}" for i in range(len(ordering.terms))]
        proj = [f"{alias}.{quote(c)} AS {quote(c)}" for c in columns]
        if parent is not None:
            proj.append(f"{alias}.{quote(parent[0])} AS _k")
        proj += [f"{expr} AS {n}" for (expr, _), n in zip(ordering.terms, names, strict=True)]
        outer = ", ".join(f"{n} {d}" for (_, d), n in zip(ordering.terms, names, strict=True))
        body = (
            f"SELECT {', '.join(proj)} FROM {from_sql} {' '.join(ordering.joins)} WHERE {' AND '.join(conds)}"
        )
        if distinct:
            part = ([f"{alias}.{quote(parent[0])}"] if parent else []) + [
                f"{alias}.{quote(c)}" for c in distinct
            ]
            window = f"row_number() OVER (PARTITION BY {', '.join(part)} ORDER BY {ordering.sql()})"
            body = body.replace(" FROM ", f", {window} AS _d FROM ", 1)
            body = f"SELECT * EXCLUDE (_d) FROM ({body}) WHERE _d = 1"
        if not ordered and not distinct and limit is None and not offset:
            return Rows(self.cte("r", body), table, limit, parent is not None)
        if parent is None:
            paged = (
                body + f" ORDER BY {outer}" if not distinct else f"SELECT * FROM ({body}) ORDER BY {outer}"
            )
            if limit is not None:
                paged += f" LIMIT {int(limit)}"
            if offset:
                paged += f" OFFSET {int(offset)}"
            if not numbered:
                order = ", ".join(f"r.{n} {d}" for (_, d), n in zip(ordering.terms, names, strict=True))
                return Rows(self.cte("r", paged, materialized=True), table, limit, False, False, order)
            text = f"SELECT *, row_number() OVER (ORDER BY {outer}) AS _n FROM ({paged})"
        else:
            number = f"row_number() OVER (PARTITION BY _k ORDER BY {outer}) - {int(offset)}"
            text = f"SELECT *, {number} AS _n FROM ({body})"
            bounds = ["_n > 0"] if offset else []
            if limit is not None:
                bounds.append(f"_n <= {int(limit)}")
            if bounds:
                text = f"SELECT * FROM ({text}) WHERE {' AND '.join(bounds)}"
        return Rows(self.cte("r", text, materialized=True), table, limit, parent is not None)

    # ------------------------------------------------------------------ objects
    def object_fields(
        self, table: Table, fields: list[Selected], rows: Rows, keep: int | None, path: str
    ) -> tuple[list[tuple[str, str]], list[str], list[tuple[Flag, str]], list[str]]:
        """(struct entries, joins, (flag, expr over one row), count exprs over one row) of an
        object selection over `rows` aliased `r`. `keep`: rows past it are probes only."""
        entries: list[tuple[str, str]] = []
        joins: list[str] = []
        flags: list[tuple[Flag, str]] = []
        counts: list[str] = []
        kept = f" WHERE _n <= {int(keep)}" if keep is not None else ""
        for sel in fields:
            if sel.name == "__typename":
                entries.append((sel.key, self.sql.bind(sel.type_name)))
                continue
            if sel.name in table.column_names:
                self._emit(table.name, sel.name)
                col = table.column(sel.name)
                ref = f"r.{quote(sel.name)}"
                if col.type == "jsonb":
                    ref = json_view(self.sql, table.name, sel.name, ref)
                entries.append((sel.key, json_value(col.type, ref)))
                continue
            level: Level | None = None
            empty = "NULL"
            if sel.name in table.extras:
                self._emit(table.name, sel.name)
                level = self.extra(table, sel, f"id FROM {rows.name}{kept}")
                local, empty = "id", "[]"
            elif sel.name in {r.name for r in table.relations}:
                self._emit(table.name, sel.name)
                relation = table.relation(sel.name)
                if _joinable(relation, self.tables[relation.target], sel):
                    entry, join, count = self.joined_one(self.tables[relation.target], relation, sel, keep)
                    entries.append((sel.key, entry))
                    joins.append(join)
                    counts.append(count)
                    continue
                source = f"{quote(relation.local)} FROM {rows.name}{kept}"
                sub_path = f"{path}.{sel.key}"
                if relation.kind == "object":
                    level = self.to_one(self.tables[relation.target], relation.remote, source, sel, sub_path)
                else:
                    level = self.to_many(self.tables[relation.target], relation.remote, source, sel, sub_path)
                    empty = "[]"
                local = relation.local
            elif sel.name.endswith("_aggregate") and sel.name.removesuffix("_aggregate") in {
                r.name for r in table.relations
            }:
                relation = table.relation(sel.name.removesuffix("_aggregate"))
                self._emit(table.name, relation.name)
                source = f"{quote(relation.local)} FROM {rows.name}{kept}"
                level = self.nested_aggregate(
                    self.tables[relation.target], relation.remote, source, sel, f"{path}.{sel.key}"
                )
                local = relation.local
            if level is None:
                continue
            a = self._name("a")
            joins.append(f"LEFT JOIN {level.name} AS {a} ON {a}._k = r.{quote(local)}")
            entries.append((sel.key, f"COALESCE({a}.j, {empty})" if empty != "NULL" else f"{a}.j"))
            flags += [(f, f"COALESCE({a}.{f.column}, FALSE)") for f in level.flags]
            counts.append(f"COALESCE({a}.n, 0)")
        return entries, joins, flags, counts

    def to_many(self, table: Table, key: str, parent: str, sel: Selected, path: str) -> Level:
        args = prepared_args(self.view, table, sel.args)
        limits = Limits(self.ctx, args, default=self.ctx.server.max_limit)
        columns = _needed(table, sel.fields)
        rows = self.rows(table, args, columns, limit=limits.fetch, offset=limits.offset, parent=(key, parent))
        return self.list_level(rows, sel, limits, path, keyed=True)

    def list_level(self, rows: Rows, sel: Selected, limits: Limits, path: str, *, keyed: bool) -> Level:
        """The JSON list of `rows` (per parent key when `keyed`), cut at the limit."""
        # rows past the limit exist only when one more was fetched to see whether the list
        # was cut; otherwise `rows` holds no more than the limit already
        keep = limits.limit if limits.cut else None
        if not rows.numbered and keep is not None:
            raise ValueError("a list that may be cut needs numbered rows")
        entries, joins, flags, counts = self.object_fields(rows.table, sel.fields, rows, keep, path)
        only = f" FILTER (WHERE r._n <= {int(keep)})" if keep is not None else ""
        listed = f"list({_struct(entries)} ORDER BY {rows.order}){only}"
        select = ["r._k AS _k", f"{listed} AS j"] if keyed else [f"COALESCE({listed}, []) AS j"]
        out_flags = []
        if limits.cut and keep is not None:
            mine = Flag(self._name("_m"), path, limits.message(self.ctx, path))
            select.append(f"COALESCE(max(r._n) > {int(keep)}, FALSE) AS {mine.column}")
            out_flags.append(mine)
        for flag, expr in flags:
            select.append(f"COALESCE(bool_or({expr}), FALSE) AS {flag.column}")
            out_flags.append(flag)
        nested = "".join(f" + COALESCE(sum({c}), 0)" for c in counts)
        select.append(f"count(*){only}{nested} AS n")
        group = " GROUP BY r._k" if keyed else ""
        body = f"SELECT {', '.join(select)} FROM {rows.name} AS r {' '.join(joins)}{group}"
        return Level(self.cte("l", body), out_flags)

    def joined_one(
        self, table: Table, relation: Relation, sel: Selected, keep: int | None
    ) -> tuple[str, str, str]:
        """(struct entry, LEFT JOIN, count expr) of a to-one relation that selects only columns,
        joined to the rows `r` of its parent: the parent's page is taken first (its CTE is
        ordered and limited), then each of its rows looks its one target row up by id (the
        published ids are indexed). The role's row filter of the target is part of the join
        condition, so a target the role may not see is null, as through `to_one`."""
        sql = self.sql
        alias = sql.alias()
        from_sql, scope_sql = scope(table.name, alias, sql)
        remote = f"{alias}.{quote(relation.remote)}"
        join = f"LEFT JOIN {from_sql} ON {remote} = r.{quote(relation.local)} AND ({scope_sql})"
        fields: list[tuple[str, str]] = []
        for f in sel.fields:
            if f.name == "__typename":
                fields.append((f.key, sql.bind(f.type_name)))
                continue
            self._emit(table.name, f.name)
            col = table.column(f.name)
            ref = f"{alias}.{quote(f.name)}"
            if col.type == "jsonb":
                ref = json_view(sql, table.name, f.name, ref)
            fields.append((f.key, json_value(col.type, ref)))
        entry = f"CASE WHEN {remote} IS NULL THEN NULL ELSE {_struct(fields)} END"
        # rows past `keep` only probe for a cut list: their objects are not returned
        kept = f" AND r._n <= {int(keep)}" if keep is not None else ""
        count = f"CASE WHEN {remote} IS NOT NULL{kept} THEN 1 ELSE 0 END"
        return entry, join, count

    def to_one(self, table: Table, key: str, parent: str, sel: Selected, path: str) -> Level:
        columns = _needed(table, sel.fields)
        rows = self.rows(table, {}, columns, limit=None, offset=0, parent=(key, parent))
        entries, joins, flags, counts = self.object_fields(table, sel.fields, rows, None, path)
        select = ["r._k AS _k", f"{_struct(entries)} AS j"]
        select += [f"{expr} AS {flag.column}" for flag, expr in flags]
        select.append(f"1 + {' + '.join(counts) or '0'} AS n")
        body = f"SELECT {', '.join(select)} FROM {rows.name} AS r {' '.join(joins)}"
        return Level(self.cte("l", body), [f for f, _ in flags])

    # ------------------------------------------------------------------ where values came from
    def extra(self, table: Table, sel: Selected, parent: str) -> Level:
        if sel.name in ("history", "maintenance"):
            # these live in the workflow store: `[id]` stands in their place until
            # schema/history.py fills them in after the statement ran
            return Level(self.cte("l", f"SELECT id AS _k, [id] AS j, 0 AS n FROM (SELECT {parent})"))
        aux = {"sources": "record_sources", "quality": "record_quality"}.get(sel.name, sel.name)
        sql = self.sql
        alias = sql.alias()
        from_sql, scope_sql = scope(aux, alias, sql)
        conds = [
            f"({scope_sql})",
            f"{alias}.entity = {sql.bind(table.name)}",
            f"{alias}.entity_id IN (SELECT {parent})",
        ]
        value = f"{alias}.{quote('value')}"
        access = self.ctx.access
        if aux != "record_sources" and access is not None:
            visible = self.view.fields.get(table.name, frozenset())
            readable = sorted(f for f in provenance_fields(access, table.name) if f in visible)
            conds.append(f'{alias}."field" IN (SELECT unnest({sql.bind(readable)}::VARCHAR[]))')
            for column in sorted(access.keyed_of(table.name)):
                projected = json_view(sql, table.name, column, value)
                value = f'CASE WHEN {alias}."field" = {sql.bind(column)} THEN {projected} ELSE {value} END'
        if aux == "record_sources":
            value = "NULL"
        base = f"SELECT {alias}.*, {value} AS _v FROM {from_sql} WHERE {' AND '.join(conds)}"
        if aux == "conflicts":
            return self._conflicts(table, sel, base)
        types = AUX_COLUMNS[aux]
        entries = []
        for f in sel.fields:
            if f.name == "__typename":
                entries.append((f.key, sql.bind(f.type_name)))
            elif f.name == "value":
                entries.append((f.key, "r._v"))
            else:
                entries.append((f.key, json_value(types[f.name], f"r.{quote(f.name)}")))
        order = "r.source, r.record_id" if aux == "record_sources" else 'r."field", r.source, r.record_id'
        body = (
            f"SELECT r.entity_id AS _k, list({_struct(entries)} ORDER BY {order}) AS j, count(*) AS n "
            f"FROM ({base}) AS r GROUP BY r.entity_id"
        )
        return Level(self.cte("l", body))

    def _conflicts(self, table: Table, sel: Selected, base: str) -> Level:
        sql = self.sql
        keyed = sorted(self.ctx.access.keyed_of(table.name)) if self.ctx.access else []
        value_fields: list[Selected] = next((f.fields for f in sel.fields if f.name == "values"), [])
        inner = []
        for f in value_fields:
            if f.name == "__typename":
                inner.append((f.key, sql.bind(f.type_name)))
            elif f.name == "value":
                inner.append((f.key, "r._v"))
            else:
                inner.append((f.key, f"r.{quote(f.name)}"))
        grouped = (
            f'SELECT r.entity_id, r."field", list({_struct(inner)} ORDER BY r.source, r.record_id) AS vals, '
            f"count(DISTINCT r._v::VARCHAR) AS nd, count(*) AS nv "
            f'FROM ({base}) AS r GROUP BY r.entity_id, r."field"'
        )
        # a key-by-key column: a conflict on keys the role cannot read is no conflict for it
        drop = (
            f'g."field" IN (SELECT unnest({sql.bind(keyed)}::VARCHAR[])) AND g.nd < 2' if keyed else "FALSE"
        )
        outer = []
        for f in sel.fields:
            if f.name == "__typename":
                outer.append((f.key, sql.bind(f.type_name)))
            elif f.name == "field":
                outer.append((f.key, 'g."field"'))
            elif f.name == "values":
                outer.append((f.key, "g.vals"))
        body = (
            f'SELECT g.entity_id AS _k, list({_struct(outer)} ORDER BY g."field") AS j, '
            f"count(*) + sum(g.nv) AS n FROM ({grouped}) AS g WHERE NOT ({drop}) GROUP BY g.entity_id"
        )
        return Level(self.cte("l", body))

    # ------------------------------------------------------------------ aggregates (compile_aggregate)
    def nested_aggregate(self, table: Table, key: str, parent: str, sel: Selected, path: str) -> Level:
        raise NotImplementedError  # replaced in compile_aggregate.AggregateCompiler


def _struct(entries: list[tuple[str, str]]) -> str:
    if not entries:
        return "'{}'::JSON"
    return "struct_pack(" + ", ".join(f"{quote(k)} := {v}" for k, v in entries) + ")"


def _joinable(relation: Relation, target: Table, sel: Selected) -> bool:
    """A to-one relation by the target's id whose selection holds only the target's columns:
    compiled as a join of the parent's rows (`joined_one`) instead of a level of its own."""
    return (
        relation.kind == "object"
        and relation.remote == "id"
        and all(f.name == "__typename" or f.name in target.column_names for f in sel.fields)
    )


def _needed(table: Table, fields: list[Selected]) -> list[str]:
    """Columns of `table` a selection reads: its columns, relationship keys, ids for extras."""
    names: set[str] = set()
    relations = {r.name: r for r in table.relations}
    for sel in fields:
        if sel.name in table.column_names:
            names.add(sel.name)
        elif sel.name in relations:
            names.add(relations[sel.name].local)
        elif sel.name.endswith("_aggregate") and sel.name.removesuffix("_aggregate") in relations:
            names.add(relations[sel.name.removesuffix("_aggregate")].local)
        elif sel.name in table.extras:
            names.add("id")
    return [c for c in table.column_names if c in names]
