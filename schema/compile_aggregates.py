"""`T_aggregate` and `<relation>_aggregate` compiled into the same one statement.

As Hasura: the statistics (count, sum, avg, min, max) and `group_by` are computed over the
scoped, filtered, ordered row set, with `limit`/`offset` applied only when given (no default
page, no cap: a count counts everything); `nodes` obey the default page and the cap like a
list. Under a relationship the same is computed per parent row; a parent with no related
rows gets a count of 0, empty sums and no groups or nodes.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from federation.access.errors import UserInputError
from federation.model import Table
from schema.compile import Compiler, Flag, Level, Limits, Rows, _needed, _struct, json_value
from schema.ordering import enum_value
from schema.plan import prepared_args
from schema.selection import Selected
from schema.sql import quote

_FUNCTIONS = ("sum", "avg", "min", "max")
Builder = Callable[[str], str]


class AggregateCompiler(Compiler):
    # ------------------------------------------------------------------ statistics
    def _stats(
        self, table: Table, fields: list[Selected], keys: Builder | None = None
    ) -> tuple[list[str], Builder]:
        """(aggregate expressions `… AS s0`, …; a builder of the selection's struct over a row
        alias holding them) for an `aggregate` or group selection. `keys`: the struct of the
        group values (for `keys` in a group)."""
        exprs: list[str] = []

        def add(expr: str) -> str:
            name = f"s{len(exprs)}"
            exprs.append(f"{expr} AS {name}")
            return name

        def plan(items: list[Selected]) -> list[tuple[str, tuple[Any, ...]]]:
            out: list[tuple[str, tuple[Any, ...]]] = []
            for sel in items:
                if sel.name == "__typename":
                    out.append((sel.key, ("const", self.sql.bind(sel.type_name))))
                elif sel.name == "keys" and keys is not None:
                    out.append((sel.key, ("keys",)))
                elif sel.name == "count":
                    out.append((sel.key, ("count", add(self._count(table, sel)))))
                elif sel.name in _FUNCTIONS:
                    out.append((sel.key, ("object", self._function(table, sel, add))))
            return out

        parts = plan(fields)

        def build(alias: str, parts: list[tuple[str, tuple[Any, ...]]] = parts) -> str:
            entries = []
            for key, part in parts:
                if part[0] == "const":
                    entries.append((key, part[1]))
                elif part[0] == "keys":
                    assert keys is not None
                    entries.append((key, keys(alias)))
                elif part[0] == "count":
                    entries.append((key, f"COALESCE({alias}.{part[1]}, 0)"))
                elif part[0] == "value":
                    entries.append((key, json_value(part[2], f"{alias}.{part[1]}")))
                else:
                    entries.append((key, build(alias, part[1])))
            return _struct(entries)

        return exprs, build

    def _count(self, table: Table, sel: Selected) -> str:
        columns = [enum_value(c) for c in sel.args.get("columns") or []]
        for column in columns:
            self._emit(table.name, column)
        prefix = "DISTINCT " if sel.args.get("distinct") else ""
        if not columns:
            return "count(*)"
        if len(columns) == 1:
            return f"count({prefix}{quote(columns[0])})"
        return f"count({prefix}({', '.join(quote(c) for c in columns)}))"

    def _function(
        self, table: Table, sel: Selected, add: Callable[[str], str]
    ) -> list[tuple[str, tuple[Any, ...]]]:
        out: list[tuple[str, tuple[Any, ...]]] = []
        for f in sel.fields:
            if f.name == "__typename":
                out.append((f.key, ("const", self.sql.bind(f.type_name))))
                continue
            self._emit(table.name, f.name)
            col_type = table.column(f.name).type
            expr = f"{sel.name}({quote(f.name)})"
            if sel.name == "avg" or (sel.name == "sum" and col_type == "numeric"):
                out.append((f.key, ("value", add(f"CAST({expr} AS DOUBLE)"), "float")))
            else:
                out.append((f.key, ("value", add(expr), col_type)))
        return out

    def _columns(self, table: Table, sel: Selected) -> list[str]:
        """Columns the statistics and groups of an aggregate selection read."""
        names: set[str] = set()
        for part in sel.fields:
            if part.name == "group_by":
                names.update(enum_value(c) for c in part.args.get("fields") or [])
            if part.name in ("aggregate", "group_by"):
                for f in part.fields:
                    if f.name == "count":
                        names.update(enum_value(c) for c in f.args.get("columns") or [])
                    elif f.name in _FUNCTIONS:
                        names.update(x.name for x in f.fields if x.name != "__typename")
        return [c for c in table.column_names if c in names]

    def _groups(self, table: Table, sel: Selected, rows: Rows, *, keyed: bool) -> str:
        """SQL of (`_k`,) `j`, `n`: the list of groups (per key), ordered by the group values."""
        columns = list(dict.fromkeys(enum_value(c) for c in sel.args.get("fields") or []))
        if not columns:
            raise UserInputError(
                "group_by needs at least one field; expected some of " + ", ".join(table.column_names)
            )
        for column in columns:
            self._emit(table.name, column)
        gcols = [quote(c) for c in columns]

        def keys(alias: str) -> str:
            return _struct([(c, json_value(table.column(c).type, f"{alias}.{quote(c)}")) for c in columns])

        exprs, build = self._stats(table, sel.fields, keys)
        by = (["_k"] if keyed else []) + gcols
        inner = f"SELECT {', '.join(by + exprs)} FROM {rows.name} GROUP BY {', '.join(by)}"
        order = ", ".join(f"g.{c} ASC NULLS LAST" for c in gcols)
        listed = f"list({build('g')} ORDER BY {order})"
        if keyed:
            return f"SELECT g._k AS _k, {listed} AS j, count(*) AS n FROM ({inner}) AS g GROUP BY g._k"
        return f"SELECT COALESCE({listed}, []) AS j, count(*) AS n FROM ({inner}) AS g"

    # ------------------------------------------------------------------ one aggregate
    def aggregate(
        self,
        table: Table,
        sel: Selected,
        path: str,
        *,
        parent: tuple[str, str, str] | None = None,
        search: Any = None,
    ) -> tuple[list[tuple[str, str]], list[str], list[tuple[Flag, str]], list[str]]:
        """(struct entries, joins, flags, counts) of an aggregate selection over the row `k`
        (`parent`: (key column, the parent keys' CTE, its key column) under a relationship; a
        single row without)."""
        args = prepared_args(self.view, table, sel.args)
        stats_limits = Limits(self.ctx, args, default=None)
        key = None if parent is None else (parent[0], f"{quote(parent[2])} FROM {parent[1]}")
        rows = self.rows(
            table,
            args,
            self._columns(table, sel),
            limit=args.get("limit"),
            offset=stats_limits.offset,
            parent=key,
            search=search,
            ordered=False,
        )
        keyed = parent is not None
        on = lambda a: f" ON {a}._k = k._k" if keyed else " ON TRUE"  # noqa: E731
        entries: list[tuple[str, str]] = []
        joins: list[str] = []
        flags: list[tuple[Flag, str]] = []
        counts: list[str] = []
        for part in sel.fields:
            a = self._name("a")
            if part.name == "__typename":
                entries.append((part.key, self.sql.bind(part.type_name)))
            elif part.name == "aggregate":
                exprs, build = self._stats(table, part.fields)
                group = " GROUP BY _k" if keyed else ""
                select = (["_k"] if keyed else []) + (exprs or ["count(*) AS s_"])
                joins.append(f"LEFT JOIN (SELECT {', '.join(select)} FROM {rows.name}{group}) AS {a}{on(a)}")
                entries.append((part.key, build(a)))
            elif part.name == "group_by":
                joins.append(f"LEFT JOIN ({self._groups(table, part, rows, keyed=keyed)}) AS {a}{on(a)}")
                entries.append((part.key, f"COALESCE({a}.j, [])"))
                counts.append(f"COALESCE({a}.n, 0)")
            elif part.name == "nodes":
                default = self.ctx.server.max_limit if keyed else self.ctx.server.default_limit
                limits = Limits(self.ctx, args, default=default)
                node_rows = self.rows(
                    table,
                    args,
                    _needed(table, part.fields),
                    limit=limits.fetch,
                    offset=limits.offset,
                    parent=key,
                    search=search,
                )
                level = self.list_level(node_rows, part, limits, f"{path}.{part.key}", keyed=keyed)
                joins.append(f"LEFT JOIN {level.name} AS {a}{on(a)}")
                entries.append((part.key, f"COALESCE({a}.j, [])"))
                flags += [(f, f"COALESCE({a}.{f.column}, FALSE)") for f in level.flags]
                counts.append(f"COALESCE({a}.n, 0)")
        return entries, joins, flags, counts

    def nested_aggregate(self, table: Table, key: str, parent: str, sel: Selected, path: str) -> Level:
        local, source = parent.split(" FROM ", 1)
        keys = self.cte("k", f"SELECT DISTINCT {local} AS _k FROM {source}", materialized=True)
        entries, joins, flags, counts = self.aggregate(table, sel, path, parent=(key, keys, "_k"))
        select = ["k._k AS _k", f"{_struct(entries)} AS j"]
        select += [f"{expr} AS {flag.column}" for flag, expr in flags]
        select.append(f"{' + '.join(counts) or '0'} AS n")
        body = f"SELECT {', '.join(select)} FROM {keys} AS k {' '.join(joins)}"
        return Level(self.cte("l", body), [f for f, _ in flags])
