"""What to load for a selection: plans built from the `Selected` tree (see selection.py).

Row dicts hold columns and to-one relations under their field names (read by the default
resolver, so aliases of them share one value), and every field that takes arguments (array
relationships, `count(...)`, `group_by(...)`) under `"@" + response key`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from federation.access.errors import QueryTooComplexError, UserInputError
from federation.model import Relation, Table
from federation.model.where import MAX_DEPTH, WhereError
from federation.model.where import parse as parse_where
from schema.ordering import enum_value
from schema.selection import Selected
from schema.view import View

AGG_FUNCTIONS = ("sum", "avg", "min", "max")


@dataclass
class ObjectPlan:
    table: Table
    columns: set[str] = field(default_factory=set)
    objects: dict[str, ObjectPlan] = field(default_factory=dict)
    arrays: dict[str, tuple[Relation, dict[str, Any], ObjectPlan]] = field(default_factory=dict)
    aggregates: dict[str, tuple[Relation, dict[str, Any], AggregatePlan]] = field(default_factory=dict)
    extras: set[str] = field(default_factory=set)

    def needed_columns(self) -> list[str]:
        names = set(self.columns)
        relations = {r.name: r for r in self.table.relations}
        for name in self.objects:
            names.add(relations[name].local)
        for relation, _, _ in [*self.arrays.values(), *self.aggregates.values()]:
            names.add(relation.local)
        if self.extras:
            names.add("id")
        return [c for c in self.table.column_names if c in names]


@dataclass
class Stats:
    #: response key → (columns, distinct) of each `count`
    counts: dict[str, tuple[tuple[str, ...], bool]] = field(default_factory=dict)
    #: "sum"/"avg"/"min"/"max" → columns
    functions: dict[str, set[str]] = field(default_factory=dict)

    def columns(self) -> set[str]:
        out = {c for cols, _ in self.counts.values() for c in cols}
        for cols in self.functions.values():
            out |= cols
        return out


@dataclass
class AggregatePlan:
    table: Table
    stats: Stats | None = None
    nodes: ObjectPlan | None = None
    #: response key → (group columns, per-group stats)
    groups: dict[str, tuple[tuple[str, ...], Stats]] = field(default_factory=dict)


def prepared_args(view: View, table: Table, args: dict[str, Any]) -> dict[str, Any]:
    """List arguments with `where` parsed into the one `where` tree (or None)."""
    exp = args.get("where")
    if exp is None:
        return {**args, "where": None}
    try:
        node = parse_where(exp, table.name, tables=view.tables)
    except WhereError as exc:
        if any(f"nest at most {MAX_DEPTH}" in p for p in exc.problems):
            raise QueryTooComplexError(exc.problems[0]) from None
        raise UserInputError("; ".join(exc.problems)) from None
    return {**args, "where": node}


def plan_object(view: View, table: Table, fields: list[Selected]) -> ObjectPlan:
    plan = ObjectPlan(table)
    relations = {r.name: r for r in table.relations}
    for sel in fields:
        if sel.name in table.column_names:
            plan.columns.add(sel.name)
        elif sel.name in table.extras:
            plan.extras.add(sel.name)
        elif sel.name in relations:
            relation = relations[sel.name]
            sub = plan_object(view, view.tables[relation.target], sel.fields)
            if relation.kind == "object":
                plan.objects[sel.name] = _merge(plan.objects.get(sel.name), sub)
            else:
                plan.arrays[sel.key] = (relation, prepared_args(view, sub.table, sel.args), sub)
        elif sel.name.endswith("_aggregate") and sel.name.removesuffix("_aggregate") in relations:
            relation = relations[sel.name.removesuffix("_aggregate")]
            target = view.tables[relation.target]
            sub_agg = plan_aggregate(view, target, sel.fields)
            plan.aggregates[sel.key] = (relation, prepared_args(view, target, sel.args), sub_agg)
    return plan


def _merge(a: ObjectPlan | None, b: ObjectPlan) -> ObjectPlan:
    """One plan for two selections of the same to-one relation (under different aliases)."""
    if a is None:
        return b
    a.columns |= b.columns
    a.extras |= b.extras
    for name, sub in b.objects.items():
        a.objects[name] = _merge(a.objects.get(name), sub)
    for label, other in (("arrays", b.arrays), ("aggregates", b.aggregates)):
        mine: dict[str, Any] = getattr(a, label)
        for key, entry in other.items():
            if key in mine and mine[key][1] != entry[1]:
                raise UserInputError(
                    f"{key!r} is selected twice under the same relationship with different "
                    "arguments; give the selections different aliases"
                )
            mine[key] = entry
    return a


def plan_aggregate(view: View, table: Table, fields: list[Selected]) -> AggregatePlan:
    plan = AggregatePlan(table)
    for sel in fields:
        if sel.name == "aggregate":
            plan.stats = _stats(sel.fields, plan.stats or Stats(), keyed=True)
        elif sel.name == "nodes":
            plan.nodes = _merge(plan.nodes, plan_object(view, table, sel.fields))
        elif sel.name == "group_by":
            columns = tuple(dict.fromkeys(enum_value(c) for c in sel.args.get("fields") or []))
            if not columns:
                raise UserInputError(
                    "group_by needs at least one field; expected some of "
                    + ", ".join(view.columns(table.name))
                )
            plan.groups[sel.key] = (columns, _stats(sel.fields, Stats(), keyed=False))
    return plan


def _stats(fields: list[Selected], stats: Stats, *, keyed: bool) -> Stats:
    for sel in fields:
        if sel.name == "count":
            columns = tuple(enum_value(c) for c in sel.args.get("columns") or [])
            distinct = bool(sel.args.get("distinct"))
            key = "@" + sel.key if keyed else "count"
            stats.counts[key] = (columns, distinct)
        elif sel.name in AGG_FUNCTIONS:
            stats.functions.setdefault(sel.name, set()).update(f.name for f in sel.fields)
    return stats
