"""`build_schema`: the Hasura-style read API generated from the unified model.

One call builds one schema for one view of the model (`visible` columns and relations per
table, `allow_aggregations` per table), so the authorization work can build one per role.
Everything is generated from `federation.model.TABLES`; nothing is written per table.

No `from __future__ import annotations` here: types and resolvers are built at run time and
strawberry must see real annotation objects.
"""

from collections.abc import Collection, Mapping, Sequence
from typing import Any

import strawberry
from strawberry.schema.config import StrawberryConfig

from federation.model import TABLES, Table
from schema import auxiliary
from schema.execute import ROOT, CompiledExecution, Root
from schema.explain import ExplainErrors
from schema.inputs import COLUMN_SCALARS, TableInputs
from schema.mutation_types import mutation_fields as table_mutations
from schema.scalars import SCALAR_MAP, Jsonb, Numeric, Uuid
from schema.view import View

UNSET: Any = strawberry.UNSET

#: model column type → python type of an output field (string_list → [String!])
_OUTPUT: dict[str, Any] = {t: py for t, (_, py) in COLUMN_SCALARS.items()}
_SUMMABLE = ("int", "numeric")
_ORDERABLE = ("int", "numeric", "date", "timestamptz", "string")


def _read(obj: Any, name: str) -> Any:
    """Default resolver: row dicts hold their fields by name."""
    if type(obj) is dict:
        return obj.get(name)
    return getattr(obj, name)


def _keyed(root: Any, info: strawberry.Info) -> Any:
    """Fields with arguments are stored under '@' + their response key."""
    return root["@" + info.path.key]


def _new(name: str) -> type:
    return type(name, (), {"__annotations__": {}})


def _add(cls: type, name: str, type_: Any, description: str | None = None) -> None:
    cls.__annotations__[name] = type_
    setattr(cls, name, strawberry.field(name=name, description=description or None))


class _TableTypes:
    """The output types of one table in one schema."""

    def __init__(self, view: View, table: Table, inputs: TableInputs, count_only: bool = False) -> None:
        self.table = table
        self.count_only = count_only
        self.inputs = inputs
        name = table.name
        self.object = _new(name)
        self.aggregate = _new(f"{name}_aggregate")
        self.aggregate_fields = _new(f"{name}_aggregate_fields")
        self.group = _new(f"{name}_group")
        columns = view.columns(name)
        types = {c: table.column(c).type for c in columns}
        self.stat_columns = {
            "sum": [c for c in columns if types[c] in _SUMMABLE],
            "avg": [c for c in columns if types[c] in _SUMMABLE],
            "min": [c for c in columns if types[c] in _ORDERABLE],
            "max": [c for c in columns if types[c] in _ORDERABLE],
        }
        if count_only:
            self.stat_columns = {}
        self.stats: dict[str, type] = {}
        for function, stat_columns in self.stat_columns.items():
            if not stat_columns:
                continue
            cls = _new(f"{name}_{function}_fields")
            for column in stat_columns:
                if function == "avg":
                    out: Any = float
                elif function == "sum":
                    out = Numeric if types[column] == "numeric" else int
                else:
                    out = _OUTPUT[types[column]]
                _add(cls, column, out | None)
            self.stats[function] = strawberry.type(
                cls,
                name=f"{name}_{function}_fields",
                description=f'aggregate {function} on columns of table "{name}"',
            )


def _list_args_resolver(inputs: TableInputs, returns: Any, resolve: Any, *, search: bool) -> Any:
    """A resolver with Hasura's list arguments (`search` too if asked) returning `returns`.

    Strawberry reads the signature; the body ignores the converted arguments and reads the
    coerced ones from the document (see selection.py)."""
    bool_exp, order_by, select = inputs.bool_exp, inputs.order_by, inputs.select_column
    if search:

        def with_search(
            info: strawberry.Info,
            where: bool_exp | None = UNSET,
            order_by: list[order_by] | None = UNSET,
            limit: int | None = UNSET,
            offset: int | None = UNSET,
            distinct_on: list[select] | None = UNSET,
            search: str | None = UNSET,
        ) -> returns:
            return resolve(info)

        return with_search

    def plain(
        info: strawberry.Info,
        where: bool_exp | None = UNSET,
        order_by: list[order_by] | None = UNSET,
        limit: int | None = UNSET,
        offset: int | None = UNSET,
        distinct_on: list[select] | None = UNSET,
    ) -> returns:
        return resolve(info)

    return plain


def _relation_resolver(inputs: TableInputs, returns: Any) -> Any:
    bool_exp, order_by, select = inputs.bool_exp, inputs.order_by, inputs.select_column

    def relation(
        root: Any,
        info: strawberry.Info,
        where: bool_exp | None = UNSET,
        order_by: list[order_by] | None = UNSET,
        limit: int | None = UNSET,
        offset: int | None = UNSET,
        distinct_on: list[select] | None = UNSET,
    ) -> returns:
        return _keyed(root, info)

    return relation


def _count_resolver(select: Any) -> Any:
    def count(
        root: Any,
        info: strawberry.Info,
        columns: list[select] | None = UNSET,
        distinct: bool | None = UNSET,
    ) -> int:
        return _keyed(root, info)

    return count


def _group_by_resolver(select: Any, group: Any) -> Any:
    def group_by(
        root: Any,
        info: strawberry.Info,
        fields: list[select],
    ) -> list[group]:
        return _keyed(root, info)

    return group_by


def _fill_object(view: View, types: _TableTypes, all_types: Mapping[str, _TableTypes]) -> None:
    table, cls = types.table, types.object
    for column in view.columns(table.name):
        col = table.column(column)
        out = _OUTPUT[col.type]
        _add(cls, column, out if column == "id" else out | None, col.description)
    for relation in view.relations(table.name):
        target = all_types[relation.target]
        if relation.kind == "object":
            _add(cls, relation.name, target.object | None, relation.description)
            continue
        resolver = _relation_resolver(target.inputs, list[target.object])
        setattr(cls, relation.name, strawberry.field(name=relation.name, resolver=resolver))
        if view.aggregates(relation.target):
            resolver = _relation_resolver(target.inputs, target.aggregate)
            name = f"{relation.name}_aggregate"
            setattr(cls, name, strawberry.field(name=name, resolver=resolver))
    if table.name == "assets":
        extras = {
            "sources": list[auxiliary.AssetSource],
            "provenance": list[auxiliary.AssetProvenance],
            "conflicts": list[auxiliary.AssetConflict],
            "history": list[auxiliary.Change],
            "maintenance": list[auxiliary.MaintenanceRecord],
        }
        for name, type_ in extras.items():
            if view.can_read(table.name, name):
                _add(cls, name, type_)
    strawberry.type(cls, name=table.name, description=table.description or None)


def _fill_aggregates(types: _TableTypes) -> None:
    name, select = types.table.name, types.inputs.select_column
    fields = types.aggregate_fields
    fields.count = strawberry.field(name="count", resolver=_count_resolver(select))  # type: ignore[attr-defined]
    group = types.group
    _add(group, "keys", Jsonb, "the group's values of the group_by fields")
    _add(group, "count", int)
    for function, stat_type in types.stats.items():
        _add(fields, function, stat_type | None)
        _add(group, function, stat_type | None)
    strawberry.type(fields, name=f"{name}_aggregate_fields", description=f'aggregate fields of "{name}"')
    strawberry.type(
        group, name=f"{name}_group", description="Extension beyond Hasura: one group of a group_by"
    )
    agg = types.aggregate
    _add(agg, "aggregate", fields | None)
    _add(agg, "nodes", list[types.object])
    if not types.count_only:
        agg.group_by = strawberry.field(  # type: ignore[attr-defined]
            name="group_by",
            resolver=_group_by_resolver(select, group),
            description="Extension beyond Hasura: aggregates per distinct value of the fields",
        )
    strawberry.type(agg, name=f"{name}_aggregate", description=f'aggregated selection of "{name}"')


def _compiled(info: strawberry.Info) -> Any:
    raise RuntimeError("compiled root fields are answered by schema.execute.CompiledExecution")


def _root_fields(view: View, types: _TableTypes) -> dict[str, Any]:
    table = types.table
    name = table.name
    searchable = view.search(name) is not None
    object_type = types.object

    def by_pk(info: strawberry.Info, id: Uuid) -> object_type | None:
        return _compiled(info)

    fields: dict[str, Any] = {
        name: strawberry.field(
            name=name,
            resolver=_list_args_resolver(types.inputs, list[object_type], _compiled, search=searchable),
            description=f'fetch data from the table: "{name}"',
            metadata={ROOT: Root("list", name, view)},
        ),
    }
    if "id" in table.column_names:
        fields[f"{name}_by_pk"] = strawberry.field(
            name=f"{name}_by_pk",
            resolver=by_pk,
            description=f'fetch data from the table: "{name}" using primary key columns',
            metadata={ROOT: Root("by_pk", name, view)},
        )
    if view.aggregates(name):
        fields[f"{name}_aggregate"] = strawberry.field(
            name=f"{name}_aggregate",
            resolver=_list_args_resolver(types.inputs, types.aggregate, _compiled, search=searchable),
            description=f'fetch aggregated fields from the table: "{name}"',
            metadata={ROOT: Root("aggregate", name, view)},
        )
    return fields


def build_schema(
    tables: Mapping[str, Table] = TABLES,
    visible: Mapping[str, set[str]] | None = None,
    *,
    allow_aggregations: Mapping[str, bool] | None = None,
    extensions: Sequence[Any] = (),
    root_fields: Mapping[str, Any] | None = None,
    mutation_fields: Mapping[str, Any] | None = None,
    count_only: Collection[str] = (),
    keyed: Mapping[str, Collection[str]] | None = None,
    writes: Mapping[str, Mapping[str, Collection[str]]] | None = None,
) -> strawberry.Schema:
    """The read API over `tables` for one view.

    `visible`: table → readable columns and relations (and `sources`/`provenance`/`conflicts`
    on assets); `id` is always readable; a table (or the aux roots `sources`, `quarantine`,
    `ambiguities`) missing from it is not exposed. None exposes everything.
    `allow_aggregations`: table → whether `T_aggregate` and `<rel>_aggregate` exist; None
    allows all, a mapping allows only the tables it maps to True.
    `extensions`: more strawberry schema extensions (parser/validation caches), run after
    the one that completes validation messages.
    `root_fields`: more root fields (strawberry fields by name), e.g. the access log.
    `mutation_fields`: root fields of `mutation_root` (strawberry fields by name).
    `count_only`: tables whose aggregates offer `count` only (no statistics, no group_by).
    `keyed`: table → JSON columns the role reads only key by key: they stay in `T_bool_exp`
    but leave `T_order_by` and `T_select_column` (no sorting, grouping or distinct on them).
    `writes`: table → action (`update`) → the columns the role may set: the table's
    mutations (schema/mutation_types.py).
    """
    view = View.make(tables, visible, allow_aggregations)
    exposed = [t for t in tables.values() if view.exposed(t.name)]
    keyed = keyed or {}
    inputs = {t.name: TableInputs(t, view.columns(t.name), keyed.get(t.name, ())) for t in exposed}
    for t in exposed:
        relations = view.relations(t.name)
        inputs[t.name].fill(
            object_relations={r.name: inputs[r.target] for r in relations if r.kind == "object"},
            filter_relations={r.name: inputs[r.target] for r in relations},
        )
    types = {t.name: _TableTypes(view, t, inputs[t.name], t.name in count_only) for t in exposed}
    for t in exposed:
        _fill_object(view, types[t.name], types)
    for t in exposed:
        _fill_aggregates(types[t.name])

    query = _new("Query")
    for t in exposed:
        for name, field in _root_fields(view, types[t.name]).items():
            setattr(query, name, field)
    for name, field in {**auxiliary.root_fields(view), **(root_fields or {})}.items():
        setattr(query, name, field)
    strawberry.type(query, name="query_root")
    mutations = dict(mutation_fields or {})
    for t in exposed:
        if writes and writes.get(t.name):
            types_ = types[t.name]
            mutations |= table_mutations(view, t, types_.object, types_.inputs.bool_exp, writes[t.name])
    mutation = None
    if mutations:
        mutation = _new("Mutation")
        for name, field in mutations.items():
            setattr(mutation, name, field)
        strawberry.type(mutation, name="mutation_root")
    return strawberry.Schema(
        query=query,
        mutation=mutation,
        extensions=[ExplainErrors, *extensions],
        config=StrawberryConfig(auto_camel_case=False, default_resolver=_read, scalar_map=SCALAR_MAP),
        execution_context_class=CompiledExecution,
    )


__all__ = ["build_schema"]
